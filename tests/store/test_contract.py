"""The Store contract (tests/support/store_contract.py) on MemoryStore and on TableStore over Azurite."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from scim.dev.azurite import Azurite
from scim.store._tableio import Seen
from scim.store.base import Store
from scim.store.check import check_directory
from scim.store.memory import MemoryStore
from scim.store.tables import TableStore
from tests.support.store import table_store
from tests.support.store_contract import D, StoreContract, group, members_of, user


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> Store:
        return MemoryStore()


class TestTableStore(StoreContract):
    user_groups_round_trips = 1

    @pytest.fixture
    async def store(self, azurite: Azurite) -> AsyncIterator[Store]:
        async with table_store(azurite) as opened:
            yield opened

    def forget_reads(self, store: Store) -> None:
        assert isinstance(store, TableStore)
        store._seen = Seen()


async def test_check_on_memory_reports_members_that_are_not_users() -> None:
    store = MemoryStore()
    await store.create_user(D, user("u1", "ann"))
    await store.create_group(D, group("g1", "Ops"), ["u1", "ghost"])
    found = await check_directory(store, D, repair=True)
    assert (found.users, found.groups, found.repaired) == (1, 1, 1) and len(found.issues) == 1
    assert "ghost" in found.issues[0]
    assert (await check_directory(store, D, repair=False)).consistent
    assert await members_of(store, "g1") == ["u1"]
