"""Cursor pages (RFC 9865) over Table Storage for TableStore: each page resumes where the previous one stopped.

An unsorted walk of a partition is one range query continued page by page with the service's own continuation
tokens, so a full read costs one round trip per page and reads no entity twice. A page cut mid service page
(a filter matched more than ``count``) resumes at the row key of the first resource it did not return.
A sorted listing has no index to walk: it reads the candidates (at most SORT_LIMIT) and sorts them in memory.
"""

from __future__ import annotations

from scim.errors import TooMany
from scim.model import Match, Position, Resource, Slice
from scim.store import _codec as k
from scim.store._tableio import RANGE, TableIO

# Entities one filtered cursor page reads before it answers with the matches found so far (RFC 9865 §2 lets a
# page hold fewer than count); it keeps one request's work bounded when a filter matches few resources.
SCAN_LIMIT = 3000
# Resources a sorted listing reads and sorts in memory on Table Storage (README "Paging and sorting").
SORT_LIMIT = 10_000
_FILTERED_PAGE = 1000  # the service's largest page


def _resume(after: Position | None) -> tuple[str, dict[str, str] | None]:
    """The range's low key and the continuation token a position names."""
    if after and after[0] == "t" and len(after) == 4:
        return after[1], {"PartitionKey": after[2], "RowKey": after[3]}
    if after and after[0] == "k" and len(after) == 2:
        return after[1], None
    return k.ID_LOW, None


async def walk_partition(io: TableIO, pk: str, *, match: Match | None, count: int, after: Position | None) -> Slice:
    """The next ``count`` resources of a partition that pass ``match``, from ``after`` (a previous Slice's next)."""
    page = Slice([], None, [])
    if count <= 0:
        return page
    low, token = _resume(after)
    size, growth, scanned = count, 1, 0
    while True:
        rows, token = await io.page(
            "resources", RANGE, {"pk": pk, "low": low, "high": k.ID_HIGH}, size=size, token=token
        )
        scanned += len(rows)
        for entity, etag in rows:
            resource = k.resource_from(entity, etag)
            if match is not None and not match(resource):
                continue
            here: Position = ("k", str(entity["RowKey"]))
            if len(page.resources) == count:
                page.next = here
                return page
            page.resources.append(resource)
            page.starts.append(here)
        if token is None:
            return page
        resume: Position = ("t", low, str(token.get("PartitionKey") or ""), str(token.get("RowKey") or ""))
        if len(page.resources) == count or scanned >= SCAN_LIMIT:
            page.next = resume
            return page
        # A filter that matched too few reads on in pages twice as large each time, sized by the matches still
        # wanted: a dense filter reads little past its cut (the next page re-reads only that), a sparse one few calls.
        growth = growth if match is None else growth * 2
        size = min(_FILTERED_PAGE, SCAN_LIMIT - scanned, (count - len(page.resources)) * growth)


async def sorted_candidates(io: TableIO, pk: str) -> list[Resource]:
    """Every resource of the partition, for an in-memory sort; TooMany past SORT_LIMIT."""
    found: list[Resource] = []
    async for rows in io.range_pages("resources", pk, k.ID_LOW, k.ID_HIGH):
        found += [k.resource_from(entity, etag) for entity, etag in rows]
        if len(found) > SORT_LIMIT:
            raise TooMany(
                f"sortBy sorts at most {SORT_LIMIT} resources in memory on this store, and this directory holds more;"
                " leave out sortBy and page with cursor= (RFC 9865), which reads any size in id order, or narrow the"
                " filter with an indexed comparison (userName, externalId or displayName eq)."
            )
    return found
