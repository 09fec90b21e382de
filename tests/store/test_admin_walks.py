"""scimctl's whole-directory questions read it in one walk on Table Storage: round trips grow with the pages of
the directory, never with their square (README "Paging and sorting")."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from scim.dev.azurite import Azurite
from scim.model import Directory, Resource, role_values
from scim.service.catalog_admin import CatalogAdmin
from scim.service.export import PAGE
from scim.store.tables import TableStore
from tests.support.bulk import bulk_users
from tests.support.store import table_store

D = "contoso"
SIZE = 5000


def user(n: int) -> Resource:
    data: dict[str, object] = {"userName": f"u{n:05d}@x.org"}
    if n % 500 == 7:
        data["roles"] = [{"value": "Auditor", "type": "WindowsAzureActiveDirectoryRole"}]
    stamp = "2024-01-01T00:00:00.000Z"
    return Resource(f"{n:05d}-user", data, stamp, stamp)


@pytest.fixture
async def big(azurite: Azurite) -> AsyncIterator[TableStore]:
    async with table_store(azurite) as store:
        await store.put_directory(Directory(D))
        await bulk_users(store, D, [user(n) for n in range(SIZE)])
        yield store


async def by_start_index(store: TableStore, value: str) -> list[Resource]:
    """How users_with_role read before it walked: a startIndex page at a time, each re-reading the pages before it."""
    found: list[Resource] = []
    start = 1
    while True:
        page = await store.query_users(D, lookup=None, match=None, start_index=start, count=PAGE)
        found += [u for u in page.resources if value in role_values(u.data)]
        start += len(page.resources)
        if not page.resources or start > page.total:
            return found


@pytest.mark.slow
@pytest.mark.azurite
async def test_users_with_role_reads_5000_users_in_one_walk(big: TableStore) -> None:
    before = big.round_trips
    paged = await by_start_index(big, "Auditor")
    paged_trips = big.round_trips - before
    before = big.round_trips
    holders = await CatalogAdmin(big).users_with_role(D, "Auditor")
    trips = big.round_trips - before
    assert [u.id for u in holders] == [u.id for u in paged] == [f"{n:05d}-user" for n in range(SIZE) if n % 500 == 7]
    pages = -(-SIZE // PAGE)
    print(f"users_with_role over {SIZE} users: {paged_trips} round trips by startIndex, {trips} by one walk")
    assert trips <= pages + 1, f"{trips} round trips for {pages} pages: one range query a page, none re-read"
    assert paged_trips >= 4 * trips, "paging by startIndex re-read the pages before each page"
