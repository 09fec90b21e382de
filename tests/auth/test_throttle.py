"""Failed client authentication is slowed, then refused (429 + Retry-After); good clients elsewhere are untouched."""

from __future__ import annotations

import logging

import pytest

from scim.app import App
from scim.auth import throttle as throttle_module
from scim.auth.throttle import (
    ADDRESS_FREE_FAILURES,
    MAX_LOCK_SECONDS,
    PAIR_FREE_FAILURES,
    WINDOW_SECONDS,
    FailureThrottle,
)
from tests.auth.helpers import token_request
from tests.support.app import CLIENT_ID, CLIENT_SECRET, Client
from tests.support.tenant import Tenant

ATTACKER = "198.51.100.66"
GOOD = "203.0.113.10"
BAD_SECRET = "guess-" + "g" * 30


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_free_failures_then_doubling_locks_capped_at_the_window() -> None:
    clock = Clock()
    throttle = FailureThrottle(clock)
    for _ in range(PAIR_FREE_FAILURES):
        assert throttle.check(CLIENT_ID, ATTACKER) is None
        throttle.failed(CLIENT_ID, ATTACKER)
    assert throttle.check(CLIENT_ID, ATTACKER) is None
    waits = []
    for _ in range(10):
        throttle.failed(CLIENT_ID, ATTACKER)
        verdict = throttle.check(CLIENT_ID, ATTACKER)
        assert verdict is not None
        waits.append(verdict.retry_after)
        clock.now += verdict.retry_after
        assert throttle.check(CLIENT_ID, ATTACKER) is None  # the lock ends when Retry-After says
    assert waits[:4] == [2, 4, 8, 16]
    assert waits[-2:] == [MAX_LOCK_SECONDS] * 2  # slowed, then refused five minutes at a time


def test_the_window_slides() -> None:
    clock = Clock()
    throttle = FailureThrottle(clock)
    for _ in range(PAIR_FREE_FAILURES):
        throttle.failed(CLIENT_ID, ATTACKER)
    clock.now += WINDOW_SECONDS + 1
    assert throttle.failed(CLIENT_ID, ATTACKER) == 1  # the old failures left the window
    assert throttle.check(CLIENT_ID, ATTACKER) is None


def test_dimensions_are_separate() -> None:
    throttle = FailureThrottle(Clock())
    for _ in range(PAIR_FREE_FAILURES + 1):
        throttle.failed(CLIENT_ID, ATTACKER)
    assert throttle.check(CLIENT_ID, ATTACKER) is not None
    assert throttle.check(CLIENT_ID, GOOD) is None  # same client id, another address
    assert throttle.check("5f0c2a1e-9b7d-4c3e-8a6f-1d2e3f4a5b6c", ATTACKER) is None  # address not yet over its budget
    throttle.succeeded(CLIENT_ID, ATTACKER)
    assert throttle.check(CLIENT_ID, ATTACKER) is None


def test_ipv6_addresses_share_their_64() -> None:
    throttle = FailureThrottle(Clock())
    for i in range(PAIR_FREE_FAILURES + 1):
        throttle.failed(CLIENT_ID, f"2001:db8:1:2::{i + 1}")
    assert throttle.check(CLIENT_ID, "2001:db8:1:2:ffff::9") is not None
    assert throttle.check(CLIENT_ID, "2001:db8:1:3::1") is None


def test_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle_module, "MAX_TRACKED_KEYS", 50)
    throttle = FailureThrottle(Clock())
    for i in range(200):
        throttle.failed(None, f"10.0.{i // 256}.{i % 256}")
    assert len(throttle._tracks) <= 50


@pytest.fixture
def clock(app: App) -> Clock:
    fake = Clock()
    app.token_endpoint.throttle = FailureThrottle(fake)
    return fake


async def test_bad_secrets_are_slowed_then_refused_and_good_clients_are_not(
    app: App, clock: Clock, tenant_b: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    http = Client(None)
    statuses = []
    for _ in range(PAIR_FREE_FAILURES + 3):
        reply = await token_request(http, CLIENT_ID, BAD_SECRET, address=ATTACKER)
        statuses.append(reply.status)
    assert statuses[: PAIR_FREE_FAILURES + 1] == [401] * (PAIR_FREE_FAILURES + 1)
    assert statuses[PAIR_FREE_FAILURES + 1 :] == [429, 429]
    refused = await token_request(http, CLIENT_ID, CLIENT_SECRET, address=ATTACKER)
    assert refused.status == 429  # even the right secret waits: the lock is checked before the secret
    assert refused.json["error"] == "slow_down"
    assert int(refused.headers["Retry-After"]) == 2
    # The same client id from its real address, and another client, are unaffected.
    assert (await token_request(http, CLIENT_ID, CLIENT_SECRET, address=GOOD)).status == 200
    assert (await token_request(http, tenant_b.client_id, tenant_b.secret, address=GOOD)).status == 200
    clock.now += 2
    assert (await token_request(http, CLIENT_ID, CLIENT_SECRET, address=ATTACKER)).status == 200
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "bad credentials for client " + CLIENT_ID in text
    assert BAD_SECRET not in text and CLIENT_SECRET not in text and tenant_b.secret not in text


async def test_spraying_client_ids_from_one_address_is_refused(app: App, clock: Clock, tenant_b: Tenant) -> None:
    http = Client(None)
    ids = [f"00000000-0000-4000-8000-{i:012d}" for i in range(ADDRESS_FREE_FAILURES + 1)]
    for client_id in ids:
        assert (await token_request(http, client_id, BAD_SECRET, address=ATTACKER)).status == 401
    assert (await token_request(http, ids[0][:-1] + "f", BAD_SECRET, address=ATTACKER)).status == 429
    assert (await token_request(http, tenant_b.client_id, tenant_b.secret, address=GOOD)).status == 200


async def test_a_flood_against_a_client_id_from_many_addresses_never_locks_out_its_owner(
    app: App, clock: Clock
) -> None:
    http = Client(None)
    for i in range(60):
        reply = await token_request(http, CLIENT_ID, BAD_SECRET, address=f"192.0.2.{i}")
        assert reply.status == 401
    assert (await token_request(http, CLIENT_ID, CLIENT_SECRET, address=GOOD)).status == 200


async def test_junk_client_ids_are_logged_quoted(app: App, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    await token_request(Client(None), "evil\nFAKE LOG LINE", BAD_SECRET, address=ATTACKER)
    messages = [r.getMessage() for r in caplog.records if "bad credentials" in r.getMessage()]
    assert messages and "\n" not in messages[0] and "'evil\\nFAKE LOG LINE'" in messages[0]
