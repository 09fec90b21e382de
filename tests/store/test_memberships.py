"""Memberships at scale on Azurite: member PATCH cost flat in the group's size, concurrent PATCHes of one
group all landing, the group's version moving with its members, and large deletes leaving nothing behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from scim.dev.azurite import Azurite
from scim.errors import PreconditionFailed, StoreUnavailable
from scim.model import Caller, Directory, MemberChange, Resource
from scim.service.groups import GroupService
from scim.store import _codec as k
from scim.store.check import check_directory
from scim.store.tables import TableStore
from tests.support.faults import FaultyTransport
from tests.support.store import table_prefix

pytestmark = pytest.mark.azurite
D = "contoso"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
CALLER = Caller("client", Directory(D, name_policy="create"))


class RecordingTransport(FaultyTransport):
    """The real aiohttp transport, remembering every request URL (to see which queries the store sends)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    async def send(self, request: Any, **kwargs: Any) -> Any:
        self.urls.append(str(request.url))
        return await super().send(request, **kwargs)


@pytest.fixture
async def recorded(azurite: Azurite) -> AsyncIterator[tuple[TableStore, RecordingTransport]]:
    from azure.data.tables.aio import TableServiceClient

    transport = RecordingTransport()
    service = TableServiceClient.from_connection_string(azurite.connection_string, transport=transport)
    store = TableStore(service, table_prefix())
    await store.list_roles(D)  # create the tables outside every count
    yield store, transport
    await store.close()


def members_body(op: str, ids: list[str]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": [{"op": op, "path": "members", "value": [{"value": i} for i in ids]}]}


async def make_users(store: TableStore, ids: list[str]) -> None:
    for start in range(0, len(ids), 8):
        part = ids[start : start + 8]
        await asyncio.gather(*(store.create_user(D, Resource(i, {"userName": i}, "c", "m")) for i in part))


async def group_of(store: TableStore, gid: str, size: int) -> None:
    """A group with ``size`` members written straight through the store (they need not be users here)."""
    await store.create_group(D, Resource(gid, {"displayName": gid}, "c", "m"), [f"{gid}-m{n:05}" for n in range(size)])


async def patch_cost(store: TableStore, groups: GroupService, gid: str, body: dict[str, Any]) -> tuple[int, int]:
    """Round trips and entities read by one member PATCH through the service."""
    trips, read = store.round_trips, store.entities_read
    await groups.patch(CALLER, gid, body, None)
    return store.round_trips - trips, store.entities_read - read


async def test_member_patch_costs_the_same_at_10_and_2000_members(
    recorded: tuple[TableStore, RecordingTransport],
) -> None:
    store, transport = recorded
    groups = GroupService(store, "https://scim.example/scim/v2")
    newcomers = [f"new{n:02}" for n in range(20)]
    await make_users(store, newcomers)
    await group_of(store, "small", 10)
    await group_of(store, "large", 2_000)
    costs = {}
    for gid, part in (("small", newcomers[:10]), ("large", newcomers[10:])):
        add = await patch_cost(store, groups, gid, members_body("add", part))
        remove_one = await patch_cost(store, groups, gid, members_body("remove", part[:1]))
        remove_many = await patch_cost(store, groups, gid, members_body("remove", part[1:4]))
        costs[gid] = (add, remove_one, remove_many)
    assert costs["small"] == costs["large"], costs
    add, remove_one, remove_many = costs["large"]
    # The group (1 read), each new member's user (10 point reads), one transaction; nothing scales with 2,000.
    assert add == (12, 11) and remove_one == (2, 1) and remove_many == (5, 4), costs
    assert not [u for u in transport.urls if "%20or%20" in u or " or " in u], "no or-of-RowKey query was sent"
    found = await store.get_group(D, "large", with_members=True)
    assert found is not None and found.members is not None and len(found.members) == 2_000 + 6


async def test_eight_concurrent_member_patches_of_one_group_all_land(tables_store: TableStore) -> None:
    store = tables_store
    groups = GroupService(store, "https://scim.example/scim/v2")
    ids = [f"u{n:03}" for n in range(8 * 5)]
    await make_users(store, ids)
    created = await store.create_group(D, Resource("g1", {"displayName": "Ops"}, "c", "m"), ids[:5])
    await store.get_group(D, "g1", with_members=False)
    before = store.round_trips
    # Seven PATCHes add five members each, one removes the five the group started with, all at once.
    bodies = [members_body("add", ids[n * 5 : n * 5 + 5]) for n in range(1, 8)] + [members_body("remove", ids[:5])]
    results = await asyncio.gather(*(groups.patch(CALLER, "g1", body, None) for body in bodies))
    # Each add: the group, five users, one transaction; the remove: the group, five point reads, one
    # transaction. Nothing more: no PATCH was refused and retried.
    assert store.round_trips - before == 8 * 7
    found = await store.get_group(D, "g1", with_members=True)
    assert found is not None and found.members == ids[5:]
    versions = {r.version for r in results} | {created.version}
    assert len(versions) == 9, "every member change gave the group a new version"
    assert found.version in versions - {created.version}
    assert (await check_directory(store, D, repair=False)).consistent


@pytest.fixture
async def tables_store(azurite: Azurite) -> AsyncIterator[TableStore]:
    store = TableStore.from_connection_string(azurite.connection_string, table_prefix())
    yield store
    await store.close()


async def test_version_and_last_modified_follow_members_and_if_match_holds(tables_store: TableStore) -> None:
    store = tables_store
    groups = GroupService(store, "https://scim.example/scim/v2")
    await make_users(store, ["a", "b", "c"])
    first = await store.create_group(D, Resource("g1", {"displayName": "Ops"}, "c", "2024-01-01T00:00:00.000Z"), [])
    added = await groups.patch(CALLER, "g1", members_body("add", ["a"]), None)
    got = await store.get_group(D, "g1", with_members=False)
    assert got is not None and got.version == added.version != first.version
    assert got.last_modified > first.last_modified and got.data == {"displayName": "Ops"}
    with pytest.raises(PreconditionFailed):
        await groups.patch(CALLER, "g1", members_body("add", ["b"]), first.version)
    assert await store.get_group(D, "g1", with_members=True) == Resource(
        "g1", {"displayName": "Ops"}, "c", got.last_modified, got.version, ["a"]
    ), "a stale If-Match writes nothing"
    matched = await groups.patch(CALLER, "g1", members_body("add", ["c"]), got.version)
    assert matched.version != got.version
    removed = await groups.patch(CALLER, "g1", members_body("remove", ["a"]), None)
    assert removed.version != matched.version


async def test_member_change_racing_a_group_delete_leaves_nothing(tables_store: TableStore) -> None:
    store = tables_store
    await group_of(store, "g1", 300)
    changes = [
        store.update_group(
            D, "g1", data=None, last_modified="m", members=MemberChange(add=[f"x{n}"]), expected_version=None
        )
        for n in range(6)
    ]
    await asyncio.gather(store.delete_group(D, "g1"), *changes)
    assert await store.get_group(D, "g1", with_members=True) is None
    rows = await store._io.range("resources", k.group_pk(D), "m|", "s")
    assert rows == [], "no membership or reverse entry outlives the group"
    late = await store.update_group(
        D, "g1", data=None, last_modified="m", members=MemberChange(add=["y"]), expected_version=None
    )
    assert late is None, "a member change of a deleted group is not found and writes nothing"
    assert await store._io.range("resources", k.group_pk(D), "m|", "s") == []


async def test_deleting_a_user_in_many_groups_and_a_large_group(tables_store: TableStore) -> None:
    store = tables_store
    await make_users(store, ["u1", "u2"])
    for n in range(60):
        await store.create_group(D, Resource(f"g{n:02}", {"displayName": f"G{n}"}, "c", "m"), ["u1", "u2"])
    await store.create_group(D, Resource("big", {"displayName": "Big"}, "c", "m"), [f"m{n:04}" for n in range(2_400)])
    before = store.round_trips
    assert await store.delete_user(D, "u1") is True
    # Delete (read + transaction), one page of 60 reverse entries, two transactions of 50 pairs at most.
    assert store.round_trips - before == 2 + 1 + 2
    before = store.round_trips
    assert await store.delete_group(D, "big") is True
    # Read + transaction, three query pages of 1,000, 48 transactions of 50 pairs, the deletion mark's removal.
    assert store.round_trips - before == 2 + 3 + 48 + 1
    report = await check_directory(store, D, repair=False)
    assert report.consistent, report.issues
    assert (report.groups, report.memberships) == (60, 60)
    page = await store.query_groups(D, lookup=None, match=None, start_index=1, count=100, with_members=True)
    assert all(g.members == ["u2"] for g in page.resources) and page.total == 60


async def test_an_interrupted_large_delete_is_finished_by_repeating_it(azurite: Azurite) -> None:
    from azure.data.tables.aio import TableServiceClient

    transport = FaultyTransport()
    service = TableServiceClient.from_connection_string(azurite.connection_string, transport=transport, retry_total=0)
    store = TableStore(service, table_prefix())
    try:
        await group_of(store, "big", 1_200)  # two query pages
        transport.arm(6, "after")  # read, delete, first page, then a transaction of the first sweep
        with pytest.raises(StoreUnavailable):
            await store.delete_group(D, "big")
        transport.disarm()
        assert await store.get_group(D, "big", with_members=False) is None
        left = await store._io.range("resources", k.group_pk(D), "m|", "s")
        assert left, "the fault stopped the sweep part way"
        assert await store.delete_group(D, "big") is True, "the group is gone, and the retry finishes its delete"
        assert await store._io.range("resources", k.group_pk(D), "m|", "s") == []
        assert (await check_directory(store, D, repair=False)).consistent
    finally:
        await store.close()
