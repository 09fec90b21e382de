"""The health record's cost (docs/runbook.md "Health verdict"): storage writes per 1,000 requests, and CPU per
request through function_app's triggers with the record against the same requests without it.

Writes: requests to one directory at a steady rate on a simulated clock (Entra's gallery target is 25 requests per
second per tenant in a cycle; slower rates shown too), the recorder's own schedule deciding when to write.
CPU: process time per request of GET /Users and PATCH /Users/{id} (memory store), median of REPEATS batches
each way, interleaved; printed as a ratio with/without (1.00 is no cost; the machine is noisy).

Run: .venv/bin/python -m bench.bench_health
"""

from __future__ import annotations

import asyncio
import statistics
import time

from bench.bench_inprocess import Call, make_users, patch, setup
from scim.service.health import Observation
from scim.service.health_recorder import HealthRecorder
from scim.store.memory import MemoryStore

RATES = (25.0, 5.0, 1.0)  # requests per second
REQUESTS = 10_000
BATCH = 300
REPEATS = 7


def writes_per_thousand(rate: float) -> float:
    """Writes of the record per 1,000 requests arriving at ``rate`` per second (simulated time, real recorder)."""
    now = [0.0]
    recorder = HealthRecorder(MemoryStore(), clock=lambda: now[0])
    loop = asyncio.new_event_loop()
    try:
        for i in range(REQUESTS):
            now[0] = i / rate
            # Called outside the running loop, so the recorder starts no timer of its own; write_due stands in.
            recorder.observe(Observation("dev", "client", "user.patch", 204))
            loop.run_until_complete(recorder.write_due())
        loop.run_until_complete(recorder.close())
    finally:
        loop.close()
    return recorder.writes * 1000 / REQUESTS


async def cpu_per_request() -> tuple[float, float, int]:
    """Median process time per request (µs) with the record and without it, and the writes made meanwhile."""
    app, triggers = await setup()
    recorder = app.health
    ids = await make_users(triggers, 50, "health")
    calls = [Call("GET", "/scim/v2/Users?count=10")] + [
        Call("PATCH", f"/scim/v2/Users/{i}", patch({"op": "Replace", "path": "active", "value": "False"})) for i in ids
    ]

    async def batch() -> float:
        started = time.process_time()
        for n in range(BATCH):
            call = calls[n % len(calls)]
            await triggers.send(call, 200, 204)
        return (time.process_time() - started) / BATCH * 1e6

    timings: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(REPEATS):
        for on in (True, False):
            app.health = recorder if on else None
            timings[on].append(await batch())
    app.health = recorder
    await app.close()
    assert isinstance(recorder, HealthRecorder)
    return statistics.median(timings[True]), statistics.median(timings[False]), recorder.writes


def main() -> None:
    for rate in RATES:
        print(f"writes per 1,000 requests at {rate:g} requests/s: {writes_per_thousand(rate):.2f}")
    with_record, without, writes = asyncio.run(cpu_per_request())
    print(f"CPU per request: {with_record:.0f} µs with the record, {without:.0f} µs without")
    print(f"ratio with/without: {with_record / without:.3f} ({REPEATS * BATCH} requests each way; {writes} writes)")


if __name__ == "__main__":
    main()
