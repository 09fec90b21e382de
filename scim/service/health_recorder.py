"""The health record's writer: requests are counted in memory on the request path, and a background task writes
each directory's record at most once a minute per instance (docs/runbook.md "Health verdict")."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable

from scim.service.health import STALE, HealthRecord, Observation
from scim.store.base import Store

log = logging.getLogger("scim.health")
WRITE_EVERY = 60.0  # seconds between two writes of one directory's record by one instance
COALESCE = 5.0  # the first write waits this long, so a burst of requests is one write
MAX_CLIENTS = 10_000  # client id -> directory lookups kept


class HealthRecorder:
    def __init__(
        self,
        store: Store,
        *,
        instance: str | None = None,
        every: float = WRITE_EVERY,
        coalesce: float = COALESCE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self.instance = instance or uuid.uuid4().hex[:16]  # this process's name in the record
        self._every, self._coalesce, self._clock = every, coalesce, clock
        self._records: dict[str, HealthRecord] = {}
        self._due: dict[str, float] = {}  # directory -> when its record may be written next
        self._written: dict[str, float] = {}
        self._unplaced: list[tuple[float, Observation]] = []  # token failures whose client's directory is unknown
        self._directories: dict[str, str | None] = {}  # client id -> directory
        self._task: asyncio.Task[None] | None = None
        self.writes = 0

    def observe(self, seen: Observation) -> None:
        """Count one request; no I/O here (the request path calls this)."""
        now = self._clock()
        if seen.directory is None:
            if seen.operation == "token.issue" and seen.client_id:
                self._unplaced.append((now, seen))  # the client's directory is looked up off the request path
                self._schedule(None, now)
            return
        record = self._records.get(seen.directory)
        if record is None:
            record = self._records[seen.directory] = HealthRecord()
        record.observe(now, seen)
        self._schedule(seen.directory, now)

    def _schedule(self, directory: str | None, now: float) -> None:
        if directory in self._due and self._task is not None and not self._task.done():
            return  # the usual case: a write is already due and its task waits for it
        if directory is not None and directory not in self._due:
            self._due[directory] = max(now + self._coalesce, self._written.get(directory, -self._every) + self._every)
        if self._task is None or self._task.done():
            with contextlib.suppress(RuntimeError):  # no loop: close() writes what is left
                self._task = asyncio.get_running_loop().create_task(self._write_when_due())

    async def _write_when_due(self) -> None:
        while self._due or self._unplaced:
            await self._place_token_failures()
            if not self._due:
                continue
            wait = min(self._due.values()) - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            await self.write_due()

    async def write_due(self) -> None:
        """Write the records whose minute has come."""
        now = self._clock()
        for directory in [d for d, at in self._due.items() if at <= now]:
            await self._write(directory, now)

    async def _place_token_failures(self) -> None:
        """Token failures of a known client count against its directory (a lookup per client, cached)."""
        unplaced, self._unplaced = self._unplaced, []
        for at, seen in unplaced:
            client_id = str(seen.client_id)
            if client_id.startswith("'"):
                continue  # not a client id at all (the token route quotes such text): no directory to count against
            if client_id not in self._directories:
                if len(self._directories) >= MAX_CLIENTS:
                    self._directories.clear()  # ids a guesser made up must not grow the cache without bound
                try:
                    client = await self._store.get_client(client_id)
                except Exception:  # a lookup that fails leaves this failure out of the record
                    client = None
                self._directories[client_id] = client.directory if client else None
            directory = self._directories[client_id]
            if directory is not None:
                self._records.setdefault(directory, HealthRecord()).observe(at, seen)
                self._schedule(directory, at)

    async def _write(self, directory: str, now: float) -> None:
        self._due.pop(directory, None)
        first = directory not in self._written
        self._written[directory] = now
        try:
            if first:
                await self._forget_stale(directory, now)
            await self._store.put_health(directory, self.instance, self._records[directory].to_json(now))
            self.writes += 1
        except Exception as exc:  # the record waits for the next minute; the service goes on
            log.warning("health record of %s not written: %s", directory, type(exc).__name__)
            self._due[directory] = now + self._every

    async def _forget_stale(self, directory: str, now: float) -> None:
        """Delete the records of instances that stopped counting days ago (scale-in leaves one per instance)."""
        for instance, text in (await self._store.health_records(directory)).items():
            seen = HealthRecord.from_json(text).last_seen
            if instance != self.instance and (seen is None or seen < now - STALE.total_seconds()):
                await self._store.delete_health(directory, instance)

    async def close(self) -> None:
        """Write every record that changed since its last write (shutdown, tests)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._place_token_failures()
        now = self._clock()
        for directory in list(self._due):
            await self._write(directory, now)
