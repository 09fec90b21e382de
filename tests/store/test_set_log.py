"""The SetLog contract (scim/store/base.py) on both stores: append order, idempotent jtis, range reads, positions,
purges, and directories kept apart."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from scim.dev.azurite import Azurite
from scim.model import SetPosition
from scim.protocol.sets import RESTAMP_SECONDS, key_at
from scim.store.memory import MemoryStore
from scim.store.tables import TableStore
from tests.support.store import table_store


async def test_appends_read_back_in_order_and_a_jti_is_kept_once(store: MemoryStore | TableStore) -> None:
    assert await store.set_append("d", [("a", "ta"), ("b", "tb")]) == 2
    assert await store.set_append("d", [("b", "tb-again"), ("c", "t" * 70_000)]) == 1  # a resent jti is skipped
    found = await store.set_read("d", after="", before=key_at(time.time() + 1), limit=10)
    assert [(e.jti, e.token[:2]) for e in found] == [("a", "ta"), ("b", "tb"), ("c", "tt")]
    assert len(found[2].token) == 70_000  # longer than one Table Storage property
    assert [e.key for e in found] == sorted(e.key for e in found)
    after_a = await store.set_read("d", after=found[0].key, before=key_at(time.time() + 1), limit=1)
    assert [e.jti for e in after_a] == ["b"]
    assert await store.set_read("d", after="", before=found[0].key, limit=10) == []
    assert await store.set_read("other", after="", before=key_at(time.time() + 1), limit=10) == []


async def test_positions_are_per_client_and_directory(store: MemoryStore | TableStore) -> None:
    assert await store.set_position("d", "c1") == SetPosition()
    await store.put_set_position("d", "c1", SetPosition("k1", ["x", "y"]))
    assert await store.set_position("d", "c1") == SetPosition("k1", ["x", "y"])
    assert await store.set_position("d", "c2") == SetPosition()
    assert await store.set_position("e", "c1") == SetPosition()


async def test_purge_forgets_old_sets_and_their_jtis(store: MemoryStore | TableStore) -> None:
    await store.set_append("d", [("old", "t1")])
    await asyncio.sleep(0.02)
    cut = key_at(time.time())
    await asyncio.sleep(0.02)
    await store.set_append("d", [("new", "t2")])
    assert await store.set_purge("d", cut) == 1
    assert [e.jti for e in await store.set_read("d", after="", before=key_at(time.time() + 1), limit=10)] == ["new"]
    assert await store.set_append("d", [("old", "t1")]) == 1  # purged, so appending it is new again


async def test_a_position_holds_a_thousand_out_of_order_acks(store: MemoryStore | TableStore) -> None:
    acked = [f"{i:08d}-0000-4000-8000-000000000000" for i in range(1000)]  # more than one Table property holds
    await store.put_set_position("d", "c1", SetPosition("k", acked))
    assert await store.set_position("d", "c1") == SetPosition("k", acked)


@pytest.mark.azurite
async def test_a_slow_append_is_moved_to_a_fresh_key(monkeypatch: pytest.MonkeyPatch, azurite: Azurite) -> None:
    """An append that retries held past RESTAMP_SECONDS may sit behind a position a poll already passed: the store
    moves it to a fresh key (Table Storage; the memory store appends at once)."""
    async with table_store(azurite) as store:
        real = store._io.transact
        slow = {"left": 1}

        async def transact(kind: Any, ops: Any, outgoing: Any = None) -> Any:
            done = await real(kind, ops, outgoing)
            if kind == "sets" and slow["left"]:
                slow["left"] -= 1
                await asyncio.sleep(RESTAMP_SECONDS + 0.05)
            return done

        monkeypatch.setattr(store._io, "transact", transact)
        before = time.time_ns()
        assert await store.set_append("d", [("j", "t")]) == 1
        (entry,) = await store.set_read("d", after="", before=key_at(time.time() + 1), limit=10)
        assert int(entry.key.split("|")[0]) > before + RESTAMP_SECONDS * 1e9  # keyed after the slow commit
        assert await store.set_append("d", [("j", "t")]) == 0  # its jti row still refuses a resend
        assert await store.set_purge("d", key_at(time.time() + 1)) == 1
        assert await store.set_append("d", [("j", "t")]) == 1
