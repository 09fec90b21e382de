"""The directory's catalog of roles, resolved under its name policy, and the role rules for users."""

from __future__ import annotations

import time
from typing import Any

from scim.model import Directory, Role
from scim.service.names import resolve
from scim.store.base import Store

# Roles change rarely; a short cache saves a read per user write, and a miss always re-reads before refusing.
ROLE_CACHE_SECONDS = 30.0


class RoleCatalog:
    """Validates the roles a user is given against the directory's role catalog."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: dict[str, tuple[float, list[str]]] = {}

    async def _values(self, directory: str, *, fresh: bool) -> list[str]:
        cached = self._cache.get(directory)
        if cached and not fresh and time.monotonic() - cached[0] < ROLE_CACHE_SECONDS:
            return cached[1]
        values = [role.value for role in await self._store.list_roles(directory)]
        self._cache[directory] = (time.monotonic(), values)
        return values

    async def resolve_roles(
        self, directory: Directory, roles: list[dict[str, Any]], previous: list[dict[str, Any]]
    ) -> None:
        """Rewrite each new role value to its catalog spelling in place; refuse unknown ones (or create them)."""
        known = {r.get("value") for r in previous}
        # Only a value names a catalog role; a partial role (display or type first) is matched when it arrives.
        new = [r for r in roles if isinstance(r.get("value"), str) and r["value"] not in known]
        if not new:
            return
        values = await self._values(directory.id, fresh=False)
        if any(r["value"] not in values for r in new):
            values = await self._values(directory.id, fresh=True)
        for role in new:
            resolution = resolve("role", role["value"], values, directory.name_policy)
            if not resolution.exists:
                await self._store.put_role(directory.id, Role(resolution.name, role.get("display", "")))
                values.append(resolution.name)
            role["value"] = resolution.name


class FixedCatalog(RoleCatalog):
    """A catalog that is a given list of values, read from nowhere: `scimctl import` checks a file's users against
    the file's roles before anything is written."""

    def __init__(self, store: Store, values: list[str]) -> None:
        super().__init__(store)
        self._fixed = values

    async def _values(self, directory: str, *, fresh: bool) -> list[str]:
        return self._fixed
