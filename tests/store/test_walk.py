"""Cursor walks (RFC 9865) and sorting (RFC 7644 §3.4.2.3) on both stores; the 5,000-user walk on Azurite."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from scim.dev.azurite import Azurite
from scim.errors import TooMany
from scim.model import Lookup, Match, MemberChange, Position, Resource, Sort
from scim.store import _walk
from scim.store.base import Store
from scim.store.tables import TableStore
from tests.support.bulk import bulk_users
from tests.support.store import table_prefix

D = "contoso"


def user(uid: str, user_name: str, **extra: Any) -> Resource:
    stamp = extra.pop("created", "2024-01-01T00:00:00.000Z")
    return Resource(id=uid, data={"userName": user_name, **extra}, created=stamp, last_modified=stamp)


async def walk_ids(
    store: Store,
    count: int,
    *,
    match: Match | None = None,
    sort: Sort | None = None,
    groups: bool = False,
    after: Position | None = None,
) -> list[str]:
    """Every id a walk returns, page by page, following ``next`` until the store says it is the last page."""
    seen: list[str] = []
    for _ in range(10_000):
        if groups:
            page = await store.walk_groups(
                D, lookup=None, match=match, count=count, after=after, with_members=True, sort=sort
            )
        else:
            page = await store.walk_users(D, lookup=None, match=match, count=count, after=after, sort=sort)
        assert len(page.resources) <= count
        assert len(page.starts) == len(page.resources)
        seen += [r.id for r in page.resources]
        if page.next is None:
            return seen
        after = page.next
    raise AssertionError("the walk never ended")


async def test_a_walk_returns_every_user_once_in_id_order(store: Store) -> None:
    ids = [f"u{n:03d}" for n in range(23)]
    for uid in random.sample(ids, len(ids)):
        await store.create_user(D, user(uid, f"{uid}@x.org"))
    for count in (1, 5, 23, 100):
        assert await walk_ids(store, count) == ids
    assert (await store.walk_users(D, lookup=None, match=None, count=0, after=None)).resources == []


async def test_a_filtered_walk_pages_only_the_matches(store: Store) -> None:
    for n in range(30):
        await store.create_user(D, user(f"u{n:02d}", f"u{n:02d}@x.org", title="eng" if n % 3 == 0 else "ops"))
    engineers = [f"u{n:02d}" for n in range(0, 30, 3)]
    is_engineer: Match = lambda r: r.data.get("title") == "eng"  # noqa: E731
    assert await walk_ids(store, 4, match=is_engineer) == engineers


async def test_an_indexed_walk_is_one_page(store: Store) -> None:
    await store.create_user(D, user("u1", "Ann@x.org"))
    await store.create_user(D, user("u2", "bob@x.org"))
    page = await store.walk_users(D, lookup=Lookup("userName", "ann@X.org"), match=None, count=10, after=None)
    assert [u.id for u in page.resources] == ["u1"] and page.next is None


async def test_a_page_cut_short_resumes_at_the_first_resource_it_left_out(store: Store) -> None:
    """``starts`` lets a caller return fewer resources than the store found (groups cut at a member budget)."""
    for n in range(6):
        await store.create_user(D, user(f"u{n}", f"u{n}@x.org"))
    page = await store.walk_users(D, lookup=None, match=None, count=4, after=None)
    resumed = await store.walk_users(D, lookup=None, match=None, count=10, after=page.starts[2])
    assert [u.id for u in resumed.resources] == ["u2", "u3", "u4", "u5"]


async def test_a_group_walk_reads_the_members_of_its_page(store: Store) -> None:
    for n in range(4):
        await store.create_user(D, user(f"u{n}", f"u{n}@x.org"))
    for n in range(5):
        grp = Resource(f"g{n}", {"displayName": f"G{n}"}, "c", "c")
        await store.create_group(D, grp, [f"u{m}" for m in range(n % 4)])
    await store.update_group(
        D, "g0", data=None, last_modified="m", members=MemberChange(add=["u3"]), expected_version=None
    )
    assert await walk_ids(store, 2, groups=True) == [f"g{n}" for n in range(5)]
    page = await store.walk_groups(D, lookup=None, match=None, count=2, after=None, with_members=True)
    assert [g.members for g in page.resources] == [["u3"], ["u0"]]


# Sorting -----------------------------------------------------------------------------------------
PEOPLE = [
    ("a", "Émile@x.org", "Zed", "E-9", "2024-03-01T00:00:00.000Z"),
    ("b", "bob@x.org", "anna", None, "2024-01-01T00:00:00.000Z"),
    ("c", "ALICE@x.org", None, "e-1", "2024-02-01T00:00:00.000Z"),
    ("d", "carol@x.org", "Anna", "E-2", "2024-01-01T00:00:00.000Z"),
    ("e", "dave@x.org", "bea", None, "2023-12-31T00:00:00.000Z"),
]


def reference(attribute: str, descending: bool) -> list[str]:
    """The order RFC 7644 §3.4.2.3 asks for, computed independently: case-insensitive for userName and displayName,
    case-exact for externalId, ties by id, absent values last ascending and first descending."""
    column = {"userName": 1, "displayName": 2, "externalId": 3, "meta.created": 4, "meta.lastModified": 4}[attribute]
    present = [(p[0], value) for p in PEOPLE if (value := p[column]) is not None]
    absent = sorted(p[0] for p in PEOPLE if p[column] is None)
    folds = attribute in ("userName", "displayName")
    ordered = [i for i, value in sorted(present, key=lambda pair: (pair[1].casefold() if folds else pair[1], pair[0]))]
    ascending = ordered + absent
    return ascending[::-1] if descending else ascending


@pytest.fixture
async def people(store: Store) -> Store:
    for uid, name, display, external, created in PEOPLE:
        extra = {k: v for k, v in (("displayName", display), ("externalId", external)) if v is not None}
        await store.create_user(D, user(uid, name, created=created, **extra))
    return store


@pytest.mark.parametrize("attribute", ["userName", "displayName", "externalId", "meta.created", "meta.lastModified"])
@pytest.mark.parametrize("descending", [False, True])
async def test_sorting_equals_a_reference_sort(people: Store, attribute: str, descending: bool) -> None:
    sort = Sort(attribute, descending)  # type: ignore[arg-type]
    expected = reference(attribute, descending)
    page = await people.query_users(D, lookup=None, match=None, start_index=1, count=100, sort=sort)
    assert [u.id for u in page.resources] == expected, "by startIndex"
    second = await people.query_users(D, lookup=None, match=None, start_index=3, count=2, sort=sort)
    assert [u.id for u in second.resources] == expected[2:4]
    for count in (1, 2, 5):
        assert await walk_ids(people, count, sort=sort) == expected, f"by cursor, {count} a page"


async def test_tables_refuses_to_sort_more_than_its_bound(azurite: Azurite, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_walk, "SORT_LIMIT", 3)
    store = TableStore.from_connection_string(azurite.connection_string, table_prefix())
    try:
        for n in range(4):
            await store.create_user(D, user(f"u{n}", f"u{n}@x.org"))
        with pytest.raises(TooMany, match=r"at most 3 resources.*cursor="):
            await store.walk_users(D, lookup=None, match=None, count=2, after=None, sort=Sort("userName"))
        with pytest.raises(TooMany, match="at most 3"):
            await store.query_users(D, lookup=None, match=None, start_index=1, count=2, sort=Sort("userName"))
        unsorted = await store.walk_users(D, lookup=None, match=None, count=10, after=None)
        assert len(unsorted.resources) == 4, "an unsorted walk has no bound"
    finally:
        await store.close()


# 5,000 users on Azurite --------------------------------------------------------------------------
SIZE = 5000


@pytest.fixture
async def big(azurite: Azurite) -> AsyncIterator[tuple[TableStore, list[str]]]:
    """A directory of 5,000 users, 10 of them engineers."""
    store = TableStore.from_connection_string(azurite.connection_string, table_prefix())
    ids = [f"{n:05d}-user" for n in range(SIZE)]
    made = [user(uid, f"{uid}@x.org", title="eng" if uid.startswith("0123") else "ops") for uid in ids]
    await bulk_users(store, D, made)
    try:
        yield store, ids
    finally:
        await store.close()


async def check_rare_filter(store: TableStore, ids: list[str]) -> None:
    """A filter that matches 10 of 5,000: each page scans a bounded number of entities, and the walk finds all."""
    wanted = [uid for uid in ids if uid.startswith("0123")]
    is_engineer: Match = lambda r: r.data.get("title") == "eng"  # noqa: E731
    before = store.entities_read
    first = await store.walk_users(D, lookup=None, match=is_engineer, count=100, after=None)
    assert store.entities_read - before <= _walk.SCAN_LIMIT, "one page scans a bounded number of entities"
    assert first.next is not None, "a page that stopped scanning says where to go on"
    found = [u.id for u in first.resources] + await walk_ids(store, 100, match=is_engineer, after=first.next)
    assert found == wanted and len(wanted) == 10
    before = store.entities_read
    others = await walk_ids(store, 100, match=lambda r: not is_engineer(r))
    assert others == [uid for uid in ids if uid not in wanted]
    assert store.entities_read - before <= 1.1 * SIZE, "a dense filter re-reads little past each page's cut"


@pytest.mark.slow
@pytest.mark.azurite
async def test_walks_of_5000_users_lose_and_repeat_none_under_concurrent_writes(
    big: tuple[TableStore, list[str]], azurite: Azurite
) -> None:
    store, ids = big
    await check_rare_filter(store, ids)
    prefix = store._io.names["resources"].removesuffix("resources")
    reader = TableStore.from_connection_string(azurite.connection_string, prefix)  # counts only the walk's calls
    changed: set[str] = set()
    walking = True

    async def write_meanwhile() -> None:
        """Creates, renames and deletes while the walk runs; whatever they touch may or may not be seen."""
        n = 0
        while walking:
            n += 1
            victim = ids[(n * 7919) % SIZE]
            changed.add(victim)
            if n % 3 == 0:
                await store.delete_user(D, victim)
            else:
                current = await store.get_user(D, victim)
                if current is not None:
                    renamed = Resource(victim, {**current.data, "userName": f"r{n}-{victim}@x.org"}, "c", "m")
                    await store.replace_user(D, renamed, expected_version=current.version)
            new = f"zz-new-{n:04d}"
            changed.add(new)
            await store.create_user(D, user(new, f"{new}@x.org"))
            await asyncio.sleep(0)

    async def walk() -> tuple[list[str], int, int]:
        nonlocal walking
        try:
            before = reader.round_trips
            seen = await walk_ids(reader, 100)
            return seen, reader.round_trips - before, len(seen)
        finally:
            walking = False

    try:
        (seen, trips, _), _ = await asyncio.gather(walk(), write_meanwhile())
    finally:
        await reader.close()
    assert len(seen) == len(set(seen)), "no resource twice"
    unchanged = set(ids) - changed
    assert unchanged <= set(seen), f"{len(unchanged - set(seen))} unchanged users lost"
    assert len(changed) > 20, "the writer ran during the walk"
    pages = -(-len(seen) // 100)
    assert trips <= pages + 3, f"{trips} round trips for {pages} pages (+ creating the three tables)"


async def test_member_page_pages_a_groups_member_entries(store: Store) -> None:
    """Store.member_page: member ids after ``after`` in key order, ``count`` at a time, and whether more follow."""
    members = [f"m{n:02d}" for n in range(7)]
    for uid in members:
        await store.create_user(D, user(uid, f"{uid}@x.org"))
    await store.create_group(D, Resource("g1", {"displayName": "G1"}, "c", "c"), random.sample(members, 7))
    await store.create_group(D, Resource("g2", {"displayName": "G2"}, "c", "c"), members[:2])
    seen: list[str] = []
    after: str | None = None
    for _ in range(10):
        ids, more = await store.member_page(D, "g1", after=after, count=3)
        seen += ids
        if not more:
            break
        after = ids[-1]
    assert seen == members
    assert await store.member_page(D, "g1", after="m06", count=3) == ([], False)
    assert await store.member_page(D, "g1", after="m03", count=3) == (["m04", "m05", "m06"], False)
    assert await store.member_page(D, "nobody", after=None, count=3) == ([], False)
