"""The store per test on both implementations, for the store suites other than the contract (which subclasses)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from scim.store.memory import MemoryStore
from scim.store.tables import TableStore
from tests.support.store import table_store


@pytest.fixture(params=["memory", pytest.param("tables", marks=pytest.mark.azurite)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[MemoryStore | TableStore]:
    """The Store under test: MemoryStore, then TableStore on Azurite with tables of its own."""
    if request.param == "memory":
        yield MemoryStore()
        return
    async with table_store(request.getfixturevalue("azurite")) as opened:
        yield opened
