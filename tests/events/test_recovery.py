"""At least once: a host killed between commit and publish, or a publish that fails, loses no event."""

from __future__ import annotations

import asyncio
import sys
import uuid
from asyncio.subprocess import PIPE
from pathlib import Path
from typing import Any

import pytest

from scim.app import install_app
from scim.dev.azurite import Azurite
from scim.model import MemberChange, Resource
from scim.store.tables import TableStore
from tests.events.crash_after_commit import KILLED
from tests.support.faults import FaultyTransport, When
from tests.support.feed import fresh_prefix, open_feed

SCRIPT = Path(__file__).with_name("crash_after_commit.py")
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.azurite


async def test_a_host_killed_after_commit_delivers_the_event_on_restart(azurite: Azurite) -> None:
    prefix, user_id = fresh_prefix(), str(uuid.uuid4())
    died = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), azurite.connection_string, prefix, user_id, cwd=ROOT, stderr=PIPE
    )
    _, stderr = await asyncio.wait_for(died.communicate(), timeout=60)
    assert died.returncode == KILLED, stderr.decode()
    feed = await open_feed("tables", azurite, prefix)  # the restarted host, on the same tables
    try:
        stored = await feed.app.store.get_user("dev", user_id)
        assert stored is not None  # the write committed before the kill
        assert await feed.events() == []  # nothing was published before the kill
        assert feed.app.relay is not None
        assert await feed.app.relay.sweep(min_age=0) == 1
        [event] = await feed.events()
        assert (event["type"], event["resourceId"], event["sequence"]) == ("user.created", user_id, 1)
        assert event["version"] == stored.version  # recovered rows still name the version the commit made
        assert await feed.app.relay.sweep(min_age=0) == 0  # published once, then gone from the outbox
    finally:
        await feed.app.close()
        await feed.queues.close()


class _Down:
    """A queue service that does not answer."""

    async def send(self, directory: str, text: str) -> None:
        raise OSError("queue down")

    async def close(self) -> None:
        pass


@pytest.mark.parametrize("kind", ["memory", "tables"])
async def test_a_failed_publish_leaves_the_row_for_the_sweep(azurite: Azurite, kind: str) -> None:
    feed = await open_feed(kind, azurite)
    install_app(feed.app)
    try:
        assert feed.app.relay is not None
        working = feed.app.relay.publisher
        feed.app.relay.publisher = _Down()
        reply = await feed.http.post("/scim/v2/Users", {"userName": "lu@x.test"})
        assert reply.status == 201  # the write stands; the feed catches up later
        await feed.app.relay.flush()
        store: Any = feed.app.store
        assert len(await store.outbox_pending()) == 1
        feed.app.relay.publisher = working
        assert await feed.app.relay.sweep(min_age=0) == 1
        [event] = await feed.events()
        assert (event["type"], event["version"]) == ("user.created", reply.headers["ETag"])
    finally:
        install_app(None)
        await feed.app.close()
        await feed.queues.close()


async def test_the_sweep_leaves_rows_younger_than_its_minimum_age(azurite: Azurite) -> None:
    """Rows a live host is publishing right now are not sent a second time by the timer's sweep."""
    prefix = fresh_prefix()
    store = TableStore.from_connection_string(azurite.connection_string, prefix)
    store.enable_outbox(lambda rows: None)  # a host still busy publishing
    try:
        await store.create_user("dev", Resource(str(uuid.uuid4()), {"userName": "mo@x.test"}, "t", "t"))
        assert await store.outbox_pending(min_age=60) == []
        assert len(await store.outbox_pending(min_age=0)) == 1
    finally:
        await store.close()


@pytest.mark.parametrize("when", ["before", "after"])
async def test_a_lost_transaction_publishes_only_what_committed(azurite: Azurite, when: When) -> None:
    """Lost on the way in: nothing committed, no event. Lost on the way back: it committed, the sweep sends it."""
    from azure.data.tables.aio import TableServiceClient

    from scim.errors import StoreUnavailable
    from scim.store.tables import client_options

    transport = FaultyTransport()
    options = client_options(retry_total=0, connection_timeout=3, read_timeout=10)
    service = TableServiceClient.from_connection_string(azurite.connection_string, transport=transport, **options)
    store = TableStore(service, fresh_prefix())
    sent: list[Any] = []
    store.enable_outbox(sent.extend)
    try:
        await store.get_user("dev", "warm-up")  # creates the tables
        await store.create_user("dev", Resource("u0", {"userName": "first@x.test"}, "t", "t"))  # records the partition
        sent.clear()
        transport.arm(1, when)
        with pytest.raises(StoreUnavailable):
            await store.create_user("dev", Resource("u1", {"userName": "nu@x.test"}, "t", "t"))
        assert sent == []  # the request path publishes nothing it did not see commit
        pending = [e["resourceId"] for row in await store.outbox_pending(min_age=0) for e in row.events]
        assert pending == (["u0", "u1"] if when == "after" else ["u0"])
        assert (await store.get_user("dev", "u1") is not None) == (when == "after")
    finally:
        await store.close()


async def test_member_changes_beyond_one_transaction_each_publish_their_members(azurite: Azurite) -> None:
    """A change of more members than one transaction holds: every transaction keeps room for its outbox row."""
    store = TableStore.from_connection_string(azurite.connection_string, fresh_prefix())
    rows: list[Any] = []
    store.enable_outbox(rows.extend)
    try:
        ids = [f"u{n:04d}" for n in range(230)]
        for uid in ids:
            await store.create_user("dev", Resource(uid, {"userName": f"{uid}@x.test"}, "t", "t"))
        await store.create_group("dev", Resource("g", {"displayName": "Big"}, "t", "t"), ids[:120])
        rows.clear()
        change = MemberChange(add=ids[120:], remove=ids[:70])
        group = await store.update_group(
            "dev", "g", data=None, last_modified="t", members=change, expected_version=None
        )
        assert group is not None
        events = [e for row in rows for e in row.events]
        added = [m for e in events if e["type"] == "member.added" for m in e["members"]]
        removed = [m for e in events if e["type"] == "member.removed" for m in e["members"]]
        assert sorted(added) == ids[120:] and sorted(removed) == ids[:70]
        # No If-Match: an unconditional merge, unnumbered; every transaction's events name the first's version.
        assert {e["sequence"] for e in events} == {None} and {e["version"] for e in events} == {group.version}
        after = await store.get_group("dev", "g", with_members=True)
        assert after is not None and after.members == ids[70:]
    finally:
        await store.close()
