"""How a listing is ordered and cut into pages: both stores, and the service when it filters in memory."""

from __future__ import annotations

from collections.abc import Iterable

from scim.model import Match, Page, Position, Resource, Slice, Sort
from scim.store._common import caseless_key


def page_of(resources: list[Resource], start_index: int, count: int, sort: Sort | None = None) -> Page:
    """Order by id (or ``sort``) and cut the 1-based slice of RFC 7644 §3.4.2.4 (startIndex < 1 means 1)."""
    listed = ordered(resources, sort)
    start = max(start_index, 1) - 1
    return Page(resources=listed[start : start + max(count, 0)], total=len(listed))


# Characters of a value a sort compares: a cursor carries the sort value of where it resumes, and a value of
# thousands of characters would not fit one (values equal this far go by id, as equal values do).
SORT_CHARS = 256


def sort_value(resource: Resource, attribute: str) -> str | None:
    """The value ``attribute`` orders by (RFC 7644 §3.4.2.3): caseExact=false strings case-folded, cut to SORT_CHARS;
    None when absent."""
    if attribute == "meta.created":
        return resource.created or None
    if attribute == "meta.lastModified":
        return resource.last_modified or None
    value = resource.data.get(attribute)
    if not isinstance(value, str):
        return None
    return (caseless_key(value) if attribute in ("userName", "displayName") else value)[:SORT_CHARS]


def order_key(resource: Resource, sort: Sort | None) -> Position:
    """The resource's place in a listing: by id, or by the sort value (absent values last) and then id."""
    if sort is None:
        return (resource.id,)
    value = sort_value(resource, sort.attribute)
    return ("1", "", resource.id) if value is None else ("0", value, resource.id)


def ordered(resources: Iterable[Resource], sort: Sort | None) -> list[Resource]:
    """Ascending, or the exact reverse for descending: absent values come last ascending and first descending
    (RFC 7644 §3.4.2.3)."""
    return sorted(resources, key=lambda r: order_key(r, sort), reverse=sort is not None and sort.descending)


def slice_after(
    resources: Iterable[Resource], *, match: Match | None, sort: Sort | None, after: Position | None, count: int
) -> Slice:
    """The cursor page after ``after`` (a previous page's order_key): ``match`` is asked only from there on."""
    descending = sort is not None and sort.descending
    page = Slice([], None, [])
    if count <= 0:
        return page
    start: Position | None = after
    for resource in ordered(resources, sort):
        key = order_key(resource, sort)
        if after is not None and not (key < after if descending else key > after):
            continue
        if match is not None and not match(resource):
            continue
        if len(page.resources) == count:
            page.next = start
            return page
        page.resources.append(resource)
        page.starts.append(start)
        start = key
    return page
