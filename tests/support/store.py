"""Helpers for the store suites: table prefixes that keep tests apart, and a TableStore that closes after use."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from scim.dev.azurite import Azurite
from scim.store.tables import TableStore


def table_prefix() -> str:
    """A fresh table-name prefix (letters and digits only, as table names require) so tests never meet."""
    return "t" + secrets.token_hex(6)


@asynccontextmanager
async def table_store(azurite: Azurite) -> AsyncIterator[TableStore]:
    """A TableStore on ``azurite`` with tables of its own, closed on exit."""
    opened = TableStore.from_connection_string(azurite.connection_string, table_prefix())
    try:
        yield opened
    finally:
        await opened.close()
