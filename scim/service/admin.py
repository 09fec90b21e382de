"""Everything an admin does through scimctl, in one object: directories, their catalogs, clients and tokens.

Each part lives in its own module (scim.service.directories, catalog_admin, access); this only joins them.
"""

from __future__ import annotations

from scim.service.access import AccessAdmin
from scim.service.catalog_admin import CatalogAdmin


class AdminService(CatalogAdmin, AccessAdmin):
    """The admin surface scimctl and the tests drive: DirectoryAdmin's, CatalogAdmin's and AccessAdmin's methods."""
