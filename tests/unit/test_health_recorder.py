"""The health record's writer: at most one write a minute per directory, never on the request path."""

from __future__ import annotations

import asyncio

from scim.service.health import HealthRecord, Observation
from scim.service.health_recorder import COALESCE, WRITE_EVERY, HealthRecorder
from scim.store.memory import MemoryStore
from tests.support.app import Client


def test_a_steady_stream_is_written_once_a_minute_per_directory() -> None:
    now = [0.0]
    store = MemoryStore()
    recorder = HealthRecorder(store, instance="i1", clock=lambda: now[0])
    loop = asyncio.new_event_loop()
    try:
        for second in range(0, 600):  # ten minutes, two directories, a request a second each
            now[0] = float(second)
            recorder.observe(Observation("a", None, "user.get", 200))
            recorder.observe(Observation("b", None, "user.get", 500))
            loop.run_until_complete(recorder.write_due())
        assert recorder.writes == 2 * 10  # the first after COALESCE seconds, then one a minute each
        loop.run_until_complete(recorder.close())
        records = loop.run_until_complete(store.health_records("b"))
    finally:
        loop.close()
    assert COALESCE < WRITE_EVERY
    (record,) = [HealthRecord.from_json(text) for text in records.values()]
    assert sum(t.server_errors for t in record.buckets.values()) == 600  # close() wrote the last requests


async def test_a_request_does_not_wait_for_the_write(client: Client, app: object) -> None:
    assert (await client.get("/scim/v2/Users")).status == 200
    store = app.store  # type: ignore[attr-defined]
    assert await store.health_records("dev") == {}  # written later, by the background task
    await app.health.close()  # type: ignore[attr-defined]
    assert len(await store.health_records("dev")) == 1


async def test_the_first_write_forgets_records_of_instances_gone_for_days() -> None:
    store = MemoryStore()
    old, recent = HealthRecord(), HealthRecord()
    old.observe(1_000.0, Observation("dev", None, "user.get", 200))
    now = 1_000.0 + 3 * 86_400
    recent.observe(now - 3_600, Observation("dev", None, "user.get", 200))
    await store.put_health("dev", "gone", old.to_json(now))
    await store.put_health("dev", "other", recent.to_json(now))
    recorder = HealthRecorder(store, instance="me", clock=lambda: now)
    recorder.observe(Observation("dev", None, "user.get", 200))
    await recorder.close()
    assert set(await store.health_records("dev")) == {"other", "me"}
