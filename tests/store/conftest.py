"""Fixtures for the store suites: one Azurite per session, and a store per test on both implementations."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from scim.dev.azurite import Azurite
from scim.store.memory import MemoryStore
from scim.store.tables import TableStore
from tests.support.store import table_prefix


@pytest.fixture(params=["memory", pytest.param("tables", marks=pytest.mark.azurite)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[MemoryStore | TableStore]:
    """The Store under test: MemoryStore, then TableStore on Azurite with tables of its own."""
    if request.param == "memory":
        yield MemoryStore()
        return
    running: Azurite = request.getfixturevalue("azurite")
    table_store = TableStore.from_connection_string(running.connection_string, table_prefix())
    try:
        yield table_store
    finally:
        await table_store.close()
