"""In Azure the sweep is function_app's timer trigger: every minute, publishing what a dead host left behind."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.functions.timer import TimerRequest

from scim.app import install_app
from scim.dev.azurite import Azurite
from scim.dev.localrun import load_function_app
from tests.support.feed import open_feed

pytestmark = pytest.mark.azurite


async def test_the_timer_trigger_runs_the_sweep(azurite: Azurite) -> None:
    functions = load_function_app().app.get_functions()  # a fresh FunctionApp: get_functions runs once per app
    [timer] = [f for f in functions if f.get_function_name() == "change_feed_sweep"]
    binding = json.loads(timer.get_function_json())["bindings"][0]
    assert (timer.get_function_name(), binding["schedule"]) == ("change_feed_sweep", "0 */1 * * * *")

    feed = await open_feed("tables", azurite)
    install_app(feed.app)
    try:
        relay = feed.app.relay
        assert relay is not None
        store: Any = feed.app.store
        store.enable_outbox(lambda rows: None)  # this host dies before its relay publishes
        reply = await feed.http.post("/scim/v2/Users", {"userName": "tim@x.test"})
        assert reply.status == 201 and await feed.events() == []
        relay.sweep_min_age = 0.0  # in Azure the timer fires a minute later, when the row is a minute old
        await timer.get_user_function()(TimerRequest())
        [event] = await feed.events()
        assert (event["type"], event["version"]) == ("user.created", reply.headers["ETag"])
        assert await store.outbox_pending() == []
    finally:
        install_app(None)
        await feed.app.close()
        await feed.queues.close()
