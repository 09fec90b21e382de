"""The relay: publishes committed outbox rows to the directories' queues, then deletes the rows.

Two paths publish (docs/integration.md "Delivery guarantees"):
* right after a commit, in a background task of the same process (best effort: the response does not wait);
* the sweep, which publishes rows left behind by a failed publish or a host that died between commit and
  publish. In Azure a timer trigger in function_app.py runs it every minute; `scimctl serve` runs it at start
  and every minute; `scimctl changes sweep` runs it once.
A row is deleted only after all its events were sent, so every committed event is sent at least once. A directory
whose ``event_format`` is ``set`` or ``both`` also gets its events as signed SETs in its SET log (scim.events.signed),
appended before the row is deleted; ``set`` alone sends nothing to the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Protocol

from scim.events.signed import SetAppender
from scim.protocol.changes import OutboxRow, encode
from scim.store.base import OutboxStore

log = logging.getLogger("scim.events")
SWEEP_MIN_AGE = 60.0  # younger rows are probably being published right now by the process that wrote them
SWEEP_BATCH = 500


class QueueRefused(Exception):
    """The queue service answered and refused the message (a 4xx such as 413, too large): resending cannot help."""


class Publisher(Protocol):
    async def send(self, directory: str, text: str) -> None:
        """StoreUnavailable (or OSError) when the queue does not answer; QueueRefused when it refuses the text."""

    async def close(self) -> None: ...


class Relay:
    def __init__(self, store: OutboxStore, publisher: Publisher, sets: SetAppender | None = None) -> None:
        self._store = store
        self.publisher = publisher
        self.sets = sets
        self._waiting: deque[OutboxRow] = deque()
        self._worker: asyncio.Task[None] | None = None
        self.published = 0
        self.sweep_min_age = SWEEP_MIN_AGE

    def attach(self) -> None:
        """Turn the store's outbox on, with this relay as the receiver of committed rows."""
        self._store.enable_outbox(self.accept)

    def accept(self, rows: list[OutboxRow]) -> None:
        """Called by the store right after a commit: publish in the background, in commit order."""
        self._waiting.extend(rows)
        if self._worker is None or self._worker.done():
            try:
                self._worker = asyncio.get_running_loop().create_task(self._drain())
            except RuntimeError:  # no loop (a synchronous caller): the sweep publishes these rows
                self._waiting.clear()

    async def _drain(self) -> None:
        while self._waiting:
            batch = list(self._waiting)
            self._waiting.clear()
            try:
                await self._publish(batch)
            except Exception as exc:  # the rows stay in the outbox; the sweep sends them
                log.warning(
                    "change feed: publishing %d rows failed (%s); the sweep retries", len(batch), type(exc).__name__
                )

    async def _publish(self, rows: list[OutboxRow]) -> None:
        """Send rows in order and delete the sent ones; an unreachable queue stops here (the rest wait for the
        sweep), a row the queue refuses is logged and left, so it cannot hold up the rows after it; anything else is
        a bug and propagates (the rows stay in the outbox), rather than being logged as a refusal."""
        done: list[OutboxRow] = []
        try:
            for row in rows:
                kind = "v1" if self.sets is None else await self.sets.format(row.directory)
                try:
                    if kind != "set":
                        for event in row.events:
                            await self.publisher.send(row.directory, encode(event))
                            self.published += 1
                except QueueRefused as exc:  # StoreUnavailable, OSError and bugs propagate
                    log.error(
                        "change feed: the queue refused outbox row %s (%s); it stays", row.key, type(exc).__name__
                    )
                    continue
                if kind != "v1" and self.sets is not None:
                    await self.sets.append(row)  # a store outage propagates: the row stays for the sweep
                    if kind == "set":
                        self.published += len(row.events)
                done.append(row)
        finally:
            if done:
                await self._store.outbox_delete(done)

    async def flush(self) -> None:
        """Wait until every row handed over so far was published or given up to the sweep."""
        while self._worker is not None and not self._worker.done():
            await asyncio.shield(self._worker)

    async def sweep(self, *, min_age: float | None = None) -> int:
        """Publish rows left in the outbox (after a crash or a failed publish); returns how many events were sent."""
        min_age = self.sweep_min_age if min_age is None else min_age
        await self.flush()
        before = self.published
        while True:
            rows = await self._store.outbox_pending(limit=SWEEP_BATCH, min_age=min_age)
            if not rows:
                break
            sent = self.published
            await self._publish(rows)
            if len(rows) < SWEEP_BATCH or self.published == sent:
                break  # all read, or only rows the queue refuses are left
        return self.published - before

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.flush()
        await self.publisher.close()
