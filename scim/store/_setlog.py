"""The Table store's SET log (the ``SetLog`` contract of scim/store/base.py) in ``{prefix}sets``.

One partition per directory. ``log|<key>`` rows hold the signed SETs in append order, so a poll is one range query;
``jti|<jti>`` rows are created in the same entity-group transaction as their log row, so appending a jti twice
(the relay retrying after a crash) collides instead of duplicating; ``pos|<client>`` rows hold poll positions.
"""

from __future__ import annotations

import json
import time
from typing import Any

from scim.errors import Conflict
from scim.model import SetEntry, SetPosition
from scim.protocol.sets import RESTAMP_SECONDS, log_key
from scim.store import _codec as k
from scim.store._tableio import RANGE, Entity, Op, TableIO

LOG, LOG_END = "log|", "log}"


def _entry(entity: Entity) -> SetEntry:
    token = "".join(str(entity.get(f"t{i}", "")) for i in range(int(entity.get("Parts", 1))))
    return SetEntry(str(entity["RowKey"])[len(LOG) :], str(entity["Jti"]), token)


class TableSetLog:
    """Mixed into TableStore, which supplies ``_io``."""

    _io: TableIO

    async def set_append(self, directory: str, sets: list[tuple[str, str]]) -> int:
        """Append (jti, token) pairs in order; a jti already in the log is skipped. Returns how many were new."""
        pk, added = k.enc(directory), 0
        for jti, token in sets:
            parts = k.split_utf16(token, k.MAX_CHUNK)
            row: Entity = {"PartitionKey": pk, "RowKey": LOG + log_key(time.time_ns(), jti), "Jti": jti}
            row |= {"Parts": len(parts), **{f"t{i}": part for i, part in enumerate(parts)}}
            index: Entity = {"PartitionKey": pk, "RowKey": f"jti|{jti}", "Log": row["RowKey"]}
            started = time.monotonic()
            try:
                await self._io.transact("sets", [Op("create", index, attribute="jti"), Op("create", row)])
            except Conflict:
                continue  # appended before: the relay is resending a row it could not delete
            while time.monotonic() - started > RESTAMP_SECONDS:  # retries held it: a poll may have passed its key
                started, row = time.monotonic(), await self._restamp(row, index)
            added += 1
        return added

    async def _restamp(self, row: Entity, index: Entity) -> Entity:
        """Move a slow append's log row to a fresh key, in one transaction with its jti row (a poll that saw the old
        row may deliver it twice: at least once, never lost)."""
        moved = row | {"RowKey": LOG + log_key(time.time_ns(), str(row["Jti"]))}
        ops = [Op("delete", {"PartitionKey": row["PartitionKey"], "RowKey": row["RowKey"]}, missing_ok=True)]
        ops += [Op("create", moved), Op("upsert", index | {"Log": moved["RowKey"]})]
        await self._io.transact("sets", ops)
        return moved

    async def set_read(self, directory: str, *, after: str, before: str, limit: int) -> list[SetEntry]:
        """Up to ``limit`` SETs with ``after`` < key < ``before``, oldest first: service pages of at most what is
        still wanted (a SET can be tens of KB), one round trip each."""
        found: list[SetEntry] = []
        low, high = LOG + after + " ", LOG + before if before else LOG_END  # " ": just above ``after``
        query = {"pk": k.enc(directory), "low": low, "high": high}
        token: dict[str, Any] | None = None
        while len(found) < limit:
            page, token = await self._io.page("sets", RANGE, query, size=min(limit - len(found), 1000), token=token)
            found += (_entry(entity) for entity, _ in page)
            if token is None:
                break
        return found[:limit]

    async def set_position(self, directory: str, client_id: str) -> SetPosition:
        """A client's position; the start of the log when it never acknowledged anything."""
        found = await self._io.get("sets", k.enc(directory), f"pos|{client_id}")
        if found is None:
            return SetPosition()
        acked = "".join(str(found[0].get(f"a{i}", "")) for i in range(int(found[0].get("Parts", 1))))
        return SetPosition(str(found[0].get("After", "")), list(json.loads(acked or "[]")))

    async def put_set_position(self, directory: str, client_id: str, position: SetPosition) -> None:
        """Record a client's position."""
        parts = k.split_utf16(json.dumps(position.acked), k.MAX_CHUNK)  # up to 1,000 jtis: more than one property
        entity = {"PartitionKey": k.enc(directory), "RowKey": f"pos|{client_id}", "After": position.after}
        await self._io.upsert("sets", entity | {"Parts": len(parts), **{f"a{i}": p for i, p in enumerate(parts)}})

    async def set_purge(self, directory: str, before: str) -> int:
        """Forget SETs with keys below ``before``, with their jti rows; one transaction per 50 SETs."""
        pk = k.enc(directory)
        old = await self._io.range("sets", pk, LOG, LOG + before, ["RowKey", "Jti"])
        half = k.BATCH // 2
        for start in range(0, len(old), half):
            ops = []
            for entity, _ in old[start : start + half]:
                ops.append(Op("delete", {"PartitionKey": pk, "RowKey": str(entity["RowKey"])}, missing_ok=True))
                ops.append(Op("delete", {"PartitionKey": pk, "RowKey": f"jti|{entity['Jti']}"}, missing_ok=True))
            await self._io.transact("sets", ops)
        return len(old)
