"""TableStore on Azurite: concurrency, round trips, size limits, outages and partial failures."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables.aio import TableServiceClient

from scim.dev.azurite import Azurite
from scim.errors import Conflict, InvalidValue, StoreUnavailable, VersionMismatch
from scim.model import Lookup, MemberChange, Page, Resource
from scim.store import _codec as k
from scim.store._tableio import Op
from scim.store.check import check_directory
from scim.store.memory import MemoryStore
from scim.store.tables import TableStore, client_options
from tests.support.faults import FaultyTransport, When
from tests.support.store import table_prefix

pytestmark = pytest.mark.azurite
D = "contoso"


def user(uid: str, name: str, **extra: Any) -> Resource:
    return Resource(uid, {"userName": name, **extra}, "c", "m")


def group(gid: str, name: str) -> Resource:
    return Resource(gid, {"displayName": name}, "c", "m")


@pytest.fixture
async def tables(azurite: Azurite) -> AsyncIterator[TableStore]:
    store = TableStore.from_connection_string(azurite.connection_string, table_prefix())
    yield store
    await store.close()


async def add_with_retry(store: MemoryStore | TableStore, gid: str, change: MemberChange) -> None:
    """What the service does for PATCH: read, write at that version, and start again if it moved."""
    while True:
        current = await store.get_group(D, gid, with_members=False)
        assert current is not None
        try:
            await store.update_group(
                D, gid, data=None, last_modified="m", members=change, expected_version=current.version
            )
            return
        except VersionMismatch:
            await asyncio.sleep(random.uniform(0, 0.05))  # jitter, as the service's retry does


# Concurrency ------------------------------------------------------------------------------------
async def test_concurrent_creates_of_one_user_name(tables: TableStore) -> None:
    outcomes = await asyncio.gather(
        *(tables.create_user(D, user(f"u{n}", "Same@X.org" if n % 2 else "same@x.org")) for n in range(20)),
        return_exceptions=True,
    )
    winners = [o for o in outcomes if isinstance(o, Resource)]
    losers = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(winners) == 1 and len(losers) == 19
    assert all(c.attribute == "userName" for c in losers)
    page = await tables.query_users(D, lookup=None, match=None, start_index=1, count=50)
    assert [u.id for u in page.resources] == [winners[0].id]
    assert (await check_directory(tables, D, repair=False)).consistent


async def test_concurrent_member_adds_with_retry_lose_nothing(tables: TableStore) -> None:
    await tables.create_group(D, group("g1", "Ops"), [])
    await asyncio.gather(*(add_with_retry(tables, "g1", MemberChange(add=[f"m{n:02}"])) for n in range(50)))
    found = await tables.get_group(D, "g1", with_members=True)
    assert found is not None and found.members == [f"m{n:02}" for n in range(50)]


async def test_concurrent_replace_with_retry_loses_no_update(tables: TableStore) -> None:
    await tables.create_user(D, user("u1", "ann"))

    async def set_attribute(n: int) -> None:
        while True:
            current = await tables.get_user(D, "u1")
            assert current is not None
            current.data[f"a{n}"] = n
            try:
                await tables.replace_user(D, current, expected_version=current.version)
                return
            except VersionMismatch:
                await asyncio.sleep(0)

    await asyncio.gather(*(set_attribute(n) for n in range(12)))
    final = await tables.get_user(D, "u1")
    assert final is not None and final.data == {"userName": "ann", **{f"a{n}": n for n in range(12)}}


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "size"), [("memory", 20_000), ("tables", 5_000)])
async def test_a_big_group_built_in_batches(azurite: Azurite, kind: str, size: int) -> None:
    # Azurite scans a whole table for every operation in a batch, so building 20,000 members (40,000
    # entities with the reverse entries) takes it about 15 minutes here (measured); on Azurite the test
    # uses 5,000 members, which still spans five query pages and 100 transactions.
    store: MemoryStore | TableStore = MemoryStore()
    if kind == "tables":
        store = TableStore.from_connection_string(azurite.connection_string, table_prefix(), read_timeout=120)
    try:
        await store.create_group(D, group("big", "Everyone"), [])
        for start in range(0, size, 1_000):
            change = MemberChange(add=[f"u{n:05}" for n in range(start, start + 1_000)])
            await add_with_retry(store, "big", change)
        found = await store.get_group(D, "big", with_members=True)
        assert found is not None and found.members == [f"u{n:05}" for n in range(size)]
    finally:
        await store.close()


# Round trips ------------------------------------------------------------------------------------
async def counted(store: TableStore, call: Awaitable[Any]) -> int:
    before = store.round_trips
    await call
    return store.round_trips - before


async def test_round_trips_meet_the_budget(tables: TableStore) -> None:
    await tables.list_roles(D)  # creates the tables first (three calls, once per process)
    assert await counted(tables, tables.create_user(D, user("u1", "ann", externalId="e1"))) == 1
    assert await counted(tables, tables.get_user(D, "u1")) == 1
    lookup = tables.query_users(D, lookup=Lookup("userName", "ANN"), match=None, start_index=1, count=1)
    assert await counted(tables, lookup) == 2
    current = await tables.get_user(D, "u1")
    assert current is not None
    replace = tables.replace_user(D, user("u1", "bob", externalId="e2"), expected_version=current.version)
    assert await counted(tables, replace) == 1, "a version this process read needs no second read"
    assert await counted(tables, tables.replace_user(D, user("u1", "cy"), expected_version=None)) == 2
    created = await tables.create_group(D, group("g1", "Ops"), [])
    for n in (1, 49, 50, 99, 250):
        change = MemberChange(add=[f"n{n}-{i}" for i in range(n)])
        write = tables.update_group(D, "g1", data=None, last_modified="m", members=change, expected_version=None)
        assert await counted(tables, write) == math.ceil((n + 1) / 50), "no read: the merge is unconditional"
        seen = await tables.get_group(D, "g1", with_members=False)
        assert seen is not None
        change = MemberChange(add=[f"c{n}-{i}" for i in range(n)])
        write = tables.update_group(
            D, "g1", data=None, last_modified="m", members=change, expected_version=seen.version
        )
        assert await counted(tables, write) == math.ceil((n + 1) / 50), "a version this process read needs no read"
    assert created.version


async def test_excluded_members_read_no_member_entity(tables: TableStore) -> None:
    await tables.create_group(D, group("g1", "Ops"), [f"m{n:04}" for n in range(2_500)])
    before = tables.entities_read
    assert await counted(tables, tables.get_group(D, "g1", with_members=False)) == 1
    scan = tables.query_groups(D, lookup=None, match=None, start_index=1, count=10, with_members=False)
    assert await counted(tables, scan) == 1, "the scan's key range holds groups only, not 5,000 member rows"
    by_name = tables.query_groups(
        D, lookup=Lookup("displayName", "ops"), match=None, start_index=1, count=10, with_members=False
    )
    assert await counted(tables, by_name) == 2
    assert tables.entities_read - before == 1 + 1 + 2, "the group (three times) and its index entry, no member"
    assert await counted(tables, tables.get_group(D, "g1", with_members=True)) == 1 + 3, "1,000 entities a page"
    assert tables.entities_read - before == 4 + 1 + 2_500


# Limits -----------------------------------------------------------------------------------------
async def test_large_data_splits_across_properties_and_oversize_is_refused(tables: TableStore) -> None:
    text = "é😀" * 40_000  # 120,000 UTF-16 units: four 32K properties, one cut between "é" and "😀"
    created = await tables.create_user(D, user("u1", "ann", notes=text))
    got = await tables.get_user(D, "u1")
    assert got is not None and got.data["notes"] == text and got.version == created.version
    with pytest.raises(InvalidValue, match="too large"):
        await tables.create_user(D, user("u2", "bob", notes="x" * 600_000))
    assert await tables.get_user(D, "u2") is None
    with pytest.raises(InvalidValue, match="too large"):
        await tables.replace_user(D, user("u1", "ann", notes="x" * 600_000), expected_version=None)
    await tables.create_group(D, group("g1", "Ops"), [])
    with pytest.raises(InvalidValue, match="too large"):
        await tables.update_group(
            D,
            "g1",
            data={"displayName": "x" * 600_000},
            last_modified="m",
            members=MemberChange(),
            expected_version=None,
        )
    with pytest.raises(InvalidValue):
        await tables.create_user(D, user("u" * 500, "long-id"))
    still = await tables.get_user(D, "u1")
    assert still is not None and still.data["notes"] == text


# Outages ----------------------------------------------------------------------------------------
async def test_store_down_is_unavailable_fast_and_acknowledged_writes_survive_restart(tmp_path: Path) -> None:
    with Azurite(location=tmp_path / "azurite") as server:
        store = TableStore.from_connection_string(
            server.connection_string, "outage", retry_total=1, connection_timeout=1.0, read_timeout=2.0
        )
        acknowledged: list[str] = []

        async def writer() -> None:
            for n in range(10_000):
                try:
                    await store.create_user(D, user(f"u{n:05}", f"n{n}"))
                except StoreUnavailable:
                    return
                acknowledged.append(f"u{n:05}")

        task = asyncio.create_task(writer())
        await asyncio.sleep(1.0)  # some writes acknowledged, more in flight when the server stops
        await asyncio.to_thread(server.stop)
        await asyncio.wait_for(task, timeout=20)
        assert len(acknowledged) >= 10
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as error:
            await store.get_user(D, "u00000")
        assert time.monotonic() - started < 10
        assert "u00000" not in str(error.value), "the message carries no data"
        await store.close()

        await asyncio.to_thread(server.start)
        reopened = TableStore.from_connection_string(server.connection_string, "outage")
        try:
            present = await reopened.existing_user_ids(D, acknowledged)
            assert present == set(acknowledged)
            assert (await check_directory(reopened, D, repair=False)).consistent
        finally:
            await reopened.close()


# Partial failures -------------------------------------------------------------------------------
Flow = Callable[[TableStore], Awaitable[Any]]
MEMBERS = [f"u{n:03}" for n in range(120)]


async def seed(store: TableStore) -> None:
    await asyncio.gather(*(store.create_user(D, user(m, f"name-{m}", externalId=f"x-{m}")) for m in MEMBERS))
    await store.create_group(D, group("g1", "Ops"), MEMBERS)
    await store.create_group(D, group("g2", "Dev"), MEMBERS[:3])


async def update_members(store: TableStore) -> Any:
    change = MemberChange(add=MEMBERS[:60], remove=MEMBERS[60:])
    return await store.update_group(D, "g2", data=None, last_modified="m", members=change, expected_version=None)


FLOWS: dict[str, Flow] = {
    "create user": lambda s: s.create_user(D, user("new", "newbie", externalId="x-new")),
    "rename user": lambda s: s.replace_user(D, user("u000", "renamed", externalId="x-renamed"), expected_version=None),
    "delete user": lambda s: s.delete_user(D, "u001"),
    "create group": lambda s: s.create_group(D, group("g3", "Big"), MEMBERS),
    "update members": update_members,
    "remove all": lambda s: s.update_group(
        D,
        "g1",
        data={"displayName": "Ops2"},
        last_modified="m",
        members=MemberChange(remove_all=True),
        expected_version=None,
    ),
    "delete group": lambda s: s.delete_group(D, "g1"),
}


async def members(store: MemoryStore | TableStore, gid: str) -> list[str] | None:
    found = await store.get_group(D, gid, with_members=True)
    return found.members if found else None


async def lookup(store: TableStore, name: str) -> list[str]:
    page = await store.query_users(D, lookup=Lookup("userName", name), match=None, start_index=1, count=1)
    return [u.id for u in page.resources]


async def reached(flow: str, store: TableStore) -> bool:
    """Whether the flow's intended state holds."""
    if flow == "create user":
        return await lookup(store, "newbie") == ["new"]
    if flow == "rename user":
        return await lookup(store, "renamed") == ["u000"] and await lookup(store, "name-u000") == []
    if flow == "delete user":
        return await store.get_user(D, "u001") is None and "u001" not in (await members(store, "g1") or [])
    if flow == "create group":
        return await members(store, "g3") == MEMBERS
    if flow == "update members":
        return await members(store, "g2") == MEMBERS[:60]
    if flow == "remove all":
        return await members(store, "g1") == []
    return await members(store, "g1") is None


async def assert_consistent_view(store: TableStore) -> None:
    """What a client can see: every member is a user, every user and group is found through its index."""
    report = await check_directory(store, D, repair=False)
    assert report.consistent, report.issues
    users = await store.query_users(D, lookup=None, match=None, start_index=1, count=1_000)
    for found in users.resources:
        by_name = Lookup("userName", found.data["userName"])
        page = await store.query_users(D, lookup=by_name, match=None, start_index=1, count=1)
        assert page == Page([found], 1)
    groups = await store.query_groups(D, lookup=None, match=None, start_index=1, count=100, with_members=True)
    for g in groups.resources:
        assert g.members is not None
        assert await store.existing_user_ids(D, g.members) == set(g.members)
    assert report.memberships == sum(len(g.members or []) for g in groups.resources)


@pytest.mark.slow
@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("flow", list(FLOWS))
async def test_a_fault_at_any_call_leaves_a_repairable_state(azurite: Azurite, flow: str, when: When) -> None:
    call = 0
    while True:
        call += 1
        transport = FaultyTransport()
        service = TableServiceClient.from_connection_string(
            azurite.connection_string,
            transport=transport,
            **client_options(retry_total=0, connection_timeout=3, read_timeout=10),
        )
        store = TableStore(service, table_prefix())
        try:
            await seed(store)
            transport.arm(call, when)
            try:
                await FLOWS[flow](store)
            except StoreUnavailable:
                assert transport.fired
            transport.disarm()
            await check_directory(store, D, repair=True)
            await assert_consistent_view(store)
            if flow in ("create user", "create group"):
                # One transaction decides: all there, or (after repair) nothing.
                untouched = await lookup(store, "newbie") == [] and await members(store, "g3") is None
                assert untouched or await reached(flow, store)
            else:
                # The client's retry (Entra retries on 503) reaches the intended state from here.
                await FLOWS[flow](store)
                await assert_consistent_view(store)
                assert await reached(flow, store)
        finally:
            await store.close()
        if not transport.fired:
            assert call > 1, "the flow made at least one call"
            return


# check --repair -------------------------------------------------------------------------------
async def test_check_finds_and_repairs_each_kind_of_leftover(tables: TableStore) -> None:
    io = tables._io
    await tables.create_user(D, user("u1", "ann", externalId="e1"))
    await tables.create_user(D, user("u2", "bob"))
    await tables.create_group(D, group("g1", "Ops"), ["u1", "u2"])
    upk, gpk = k.user_pk(D), k.group_pk(D)
    fwd_gone, rev_gone = k.member_entities(gpk, "gone", "u1"), k.member_entities(gpk, "g1", "ghost")
    await io.transact("resources", [Op("delete", k.index_entity(upk, k.external_id_rk("e1"), "u1"))])
    await io.transact("resources", [Op("create", k.index_entity(upk, k.user_name_rk("old"), "u1"))])
    await io.transact("resources", [Op("create", e) for e in (*fwd_gone, *rev_gone)])
    await io.transact("resources", [Op("delete", k.member_entities(gpk, "g1", "u2")[1])])
    await io.transact("resources", [Op("create", k.member_entities(gpk, "g9", "u2")[1])])

    found = await check_directory(tables, D, repair=False)
    assert (found.users, found.groups, found.memberships) == (2, 1, 2)
    assert len(found.issues) == 6 and found.repaired == 0, found.issues
    assert any("externalId" in issue for issue in found.issues)
    assert await lookup(tables, "old") == [], "a stray index entry never resolves to the wrong user"

    fixed = await check_directory(tables, D, repair=True)
    assert fixed.repaired == 6
    clean = await check_directory(tables, D, repair=False)
    assert clean.consistent and clean.memberships == 2
    page = await tables.query_users(D, lookup=Lookup("externalId", "e1"), match=None, start_index=1, count=1)
    assert [u.id for u in page.resources] == ["u1"]
    assert await members(tables, "g1") == ["u1", "u2"]
    await tables.delete_user(D, "u2")
    assert await members(tables, "g1") == ["u1"], "the restored reverse entry lets delete_user find the group"
