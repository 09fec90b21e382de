"""A resource's row as users and groups both write it: read for a conditional write, with the index entries
kept beside it (userName, externalId, displayName; each names the resource's id) created, moved and deleted.

scim.store._codec holds the keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scim.errors import StoreUnavailable, VersionMismatch
from scim.model import Resource
from scim.store import _codec as k
from scim.store._outbox import Outgoing, next_sequence
from scim.store._tableio import Entity, Missing, Op, Seen, TableIO, read_for_write


@dataclass(frozen=True, slots=True)
class Current:
    """The stored row a conditional write starts from, as a resource too, and the write's change sequence."""

    entity: Entity
    etag: str
    resource: Resource
    sequence: int


def seen_resource(seen: Seen, entity: Entity, etag: str) -> Resource:
    """The resource of a row just read or written, its version kept in ``seen`` for the next conditional write."""
    seen.put(entity, etag)
    return k.resource_from(entity, etag)


async def read_current(io: TableIO, seen: Seen, pk: str, rk: str, expected_version: str | None) -> Current | None:
    """The row (see read_for_write: this process's copy when it is at ``expected_version``); None when missing."""
    found = await read_for_write(io, seen, pk, rk, expected_version)
    if found is None:
        return None
    entity, etag = found
    return Current(entity, etag, k.resource_from(entity, etag), next_sequence(entity))


def index_creates(pk: str, rks: dict[str, str], resource_id: str) -> list[Op]:
    """Creates of index entries; a collision reports the attribute (Conflict('userName') etc.)."""
    return [Op("create", k.index_entity(pk, rk, resource_id), attribute=a) for a, rk in rks.items()]


def index_moves(pk: str, before: dict[str, str], after: dict[str, str], resource_id: str) -> list[Op]:
    """Ops that move index entries whose key changed (a rename); unchanged keys need nothing."""
    ops: list[Op] = []
    for attribute in sorted(before.keys() | after.keys()):
        if before.get(attribute) != after.get(attribute):
            if attribute in before:
                ops.append(Op("delete", k.index_entity(pk, before[attribute], resource_id), missing_ok=True))
            if attribute in after:
                ops += index_creates(pk, {attribute: after[attribute]}, resource_id)
    return ops


async def delete_with_index(
    io: TableIO,
    pk: str,
    rk: str,
    index_rks: Callable[[dict[str, Any]], dict[str, str]],
    *,
    events: Callable[[Entity], Outgoing | None] | None = None,
    extra: tuple[Op, ...] = (),
    attempts: int = 5,
    expected_version: str | None = None,
) -> bool:
    """Delete a resource and its index entries in one transaction, conditional on the version just read.

    A concurrent rename between the read and the delete shows up as 412; reading again picks up the
    index entries that rename created. ``extra`` ops commit in the same transaction. With ``expected_version``
    (the client's If-Match), another version raises VersionMismatch and nothing is deleted.
    """
    for _ in range(attempts):
        found = await io.get("resources", pk, rk)
        if found is None:
            return False
        entity, etag = found
        if expected_version is not None and etag != expected_version:
            raise VersionMismatch()
        resource_id = str(entity["Id"])
        ops = [Op("delete", {"PartitionKey": pk, "RowKey": rk}, etag=etag), *extra]
        for index_rk in index_rks(k.resource_from(entity, etag).data).values():
            ops.append(Op("delete", k.index_entity(pk, index_rk, resource_id), missing_ok=True))
        try:
            await io.transact("resources", ops, events(entity) if events is not None else None)
        except VersionMismatch:
            continue
        except Missing:
            return False
        return True
    raise StoreUnavailable("The resource kept changing while it was being deleted.")
