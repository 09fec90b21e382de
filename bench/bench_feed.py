"""The change feed's cost: create user and add members on the Table store with the feed off and on (Azurite
tables and queues, same run, alternating). Budget (docs/architecture.md "Budgets"): at most 1.3x.

"request" is what the caller waits for (the outbox row rides in the change's own transaction; the relay
publishes in the background); "with relay" also waits until the relay has sent the events to the queue and
deleted the outbox rows, the whole work the feed adds.

Run: .venv/bin/python -m bench.bench_feed [--repeats N]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scim.dev.azurite import Azurite
from scim.events.queue import ChangeQueues
from scim.events.relay import Relay
from scim.model import MemberChange, Resource
from scim.store.tables import TableStore

D = "bench"
USER = {"userName": "u@x.org", "active": True, "emails": [{"primary": True, "type": "work", "value": "u@x.org"}]}
MEMBERS_PER_ADD = 10


class Side:
    """One store, with or without the feed; ``settle`` waits for the relay when there is one."""

    def __init__(self, store: TableStore, relay: Relay | None, tag: str) -> None:
        self.store, self.relay, self.tag = store, relay, tag
        self.users: list[str] = []
        self.group = f"{tag}-group"

    async def settle(self) -> None:
        if self.relay is not None:
            await self.relay.flush()

    async def create_user(self, i: int) -> None:
        uid = f"{self.tag}-{i}"
        data = USER | {"userName": f"{uid}@x.org"}
        await self.store.create_user(D, Resource(uid, data, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"))
        self.users.append(uid)

    async def add_members(self, i: int) -> None:
        ids = self.users[i * MEMBERS_PER_ADD : (i + 1) * MEMBERS_PER_ADD]
        change = MemberChange(add=ids)
        await self.store.update_group(
            D, self.group, data=None, last_modified="2024-01-01T00:00:00Z", members=change, expected_version=None
        )


async def measure(
    sides: list[Side], op: Callable[[Side, int], Awaitable[None]], repeats: int
) -> dict[str, tuple[float, float]]:
    """Median ms per side of the request alone and of the request plus the relay's work, alternating sides."""
    samples: dict[str, tuple[list[float], list[float]]] = {s.tag: ([], []) for s in sides}
    for i in range(repeats):
        for side in sides:
            started = time.perf_counter()
            await op(side, i)
            answered = time.perf_counter()
            await side.settle()
            done = time.perf_counter()
            samples[side.tag][0].append((answered - started) * 1000)
            samples[side.tag][1].append((done - started) * 1000)
    return {tag: (statistics.median(a), statistics.median(b)) for tag, (a, b) in samples.items()}


async def run(repeats: int) -> None:
    with Azurite(queue=True) as azurite:
        off = TableStore.from_connection_string(azurite.connection_string, "b" + secrets.token_hex(5))
        on = TableStore.from_connection_string(azurite.connection_string, "b" + secrets.token_hex(5))
        queues = ChangeQueues.from_connection_string(azurite.queue_connection_string, "bench" + secrets.token_hex(3))
        relay = Relay(on, queues)
        relay.attach()
        sides = [Side(off, None, "off"), Side(on, relay, "on")]
        try:
            for side in sides:  # warm up: tables, the queue, the outbox partition markers
                await side.store.create_user(D, Resource(f"{side.tag}-warm", USER, "t", "t"))
                await side.store.create_group(D, Resource(side.group, {"displayName": side.tag}, "t", "t"), [])
                await side.settle()
            rows: list[tuple[str, dict[str, tuple[float, float]]]] = []
            total = repeats * MEMBERS_PER_ADD
            rows.append(("create user", await measure(sides, Side.create_user, total)))
            rows.append((f"add {MEMBERS_PER_ADD} members", await measure(sides, Side.add_members, repeats)))
            heads = ("feed off", "on: request", "ratio", "on: with relay", "ratio")
            print(f"{'operation':<16} {heads[0]:>9} {heads[1]:>12} {heads[2]:>6} {heads[3]:>15} {heads[4]:>6}")
            for name, result in rows:
                base, (request, full) = result["off"][0], result["on"]
                cells = f"{base:8.2f}ms {request:10.2f}ms {request / base:5.2f}x {full:13.2f}ms {full / base:5.2f}x"
                print(f"{name:<16} {cells}")
            print(f"events published: {relay.published}; outbox rows left: {len(await on.outbox_pending())}")
        finally:
            await relay.close()
            await off.close()
            await on.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=30, help="member adds (create user runs 10x as many)")
    args = parser.parse_args(argv)
    asyncio.run(run(args.repeats))


if __name__ == "__main__":
    main()
