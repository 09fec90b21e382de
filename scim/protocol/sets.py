"""Change events as Security Event Tokens (docs/integration.md "Signed events"): RFC 9967 events in RFC 8417 claims,
built from the schema v1 documents of scim/protocol/changes.py. Pure: signing is scim/auth/event_keys.py's.

How v1 maps onto RFC 9967's events: user.created / group.created → ``prov:create:notice`` (``prov:create:full`` with the
values when the directory opted in to them); user.updated, group.renamed, group.updated, role.* → ``prov:patch:notice``
(``prov:patch:full`` with a PatchOp of the values); member.added / member.removed → ``prov:patch:full`` (the member
ids are always known); user.enabled / user.disabled → ``prov:activate`` / ``prov:deactivate``; *.deleted →
``prov:delete``. What does not map: v1's per-resource ``sequence`` (RFC 9967 has no such field: ``version`` and
``iat`` order a resource's events, and the SET log's order is the commit order); ``valuesOmitted`` (an event whose
values were too large becomes the notice form); ``prov:put`` (the product records a PUT as the attributes it
changed, never a whole resource); the ``misc`` and async-response events (the product has no asynchronous requests).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

PREFIX = "urn:ietf:params:scim:event:"
CREATE_NOTICE, CREATE_FULL = f"{PREFIX}prov:create:notice", f"{PREFIX}prov:create:full"
PATCH_NOTICE, PATCH_FULL = f"{PREFIX}prov:patch:notice", f"{PREFIX}prov:patch:full"
DELETE, ACTIVATE, DEACTIVATE = f"{PREFIX}prov:delete", f"{PREFIX}prov:activate", f"{PREFIX}prov:deactivate"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
TYP = "secevent+jwt"  # RFC 8417 §2.3
# A SET is visible to polls once its log key is this old, so one appended by a slower writer with an earlier key
# never lands behind a position a client already passed: a store re-keys an append that took longer than half of
# it (RESTAMP_SECONDS), and the instances' clocks agree far more closely than the other half.
SETTLE_SECONDS = 2.0
RESTAMP_SECONDS = SETTLE_SECONDS / 2
_ENDPOINTS = {"User": "Users", "Group": "Groups"}
_SIMPLE = {"user.deleted": DELETE, "group.deleted": DELETE, "user.enabled": ACTIVATE, "user.disabled": DEACTIVATE}
_PATCHES = {"user.updated", "group.renamed", "group.updated", "role.granted", "role.revoked"}


def audience(directory: str) -> str:
    """The ``aud`` of a directory's SETs: its consumers, whichever read-only client polls."""
    return f"urn:scim-entra-functions:consumers:{directory}"


def transaction(row_key: str) -> str:
    """``txn`` (RFC 8417 §2.2): the same for every SET of one committed write, stable when the relay retries."""
    return hashlib.sha256(row_key.encode()).hexdigest()[:32]


def _patch_ops(doc: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The PatchOp operations a v1 event's ids or values amount to; None when it carries neither."""
    kind = doc["type"]
    if kind in ("member.added", "member.removed"):
        ids = doc.get("members") or []
        if kind == "member.added":
            return [{"op": "add", "path": "members", "value": [{"value": m} for m in ids]}]
        return [{"op": "remove", "path": f'members[value eq "{m}"]'} for m in ids]
    values = doc.get("values")
    if not isinstance(values, Mapping):
        return None
    if kind in ("role.granted", "role.revoked"):
        roles = values.get("roles") or []
        if kind == "role.granted":
            return [{"op": "add", "path": "roles", "value": [{"value": r} for r in roles]}]
        return [{"op": "remove", "path": f'roles[value eq "{r}"]'} for r in roles]
    return [
        {"op": "remove", "path": name} if value is None else {"op": "replace", "path": name, "value": value}
        for name, value in values.items()
    ]


def event(doc: Mapping[str, Any], base_url: str) -> tuple[str, dict[str, Any]]:
    """The RFC 9967 event URI and payload of one v1 event document."""
    ref = f"{base_url}/{_ENDPOINTS[doc['resourceType']]}/{doc['resourceId']}"
    payload: dict[str, Any] = {"ref": ref}
    if doc.get("version"):
        payload["version"] = doc["version"]
    kind = doc["type"]
    if kind in _SIMPLE:
        return _SIMPLE[kind], payload
    if kind.endswith(".created"):
        if isinstance(doc.get("values"), Mapping):
            return CREATE_FULL, payload | {"data": dict(doc["values"])}
        return CREATE_NOTICE, payload | {"attributes": list(doc.get("attributes") or [])}
    ops = _patch_ops(doc)
    if ops is not None:
        return PATCH_FULL, payload | {"data": {"schemas": [PATCH_OP], "Operations": ops}}
    if kind in _PATCHES:
        return PATCH_NOTICE, payload | {"attributes": list(doc.get("attributes") or [])}
    raise ValueError(f"no RFC 9967 event for change type {kind!r}")


def claims(doc: Mapping[str, Any], *, issuer: str, base_url: str, txn: str) -> dict[str, Any]:
    """The SET's claims (RFC 8417 §2.2, RFC 9967): ``jti`` is the v1 event's id, so a resend is the same SET."""
    uri, payload = event(doc, base_url)
    happened = int(datetime.fromisoformat(str(doc["time"]).replace("Z", "+00:00")).timestamp())
    path = f"/{_ENDPOINTS[doc['resourceType']]}/{doc['resourceId']}"
    return {
        "jti": str(doc["id"]),
        "iss": issuer,
        "iat": happened,
        "toe": happened,
        "aud": audience(str(doc["directory"])),
        "txn": txn,
        "sub_id": {"format": "scim", "uri": path},
        "events": {uri: payload},
    }


def log_key(time_ns: int, jti: str) -> str:
    """A SET log key: the append time in nanoseconds, then the jti (unique, so two appends never collide)."""
    return f"{time_ns:020d}|{jti}"


def key_at(seconds: float) -> str:
    """The log key bound at a time: every SET appended before it sorts below."""
    return f"{int(seconds * 1e9):020d}"
