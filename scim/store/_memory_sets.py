"""The memory store's SET log (the ``SetLog`` contract of scim/store/base.py), in process."""

from __future__ import annotations

import bisect
import time
from dataclasses import replace

from scim.model import SetEntry, SetPosition
from scim.protocol.sets import log_key


class MemorySetLog:
    """Per directory: the log sorted by key, the jtis in it, and each client's position."""

    def __init__(self) -> None:
        self._sets: dict[str, list[SetEntry]] = {}
        self._set_jtis: dict[str, set[str]] = {}
        self._positions: dict[tuple[str, str], SetPosition] = {}
        self._last_ns = 0

    async def set_append(self, directory: str, sets: list[tuple[str, str]]) -> int:
        """Append (jti, token) pairs in order; a jti already in the log is skipped. Returns how many were new."""
        log, seen = self._sets.setdefault(directory, []), self._set_jtis.setdefault(directory, set())
        added = 0
        for jti, token in sets:
            if jti in seen:
                continue
            self._last_ns = max(time.time_ns(), self._last_ns + 1)  # strictly increasing within the process
            bisect.insort(log, SetEntry(log_key(self._last_ns, jti), jti, token), key=lambda e: e.key)
            seen.add(jti)
            added += 1
        return added

    async def set_read(self, directory: str, *, after: str, before: str, limit: int) -> list[SetEntry]:
        """Up to ``limit`` SETs with ``after`` < key < ``before``, oldest first."""
        log = self._sets.get(directory, [])
        start = bisect.bisect_right(log, after, key=lambda e: e.key)
        return [e for e in log[start : start + limit] if not before or e.key < before]

    async def set_position(self, directory: str, client_id: str) -> SetPosition:
        """A client's position; the start of the log when it never acknowledged anything."""
        found = self._positions.get((directory, client_id))
        return SetPosition() if found is None else replace(found, acked=list(found.acked))

    async def put_set_position(self, directory: str, client_id: str, position: SetPosition) -> None:
        """Record a client's position."""
        self._positions[(directory, client_id)] = replace(position, acked=list(position.acked))

    async def set_purge(self, directory: str, before: str) -> int:
        """Forget SETs with keys below ``before``; how many."""
        log = self._sets.get(directory, [])
        cut = bisect.bisect_left(log, before, key=lambda e: e.key)
        gone, self._sets[directory] = log[:cut], log[cut:]
        self._set_jtis.get(directory, set()).difference_update(e.jti for e in gone)
        return len(gone)
