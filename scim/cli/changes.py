"""scimctl changes: follow a directory's change feed, and run the sweep once."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from typing import Any

from scim.app import App
from scim.cli._common import Subparsers, leaf, stamp
from scim.config import Settings
from scim.service.admin import AdminService
from scim.service.directories import AdminError

POLL_SECONDS = 1.0


def _queues(settings: Settings) -> Any:
    if not settings.change_feed:
        raise AdminError(
            "The change feed is off: set SCIM_QUEUES_CONNECTION_STRING (Azurite) or SCIM_QUEUES_ENDPOINT (Azure)."
        )
    from scim.events.queue import ChangeQueues

    if settings.queues_connection_string:
        return ChangeQueues.from_connection_string(settings.queues_connection_string, settings.table_prefix)
    return ChangeQueues.from_endpoint(settings.queues_endpoint, settings.table_prefix)


async def _tail(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    """Print events as JSON lines; each is removed from the queue once printed (unless --peek)."""
    if await app.store.get_directory(args.directory) is None:
        raise AdminError(f"Directory {args.directory!r} does not exist.")
    queues = _queues(app.settings)
    printed, quiet_since = 0, time.monotonic()
    try:
        if args.peek:
            for text in await queues.peek(args.directory, limit=args.count or 32):
                print(text, flush=True)
            return None
        while args.count is None or printed < args.count:
            wanted = 32 if args.count is None else min(32, args.count - printed)
            batch = await queues.receive(args.directory, limit=wanted)
            for message in batch:
                print(message.text, flush=True)
                await queues.delete(args.directory, message)
                printed += 1
            if batch:
                quiet_since = time.monotonic()
            elif args.wait is not None and time.monotonic() - quiet_since >= args.wait:
                break
            else:
                await asyncio.sleep(POLL_SECONDS)
    finally:
        await queues.close()
        print(f"scimctl: {printed} events", file=sys.stderr)  # also when Ctrl-C ends a follow
    return None


async def _sweep(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    if app.relay is None:
        _queues(app.settings)  # raises the "feed is off" explanation
        raise AdminError("The change feed is off.")
    return {"published": await app.relay.sweep(min_age=args.min_age)}


async def _replay(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    """A poll client gets every SET appended since --since again (docs/integration.md "Signed events")."""
    client = await app.store.get_client(args.client)
    if client is None:
        raise AdminError(f"No client {args.client!r}; `scimctl client list` shows them.")
    if not client.read_only:
        raise AdminError(f"Client {args.client!r} is not read-only: only read-only clients poll change events.")
    try:
        since = datetime.fromisoformat(args.since.replace("Z", "+00:00"))
    except ValueError:
        raise AdminError(f"--since takes an ISO 8601 time such as 2026-05-01T12:00:00Z, not {args.since!r}.") from None
    if since.utcoffset() is None:
        since = since.replace(tzinfo=UTC)
    start = await app.events.replay(client.directory, client.id, since)
    return {"client": client.id, "directory": client.directory, "replays_from": stamp(start)}


def register(sub: Subparsers) -> None:
    changes = sub.add_parser("changes", help="the change feed").add_subparsers(dest="action", required=True)
    tail = leaf(changes, "tail", _tail, "print a directory's change events as they arrive (consumes them)")
    tail.add_argument("--directory", required=True, help="the directory whose queue to read")
    tail.add_argument("--count", type=int, help="stop after this many events")
    tail.add_argument("--wait", type=float, help="stop after this many seconds without an event (default: follow)")
    tail.add_argument("--peek", action="store_true", help="print up to 32 waiting events and leave them queued")
    sweep = leaf(changes, "sweep", _sweep, "publish events a stopped host left in the outbox (what the timer runs)")
    sweep.add_argument("--min-age", type=float, default=0.0, help="only rows at least this many seconds old")
    replay = leaf(changes, "replay", _replay, "a poll client receives again the signed events since a time")
    replay.add_argument("--client", required=True, help="the read-only client whose position moves")
    replay.add_argument("--since", required=True, help="ISO 8601, e.g. 2026-05-01T12:00:00Z (within the retention)")
