"""Turn a SCIM list request into what the store needs: an index lookup and an in-memory match."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scim.config import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from scim.errors import InvalidSyntax, InvalidValue, TooMany
from scim.model import Lookup, Match, Resource, Sort, SortAttribute
from scim.protocol.filter import clause_count, lookup_hint, parse_filter
from scim.protocol.filter_ast import Expr
from scim.protocol.filter_match import matches
from scim.protocol.render import Projection, parse_projection

# Comparisons evaluated per filtered list request (resources scanned x clauses); README "Hostile input".
MAX_FILTER_WORK = 100_000


@dataclass(frozen=True, slots=True)
class ListRequest:
    filter: str | None = None
    start_index: int = 1
    count: int = DEFAULT_PAGE_SIZE
    projection: Projection = field(default_factory=Projection)
    cursor: str | None = None  # RFC 9865: None pages by startIndex; "" starts a cursor walk
    sort: Sort | None = None

    def fingerprint(self) -> tuple[str, ...]:
        """Every query parameter a cursor is bound to (RFC 9865 §2: all but the cursor stay identical; count apart)."""
        order = ("", "") if self.sort is None else (self.sort.attribute, "d" if self.sort.descending else "a")
        paths = json.dumps([self.projection.include, self.projection.exclude])
        return (self.filter or "", paths, *order)


# sortBy values (RFC 7644 §3.4.2.3), by their case-folded name; a schema URN prefix is accepted too.
_SORTABLE: dict[str, SortAttribute] = {
    "username": "userName",
    "displayname": "displayName",
    "externalid": "externalId",
    "meta.created": "meta.created",
    "meta.lastmodified": "meta.lastModified",
}
_CORE_PREFIXES = ("urn:ietf:params:scim:schemas:core:2.0:user:", "urn:ietf:params:scim:schemas:core:2.0:group:")


def parse_sort(sort_by: str | None, sort_order: str | None) -> Sort | None:
    """sortBy/sortOrder (RFC 7644 §3.4.2.3): ascending unless told otherwise; sortOrder alone changes nothing."""
    if sort_by is None or not sort_by.strip():
        return None
    name = sort_by.strip().lower()
    name = next((name[len(p) :] for p in _CORE_PREFIXES if name.startswith(p)), name)
    attribute = _SORTABLE.get(name)
    if attribute is None:
        raise InvalidValue(
            f"sortBy {sort_by.strip()[:100]!r} is not sortable here; sort by one of {', '.join(_SORTABLE.values())}."
        )
    order = (sort_order or "ascending").strip().lower()
    if order not in ("ascending", "descending"):
        raise InvalidValue(f"sortOrder must be ascending or descending, not {sort_order[:40] if sort_order else ''!r}.")
    return Sort(attribute, descending=order == "descending")


def parse_paging(start_index: str | None, count: str | None, cursor: str | None = None) -> tuple[int, int]:
    """RFC 7644 §3.4.2.4: startIndex below 1 means 1, a negative count means 0; the maximum is documented.

    A cursor walk (RFC 9865 §2.4) names one paging method, so startIndex beside a cursor is refused."""
    if cursor is not None and start_index not in (None, ""):
        raise InvalidValue(
            "Send startIndex (index paging, RFC 7644 §3.4.2.4) or cursor (cursor paging, RFC 9865), not both."
        )
    try:
        start = int(start_index) if start_index not in (None, "") else 1
        size = int(count) if count not in (None, "") else DEFAULT_PAGE_SIZE
    except ValueError:
        raise InvalidValue("startIndex and count must be whole numbers") from None
    return max(start, 1), min(max(size, 0), MAX_PAGE_SIZE)


SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
_SEARCH_EXAMPLE = '{"schemas": ["' + SEARCH_REQUEST + '"], "filter": "userName eq \\"x\\"", "count": 10}'


def search_request(body: Any) -> ListRequest:
    """A POST .search body (RFC 7644 §3.4.3) as the same ListRequest a GET builds from its query string."""
    if not isinstance(body, dict):
        raise InvalidSyntax(f"Send a SearchRequest JSON object, e.g. {_SEARCH_EXAMPLE}.")
    fields = {k.lower(): v for k, v in body.items() if isinstance(k, str)}
    schemas = fields.get("schemas")
    if schemas is not None and not (
        isinstance(schemas, list) and any(isinstance(s, str) and s.lower() == SEARCH_REQUEST.lower() for s in schemas)
    ):
        raise InvalidSyntax(f'"schemas" must list "{SEARCH_REQUEST}" (RFC 7644 §3.4.3).')
    text = fields.get("filter")
    if text is not None and not isinstance(text, str):
        raise InvalidValue('"filter" must be a string such as "userName eq \\"x\\"".')
    cursor = fields.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise InvalidValue('"cursor" must be a string: "" to start, then the nextCursor of the previous page.')
    start, count = parse_paging(_number(fields, "startindex"), _number(fields, "count"), cursor)
    projection = parse_projection(_names(fields, "attributes"), _names(fields, "excludedattributes"))
    sort = parse_sort(_text(fields, "sortby"), _text(fields, "sortorder"))
    return ListRequest(filter=text, start_index=start, count=count, projection=projection, cursor=cursor, sort=sort)


def _text(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidValue(f'"{name}" must be a string.')
    return value


def _number(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidValue(f'"{name}" must be a whole number.')
    return str(value)


def _names(fields: dict[str, Any], name: str) -> str | None:
    """attributes/excludedAttributes: a list of attribute paths (RFC 7644 §3.4.3), or one comma-separated string."""
    value = fields.get(name)
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidValue(f'"{name}" must be a list of attribute names such as ["userName", "emails"].')
    return ",".join(value)


def plan(filter_text: str | None, render: Callable[[Resource], dict[str, Any]]) -> tuple[Lookup | None, Match | None]:
    """An index lookup when the filter pins an indexed attribute, and a full evaluation of the filter in memory."""
    if not filter_text or not filter_text.strip():
        return None, None
    expr: Expr = parse_filter(filter_text)
    hint = lookup_hint(expr)
    lookup = Lookup(hint[0], hint[1]) if hint else None  # type: ignore[arg-type]
    clauses = clause_count(expr)
    spent = [0]

    def match(resource: Resource) -> bool:
        # A scan costs candidates x clauses (members count as candidates of a member filter). An indexed
        # eq (Entra's userName/externalId/displayName/id) leaves one candidate, so only scans meet this budget.
        spent[0] += clauses * (1 + len(resource.members or ()))
        check_work(spent[0])
        return matches(expr, render(resource))

    return lookup, match


def check_work(spent: int) -> None:
    """TooMany once a filter's evaluations (resources x comparisons) pass MAX_FILTER_WORK."""
    if spent > MAX_FILTER_WORK:
        raise TooMany(
            f"The filter would be evaluated more than {MAX_FILTER_WORK} times (resources x comparisons) in this"
            " directory; add an indexed comparison (id, userName, externalId or displayName eq) or fewer clauses."
        )
