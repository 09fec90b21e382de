"""Semantics both stores share: how a Lookup compares (the order and cut of a page: scim.store.paging)."""

from __future__ import annotations

from scim.model import Lookup, Resource
from scim.protocol.text import identity_key

# The attribute a clash of folded group names reports (Conflict): no two groups of a directory share a name
# after folding case, accents and whitespace, the form the name policies match on (scim.protocol.text.name_fold).
FOLDED_NAME = "folded displayName"


def caseless_key(value: str) -> str:
    """userName and displayName are caseExact=false (RFC 7643 §4.1.1, §4.2): their one comparison form."""
    return identity_key(value)


def exact_key(value: str) -> str:
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
        return caseless_key(actual) == caseless_key(lookup.value)
    return exact_key(actual) == exact_key(lookup.value)
