"""Change events, version 1 (docs/integration.md "Event schema"): what a committed write changed. Pure, no I/O.

A store describes each write with ``Change`` values, writes them as outbox rows in the write's own
transaction, and turns them into event documents once it knows the commit's version.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scim.clock import now
from scim.model import role_values
from scim.protocol.schema import ENTERPRISE_SCHEMA

SCHEMA = "urn:scim-entra-functions:event:1"
# A queue message holds 64 KiB of XML-escaped text (a quote costs 6 bytes), so an event stays well below it.
MAX_VALUES_CHARS = 8_000
MEMBERS_PER_EVENT = 500
MEMBER_CHARS_PER_EVENT = 20_000
_ROLES = ("roles", "entitlements")


@dataclass(slots=True)
class Change:
    """One event of a write: its type, the attribute names it changed and, when the directory opts in, values."""

    type: str
    resource_type: str
    resource_id: str
    attributes: list[str] = field(default_factory=list)
    members: list[str] | None = None  # member.added / member.removed: the member ids (ids, not attribute values)
    values: dict[str, Any] | None = None


@dataclass(slots=True)
class OutboxRow:
    """Committed events waiting for the queue; ``key`` is where the store keeps them (opaque to the relay)."""

    key: tuple[str, str]
    directory: str
    events: list[dict[str, Any]]


def _names(data: Mapping[str, Any]) -> set[str]:
    """Attribute names of a resource's data; enterprise extension attributes as full URN paths (RFC 7644 §3.10)."""
    names = {n for n in data if n != ENTERPRISE_SCHEMA}
    extension = data.get(ENTERPRISE_SCHEMA)
    if isinstance(extension, Mapping):
        names |= {f"{ENTERPRISE_SCHEMA}:{n}" for n in extension}
    return names


def _value(data: Mapping[str, Any], name: str) -> Any:
    if name.startswith(ENTERPRISE_SCHEMA + ":"):
        extension = data.get(ENTERPRISE_SCHEMA)
        return extension.get(name[len(ENTERPRISE_SCHEMA) + 1 :]) if isinstance(extension, Mapping) else None
    return data.get(name)


def changed_attributes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Names whose value differs between two versions of a resource's data, sorted."""
    return sorted(n for n in _names(old) | _names(new) if _value(old, n) != _value(new, n))


def _values(data: Mapping[str, Any], names: list[str], include: bool) -> dict[str, Any] | None:
    return {n: _value(data, n) for n in names} if include else None


# `scimctl doctor`'s throwaway user: under the .invalid top-level domain, which RFC 2606 §2 reserves so that no real
# address has it, so no user Entra provisions is mistaken for one. Its writes publish nothing (docs/integration.md).
_PROBE = re.compile(r"scimctl-doctor-[0-9a-f]{12}@example\.invalid")


def probe_user_name() -> str:
    """A fresh userName for doctor's round trip, kept off the change feed."""
    return f"scimctl-doctor-{uuid.uuid4().hex[:12]}@example.invalid"


def is_probe(data: Mapping[str, Any]) -> bool:
    """Whether a user is doctor's throwaway user, whose writes publish no events."""
    name = data.get("userName")
    return isinstance(name, str) and _PROBE.fullmatch(name) is not None


def user_created(user_id: str, data: Mapping[str, Any], *, values: bool) -> list[Change]:
    if is_probe(data):
        return []
    names = sorted(_names(data))
    return [Change("user.created", "User", user_id, names, values=_values(data, names, values))]


def user_replaced(user_id: str, old: Mapping[str, Any], new: Mapping[str, Any], *, values: bool) -> list[Change]:
    """user.disabled/enabled for ``active``, role.granted/revoked for roles, user.updated for the rest.

    Every write yields at least one event, so a consumer sees each sequence number of a resource (doctor's
    throwaway user aside: it is never published at all).
    """
    if is_probe(old) or is_probe(new):
        return []
    names = changed_attributes(old, new)
    changes: list[Change] = []
    if "active" in names:
        kind = "user.enabled" if new.get("active", True) is not False else "user.disabled"
        changes.append(Change(kind, "User", user_id, ["active"], values=_values(new, ["active"], values)))
    held, had = set(role_values(new)), set(role_values(old))
    granted, revoked = sorted(held - had), sorted(had - held)
    role_attributes = [n for n in names if n in _ROLES]
    for kind, roles in (("role.granted", granted), ("role.revoked", revoked)):
        if roles:
            shown = {"roles": roles} if values else None
            changes.append(Change(kind, "User", user_id, role_attributes, values=shown))
    # A roles/entitlements change that leaves the held set as it was (a display, a primary flag, a role moved
    # from one attribute to the other) is a user.updated naming the attribute, never one naming nothing.
    rest = [n for n in names if n != "active" and (n not in _ROLES or not (granted or revoked))]
    if rest or not changes:
        changes.append(Change("user.updated", "User", user_id, rest, values=_values(new, rest, values)))
    return changes


def user_deleted(user_id: str, data: Mapping[str, Any]) -> list[Change]:
    """The user also left every group; no member.removed events follow (docs/integration.md)."""
    return [] if is_probe(data) else [Change("user.deleted", "User", user_id)]


def group_created(group_id: str, data: Mapping[str, Any], members: list[str], *, values: bool) -> list[Change]:
    names = sorted(_names(data) | ({"members"} if members else set()))
    shown = _values(data, sorted(_names(data)), values)
    return [Change("group.created", "Group", group_id, names, values=shown)]


def group_updated(
    group_id: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any] | None,
    added: list[str],
    removed: list[str],
    *,
    values: bool,
) -> list[Change]:
    """group.renamed for displayName, group.updated for other attributes, member.added/removed with ids."""
    names = changed_attributes(old, new) if new is not None else []
    changes: list[Change] = []
    if "displayName" in names and new is not None:
        changes.append(
            Change("group.renamed", "Group", group_id, ["displayName"], values=_values(new, ["displayName"], values))
        )
    changes += member_changes(group_id, added, removed)
    rest = [n for n in names if n != "displayName"]
    if (rest or not changes) and new is not None:
        changes.append(Change("group.updated", "Group", group_id, rest, values=_values(new, rest, values)))
    elif not changes:
        changes.append(Change("group.updated", "Group", group_id, []))
    return changes


def member_changes(group_id: str, added: list[str], removed: list[str]) -> list[Change]:
    """member.added/removed events, each small enough for one queue message (at most 500 ids)."""
    changes = []
    for kind, ids in (("member.added", sorted(added)), ("member.removed", sorted(removed))):
        chunk: list[str] = []
        size = 0
        for member in ids:
            if chunk and (len(chunk) == MEMBERS_PER_EVENT or size + len(member) > MEMBER_CHARS_PER_EVENT):
                changes.append(Change(kind, "Group", group_id, ["members"], members=chunk))
                chunk, size = [], 0
            chunk.append(member)
            size += len(member) + 3
        if chunk:
            changes.append(Change(kind, "Group", group_id, ["members"], members=chunk))
    return changes


def group_deleted(group_id: str) -> list[Change]:
    return [Change("group.deleted", "Group", group_id)]


def row_key(now_ns: int | None = None) -> str:
    """An outbox row key that sorts by commit time within a partition, unique across writers."""
    return f"ob|{now_ns if now_ns is not None else time.time_ns():020d}|{uuid.uuid4().hex[:12]}"


def document(change: Change, directory: str, sequence: int | None) -> dict[str, Any]:
    """The event as published, less ``version`` (known only once the write commits)."""
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "id": str(uuid.uuid4()),
        "type": change.type,
        "time": now(),
        "directory": directory,
        "resourceType": change.resource_type,
        "resourceId": change.resource_id,
        "sequence": sequence,
        "attributes": change.attributes,
    }
    if change.members is not None:
        doc["members"] = change.members
    if change.values is not None:
        if len(json.dumps(change.values, default=str)) <= MAX_VALUES_CHARS:
            doc["values"] = change.values
        else:
            doc["valuesOmitted"] = True  # too large for one message: read the resource instead
    return doc


def encode(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=str)


_QUEUE_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_DIGEST_TAIL = re.compile(r"(.*-)?[0-9a-f]{12}")
MAX_QUEUE_NAME = 63


def queue_name(prefix: str, directory: str) -> str:
    """``<prefix>-changes-<directory>``: queue names are 3-63 lowercase letters, digits and single dashes.

    Any other id (upper case, other characters, too long) gets the form ``<cleaned>-<12 hex of its SHA-256>``. An id
    that already ends like a digest takes that form too, so no plain id spells another id's hashed name: ``Acme``
    is ``…-acme-37036cd8f974`` and the directory ``acme-37036cd8f974`` is ``…-acme-37036cd8f974-<its digest>``.
    """
    base = f"{prefix.lower()}-changes"
    slug = directory.lower()
    plain = _QUEUE_NAME.fullmatch(slug) and slug == directory and not _DIGEST_TAIL.fullmatch(slug)
    if plain and len(base) + 1 + len(slug) <= MAX_QUEUE_NAME:
        return f"{base}-{slug}"
    tail = hashlib.sha256(directory.encode()).hexdigest()[:12]
    cleaned = "-".join(p for p in re.split(r"[^a-z0-9]+", slug) if p)
    room = MAX_QUEUE_NAME - len(base) - len(tail) - 2
    head = cleaned[:room].strip("-")
    return f"{base}-{head}-{tail}" if head else f"{base}-{tail}"
