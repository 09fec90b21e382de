"""The relay tells the queue's refusal of a row (logged, the row stays, the rows after it go) from a bug (raised)."""

from __future__ import annotations

from typing import Any

import pytest

from scim.events.queue import ChangeQueues
from tests.support.feed import Feed

pytestmark = pytest.mark.azurite  # both variants publish to Azurite's queue service
TOO_LARGE = 70_000  # characters: above Queue Storage's 64 KiB message limit, so the service answers 413


class _Oversized:
    """The real queue, sent a text it refuses (413 RequestBodyTooLarge) for the first event, the others as they are."""

    def __init__(self, queues: ChangeQueues) -> None:
        self._queues = queues
        self._calls = 0

    async def send(self, directory: str, text: str) -> None:
        self._calls += 1
        await self._queues.send(directory, text + " " * TOO_LARGE if self._calls == 1 else text)

    async def close(self) -> None:
        pass


class _Buggy:
    """A publisher with a programming error: not a refusal by the queue."""

    async def send(self, directory: str, text: str) -> None:
        raise AttributeError("'NoneType' object has no attribute 'send_message'")

    async def close(self) -> None:
        pass


async def _two_users(feed: Feed) -> list[str]:
    ids = []
    for name in ("first@x.test", "second@x.test"):
        reply = await feed.http.post("/scim/v2/Users", {"userName": name})
        assert reply.status == 201
        ids.append(str(reply.json["id"]))
    return ids


async def test_a_row_the_queue_refuses_is_logged_and_left_and_the_next_row_is_sent(
    feed: Feed, caplog: pytest.LogCaptureFixture
) -> None:
    relay = feed.app.relay
    assert relay is not None
    relay.publisher = _Oversized(feed.queues)
    first, second = await _two_users(feed)
    await relay.flush()  # the publish right after each commit
    assert "the queue refused outbox row" in caplog.text
    assert [e["resourceId"] for e in await feed.events()] == [second]  # not held up by the refused row
    store: Any = feed.app.store
    assert [e["resourceId"] for row in await store.outbox_pending() for e in row.events] == [first]
    assert await relay.sweep(min_age=0) == 1  # the row stayed; sent once the queue takes it


async def test_a_programming_error_in_publishing_propagates_and_is_not_logged_as_a_refusal(
    feed: Feed, caplog: pytest.LogCaptureFixture
) -> None:
    relay = feed.app.relay
    assert relay is not None
    working, relay.publisher = relay.publisher, _Buggy()
    await _two_users(feed)
    await relay.flush()  # the publish right after each commit fails and leaves the rows to the sweep
    with pytest.raises(AttributeError, match="send_message"):
        await relay.sweep(min_age=0)
    assert "refused" not in caplog.text
    store: Any = feed.app.store
    assert len(await store.outbox_pending()) == 2  # both rows wait for a fixed publisher
    relay.publisher = working
    assert await relay.sweep(min_age=0) == 2
