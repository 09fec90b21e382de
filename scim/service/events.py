"""Polling a directory's signed change events (RFC 8936; docs/integration.md "Signed events").

Each read-only client has its own position in its directory's SET log, so two consumers never take each other's
events. A poll returns the oldest SETs the client has not acknowledged; an ``ack`` or ``setErrs`` entry
acknowledges one (in any order), and the position moves past every SET acknowledged without a gap. A SET is
delivered again until it is acknowledged: at least once, never lost while it is inside the retention window.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from scim.errors import Forbidden, InvalidSyntax, InvalidValue
from scim.model import Caller, Directory, SetEntry, SetPosition
from scim.protocol.sets import SETTLE_SECONDS, key_at
from scim.store.base import SetLog

log = logging.getLogger("scim.events")
MAX_EVENTS = 1000  # per poll: a poll answer stays a few MB at most
DEFAULT_EVENTS = 100
MAX_ACKS = 2 * MAX_EVENTS  # a client acknowledges what it received: at most a poll's worth, twice over for slack
WAIT_SECONDS = 10.0  # returnImmediately false: the longest a poll waits for a first SET
_FIELDS = {"ack", "setErrs", "maxEvents", "returnImmediately"}


def _request(body: Any) -> tuple[list[str], dict[str, Any], int, bool]:
    """RFC 8936 poll request members, checked: ack, setErrs, maxEvents, returnImmediately."""
    if not isinstance(body, Mapping):
        raise InvalidSyntax("A poll request is a JSON object (RFC 8936).")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise InvalidSyntax(f"Unknown poll request members {unknown}; RFC 8936 defines {sorted(_FIELDS)}.")
    ack = body.get("ack", [])
    if not isinstance(ack, list) or not all(isinstance(j, str) for j in ack):
        raise InvalidValue('"ack" is a list of jti strings (RFC 8936).')
    errors = body.get("setErrs", {})
    if not isinstance(errors, Mapping) or not all(isinstance(v, Mapping) for v in errors.values()):
        raise InvalidValue('"setErrs" maps each jti to {"err": ..., "description": ...} (RFC 8936).')
    wanted = body.get("maxEvents", DEFAULT_EVENTS)
    if isinstance(wanted, bool) or not isinstance(wanted, int) or not 0 <= wanted <= MAX_EVENTS:
        raise InvalidValue(f'"maxEvents" is a whole number from 0 to {MAX_EVENTS}.')
    if len(ack) + len(errors) > MAX_ACKS:
        raise InvalidValue(f'"ack" and "setErrs" together acknowledge at most {MAX_ACKS} SETs per poll.')
    immediately = body.get("returnImmediately", False)
    if not isinstance(immediately, bool):
        raise InvalidValue('"returnImmediately" is true or false.')
    return ack, dict(errors), wanted, immediately


class EventPolls:
    """The poll endpoint's rules over a store's SET log."""

    def __init__(
        self, store: SetLog, *, retention: timedelta, wait: float = WAIT_SECONDS, settle: float = SETTLE_SECONDS
    ) -> None:
        self._store = store
        self._retention = retention
        self._wait = wait
        self._settle = settle

    async def poll(self, caller: Caller, body: Any) -> dict[str, Any]:
        """Acknowledge what the request acknowledges, then up to maxEvents unacknowledged SETs, oldest first."""
        if not caller.read_only:
            raise Forbidden("Change events are polled by read-only clients (scimctl client create --read-only).")
        ack, errors, wanted, immediately = _request(body)
        directory = caller.directory.id
        for jti, error in errors.items():  # the consumer could not apply it; it is acknowledged all the same
            log.warning("change events: %s reported %r for SET %r", caller.client_id, error.get("err"), jti)
        position = await self._store.set_position(directory, caller.client_id)
        acked = set(position.acked) | set(ack) | set(errors)
        deadline = time.monotonic() + (0 if immediately or wanted == 0 else self._wait)
        while True:
            limit = len(acked) + wanted + 1
            found = await self._store.set_read(directory, after=position.after, before=self._visible(), limit=limit)
            pending = [e for e in found if e.jti not in acked]
            moved = _advance(position, found, acked)
            acked = set(moved.acked)
            if pending or wanted == 0 or time.monotonic() >= deadline:
                break
            await self._put(directory, caller.client_id, moved, position)
            await asyncio.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        await self._put(directory, caller.client_id, moved, position)
        sets = {e.jti: e.token for e in pending[:wanted]}
        return {"sets": sets, "moreAvailable": len(pending) > wanted or len(found) == limit}

    def _visible(self) -> str:
        return key_at(time.time() - self._settle)

    async def _put(self, directory: str, client_id: str, moved: SetPosition, before: SetPosition) -> None:
        if moved != before:
            await self._store.put_set_position(directory, client_id, moved)
            before.after, before.acked = moved.after, list(moved.acked)

    async def replay(self, directory: str, client_id: str, since: datetime) -> datetime:
        """Deliver again every SET appended since ``since`` (no earlier than the retention window) to one client."""
        start = max(since.timestamp(), time.time() - self._retention.total_seconds())
        await self._store.put_set_position(directory, client_id, SetPosition(key_at(start)))
        return datetime.fromtimestamp(start, UTC)

    async def purge(self, directory: str) -> int:
        """Forget the directory's SETs older than the retention window."""
        return await self._store.set_purge(directory, key_at(time.time() - self._retention.total_seconds()))

    async def purge_all(self, directories: Iterable[Directory]) -> int:
        """The sweep's part: every directory's SETs older than the retention window (a directory that went back to
        v1 keeps its old SETs until then too)."""
        return sum([await self.purge(d.id) for d in directories])


def _advance(position: SetPosition, found: list[SetEntry], acked: set[str]) -> SetPosition:
    """The position past every acknowledged SET at the head of ``found``; acks of SETs it did not read are dropped
    (a jti the client never received, or one already behind the position)."""
    after, head = position.after, 0
    while head < len(found) and found[head].jti in acked:
        after = found[head].key
        head += 1
    return SetPosition(after, [e.jti for e in found[head:] if e.jti in acked])
