"""Fixtures for the store suites: one Azurite per session, and a store per test on both implementations."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import pytest

from scim.store.memory import MemoryStore
from scim.store.tables import TableStore
from tests.support.azurite import Azurite


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """An in-memory Azurite on a free port for the whole session."""
    with Azurite() as running:
        yield running


def table_prefix() -> str:
    """A fresh table-name prefix (letters and digits only, as table names require) so tests never meet."""
    return "t" + secrets.token_hex(6)


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
