"""The Table store's outbox: change events written in the same entity-group transaction as the change.

Mechanism (independent of the key layout): a write hands ``TableIO.transact`` an ``Outgoing`` (the events of
that transaction, a ``Rider``); TableIO adds its ONE outbox entity ``ob|<time>|<random>`` to the transaction, in
the transaction's own partition, so the events commit or vanish with the change. Before a partition's first
outbox row, this process records the partition in ``{prefix}admin`` (PartitionKey ``outbox``), so the sweep
finds leftovers in any partition without scanning the table. After the commit the rows, now with the
version the commit produced, go to the sink (the relay), which publishes them and deletes them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from scim.protocol.changes import Change, OutboxRow, document, row_key
from scim.store import _codec as k
from scim.store._tableio import Entity, Op, TableIO

Sink = Callable[[list[OutboxRow]], None]
MARKERS = "outbox"
LOW, HIGH = "ob|", "ob}"


@dataclass(slots=True)
class Outgoing:
    """The events of one transaction; the version is the result of op ``resource_op``, or ``version``, or unknown."""

    outbox: TableOutbox
    directory: str
    changes: list[Change]
    sequence: int | None  # None: an unconditional member merge, which reads nothing and so counts nothing
    resource_rk: str | None = None  # the resource entity whose new ETag is the events' version
    resource_op: int | None = 0
    version: str | None = None

    async def op(self, pk: str) -> Op:
        return await self.outbox.op(pk, self)

    def committed(self, op: Op, results: list[Mapping[str, Any] | None]) -> None:
        self.outbox.committed(op, self, results)


class TableOutbox:
    def __init__(self, io: TableIO, sink: Sink) -> None:
        self._io = io
        self._sink = sink
        self._marked: set[str] = set()

    async def op(self, pk: str, outgoing: Outgoing) -> Op:
        """The outbox entity for a transaction in partition ``pk`` (after recording the partition once)."""
        if pk not in self._marked:
            await self._io.upsert("admin", {"PartitionKey": MARKERS, "RowKey": pk, "Marked": time.time()})
            self._marked.add(pk)
        docs = [document(c, outgoing.directory, outgoing.sequence) for c in outgoing.changes]
        parts = k.split_utf16(json.dumps(docs, ensure_ascii=False, separators=(",", ":")), k.MAX_CHUNK)
        entity: Entity = {"PartitionKey": pk, "RowKey": row_key(), "Directory": outgoing.directory}
        entity |= {"Resource": outgoing.resource_rk or "", "Version": outgoing.version or ""}
        if outgoing.sequence is not None:
            entity["Seq"] = outgoing.sequence
        entity |= {"Parts": len(parts), **{f"e{i}": part for i, part in enumerate(parts)}}
        return Op("create", entity)

    def committed(self, outbox: Op, outgoing: Outgoing, results: list[Mapping[str, Any] | None]) -> None:
        """Hand the committed rows, stamped with the commit's version, to the relay (never raises)."""
        version = outgoing.version
        if outgoing.resource_op is not None and results[outgoing.resource_op]:
            version = str(results[outgoing.resource_op]["etag"])  # type: ignore[index]
        self._sink([_row(outbox.entity, version)])

    async def pending(self, limit: int, min_age: float) -> list[OutboxRow]:
        """Outbox rows older than ``min_age`` seconds in every recorded partition, oldest first per partition."""
        cutoff = f"{LOW}{int((time.time() - min_age) * 1e9):020d}"
        rows: list[OutboxRow] = []
        for marker, _ in await self._io.query("admin", "PartitionKey eq @pk", {"pk": MARKERS}, ["RowKey"]):
            found = await self._io.range("resources", str(marker["RowKey"]), LOW, min(cutoff, HIGH))
            for entity, _ in found:
                rows.append(_row(entity, await self._version(entity)))
                if len(rows) >= limit:
                    return rows
        return rows

    async def _version(self, entity: Entity) -> str | None:
        """A recovered row's version: the resource's ETag if it is still at the row's sequence, else unknown."""
        if entity.get("Version"):
            return str(entity["Version"])
        if not entity.get("Resource"):
            return None
        found = await self._io.get("resources", str(entity["PartitionKey"]), str(entity["Resource"]))
        if found is None or int(found[0].get("Seq", 0)) != int(entity.get("Seq", -1)):
            return None
        return found[1]

    async def delete(self, rows: list[OutboxRow]) -> None:
        """Delete published rows, one transaction per partition and 100 rows."""
        by_pk: dict[str, list[Op]] = {}
        for row in rows:
            entity = {"PartitionKey": row.key[0], "RowKey": row.key[1]}
            by_pk.setdefault(row.key[0], []).append(Op("delete", entity, missing_ok=True))
        for ops in by_pk.values():
            for start in range(0, len(ops), k.BATCH):
                await self._io.transact("resources", ops[start : start + k.BATCH])


def _row(entity: Mapping[str, Any], version: str | None) -> OutboxRow:
    text = "".join(str(entity.get(f"e{i}", "")) for i in range(int(entity.get("Parts", 1))))
    events = [{**doc, "version": version} for doc in json.loads(text or "[]")]
    return OutboxRow((str(entity["PartitionKey"]), str(entity["RowKey"])), str(entity["Directory"]), events)


def outgoing(
    io: TableIO,
    directory: str,
    changes: Callable[[], list[Change]],
    sequence: int | None,
    resource_rk: str | None = None,
    *,
    resource_op: int | None = 0,
    version: str | None = None,
) -> Outgoing | None:
    """The events of a transaction when the feed is on; with it off nothing is computed or written."""
    if not isinstance(io.outbox, TableOutbox):
        return None
    found = changes()
    if not found:
        return None  # a write kept off the feed (doctor's throwaway user): no outbox entity at all
    return Outgoing(io.outbox, directory, found, sequence, resource_rk, resource_op if resource_rk else None, version)


def next_sequence(entity: Mapping[str, Any] | None) -> int:
    """A resource's sequence after one more committed write (``Seq`` counts them; absent on older rows)."""
    return int((entity or {}).get("Seq", 0)) + 1
