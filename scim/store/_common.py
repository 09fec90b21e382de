"""Semantics both stores share: how a Lookup compares and how a result page is cut."""

from __future__ import annotations

from scim.protocol.text import identity_key
from scim.store.base import Lookup, Page, Resource


def fold(value: str) -> str:
    """userName and displayName are caseExact=false (RFC 7643 §4.1.1, §4.2): their one comparison form."""
    return identity_key(value)


def fold_exact(value: str) -> str:
    """externalId is caseExact (RFC 7643 §3.1): the same form without case mapping."""
    return identity_key(value, case_exact=True)


def lookup_matches(resource: Resource, lookup: Lookup) -> bool:
    """True when ``resource`` has ``lookup``'s value: userName/displayName case-folded, id/externalId exact."""
    if lookup.attribute == "id":
        return resource.id == lookup.value
    actual = resource.data.get(lookup.attribute)
    if not isinstance(actual, str):
        return False
    if lookup.attribute in ("userName", "displayName"):
        return fold(actual) == fold(lookup.value)
    return fold_exact(actual) == fold_exact(lookup.value)


def page_of(resources: list[Resource], start_index: int, count: int) -> Page:
    """Order by id and cut the 1-based slice of RFC 7644 §3.4.2.4 (startIndex < 1 means 1)."""
    ordered = sorted(resources, key=lambda r: r.id)
    start = max(start_index, 1) - 1
    return Page(resources=ordered[start : start + max(count, 0)], total=len(ordered))
