"""Signed change events (docs/integration.md "Signed events"): RFC 9967 SETs verified with PyJWT against the served
JWKS, RFC 8936 polls with acknowledgements per client, replay, retention, and the refusals; on both stores."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import jwt
import pytest

import scim.auth.keyring
import scim.events.signed
from scim.auth.clients import NewClient
from scim.errors import StoreUnavailable
from scim.protocol.sets import CREATE_NOTICE, DEACTIVATE, DELETE, PATCH_NOTICE, audience
from scim.service.admin import AdminService
from scim.service.events import EventPolls
from scim.store.base import OutboxStore, SetLog
from tests.auth.helpers import token_request
from tests.support.app import BASE, Client
from tests.support.feed import Feed

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
EVENTS = "/scim/v2/Events"


@pytest.fixture(autouse=True)
def quick(feed: Feed, monkeypatch: pytest.MonkeyPatch) -> None:
    """Polls see a SET at once and wait briefly; a directory's new format applies at once."""
    monkeypatch.setattr(scim.events.signed, "FORMAT_CACHE_SECONDS", 0.0)
    feed.app.events = EventPolls(feed.app.store, retention=timedelta(days=7), wait=0.3, settle=0.0)  # type: ignore[arg-type]


def admin(feed: Feed) -> AdminService:
    return AdminService(feed.app.store, feed.app.clients, feed.app.tokens)


async def reader(feed: Feed, directory: str = "dev") -> tuple[str, Client]:
    """A read-only client of the directory, signed in with its own token (as a consumer would be)."""
    made = await admin(feed).create_client(NewClient(directory, ["any"], read_only=True))
    http = Client(None)
    reply = await token_request(http, made.client.id, made.secret)
    http.token = reply.json["access_token"]
    return made.client.id, http


async def opt_in(feed: Feed, event_format: str = "both", directory: str = "dev") -> None:
    await admin(feed).set_policy(directory, policy=None, role_mode=None, event_format=event_format)  # type: ignore[arg-type]


async def poll(http: Client, **body: Any) -> dict[str, Any]:
    reply = await http.post(EVENTS, {"returnImmediately": True} | body)
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"].startswith("application/json")
    return reply.json  # type: ignore[no-any-return]


async def jwks(feed: Feed) -> dict[str, jwt.PyJWK]:
    reply = await Client(None).get(f"{EVENTS}/jwks")
    assert reply.status == 200
    return {k["kid"]: jwt.PyJWK(k) for k in reply.json["keys"]}


def verify(token: str, keys: dict[str, jwt.PyJWK], directory: str = "dev") -> dict[str, Any]:
    """What a consumer does: the key by kid from the JWKS, ES256 pinned, issuer and audience checked."""
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "secevent+jwt" and header["alg"] == "ES256"
    claims: dict[str, Any] = jwt.decode(
        token, keys[header["kid"]], algorithms=["ES256"], audience=audience(directory), issuer=BASE
    )
    return claims


async def create_user(feed: Feed, name: str) -> str:
    reply = await feed.http.post("/scim/v2/Users", {"schemas": [USER], "userName": name})
    assert reply.status == 201, reply.body
    await feed.app.relay.flush()  # type: ignore[union-attr]
    return str(reply.json["id"])


async def test_sets_verify_against_the_jwks_and_both_keeps_the_queue(feed: Feed) -> None:
    await opt_in(feed, "both")
    _, http = await reader(feed)
    uid = await create_user(feed, "ana@x.test")
    off = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]}
    assert (await feed.http.patch(f"/scim/v2/Users/{uid}", off)).status == 204
    name = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "Ana"}]}
    assert (await feed.http.patch(f"/scim/v2/Users/{uid}", name)).status == 204
    assert (await feed.http.delete(f"/scim/v2/Users/{uid}")).status == 204
    v1 = await feed.events()
    assert [e["type"] for e in v1] == ["user.created", "user.disabled", "user.updated", "user.deleted"]

    got = await poll(http)
    assert list(got["sets"]) == [e["id"] for e in v1] and got["moreAvailable"] is False  # jti = the v1 id, in order
    keys = await jwks(feed)
    claims = [verify(t, keys) for t in got["sets"].values()]
    assert [next(iter(c["events"])) for c in claims] == [CREATE_NOTICE, DEACTIVATE, PATCH_NOTICE, DELETE]
    first = claims[0]
    assert first["sub_id"] == {"format": "scim", "uri": f"/Users/{uid}"}
    assert first["events"][CREATE_NOTICE]["ref"] == f"{BASE}/scim/v2/Users/{uid}"
    assert first["events"][CREATE_NOTICE]["attributes"] == ["userName"]
    assert first["events"][CREATE_NOTICE]["version"] == v1[0]["version"]
    assert claims[2]["events"][PATCH_NOTICE]["attributes"] == ["displayName"]
    assert len({c["txn"] for c in claims}) == 4


async def test_a_rotated_key_signs_and_the_old_one_verifies_until_retired(
    feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    await opt_in(feed, "set")
    _, http = await reader(feed)
    await create_user(feed, "one@x.test")
    assert await feed.events() == []  # "set" alone sends nothing to the queue
    before = await poll(http)
    monkeypatch.setattr(scim.auth.keyring, "KEY_PROPAGATION_SECONDS", 0)  # the new key signs at once
    ring = feed.app.event_signer.keyring(timedelta(days=7))
    made = await ring.rotate()
    await create_user(feed, "two@x.test")
    after = await poll(http)
    assert len(after["sets"]) == 2  # nothing acknowledged yet: both again
    keys = await jwks(feed)
    assert len(keys) == 2 and made.version in keys
    tokens = list(after["sets"].values())
    assert jwt.get_unverified_header(tokens[0])["kid"] != made.version
    assert jwt.get_unverified_header(tokens[1])["kid"] == made.version
    assert [verify(t, keys)["jti"] for t in tokens] == list(after["sets"])
    assert list(before["sets"]) == list(after["sets"])[:1]

    await asyncio.sleep(0.01)
    retired = await ring.retire(timedelta(0), force=True)
    assert [k.version for k in retired] != [made.version] and len(retired) == 1
    assert list(await jwks(feed)) == [made.version]  # a SET of the retired key no longer verifies
    with pytest.raises(KeyError):
        verify(tokens[0], await jwks(feed))


async def test_each_client_resumes_from_its_own_position_under_concurrent_writes(feed: Feed) -> None:
    await opt_in(feed, "set")
    a_id, a = await reader(feed)
    _, b = await reader(feed)
    writing = asyncio.gather(*(create_user(feed, f"u{i}@x.test") for i in range(30)))
    applied: list[str] = []
    pending: list[str] = []
    seen_after_ack: list[str] = []
    for round_ in range(200):
        got = await poll(a, ack=pending, maxEvents=4)
        seen_after_ack += [j for j in got["sets"] if j in applied]
        applied += pending
        pending = list(got["sets"])
        if round_ == 5:  # the consumer stops without acknowledging its batch, and a new process takes over
            a = Client(a.token)
            pending = []
        if writing.done() and not got["sets"] and not got["moreAvailable"]:
            break
        await asyncio.sleep(0)
    await writing
    await feed.app.relay.flush()  # type: ignore[union-attr]
    everything = await poll(b, maxEvents=1000)
    assert len(everything["sets"]) == 30  # b acknowledged nothing: it sees every SET, a took none from it
    assert sorted(applied) == sorted(everything["sets"])  # a lost nothing
    assert len(applied) == len(set(applied))  # and applied nothing twice
    assert seen_after_ack == []  # an acknowledged SET is never delivered again
    position = await cast(SetLog, feed.app.store).set_position("dev", a_id)
    assert position.acked == []


async def test_acknowledging_out_of_order_and_set_errors(feed: Feed) -> None:
    await opt_in(feed, "set")
    _, http = await reader(feed)
    for i in range(4):
        await create_user(feed, f"o{i}@x.test")
    await feed.app.relay.flush()  # type: ignore[union-attr]
    jtis = list((await poll(http))["sets"])
    got = await poll(http, ack=[jtis[2]], setErrs={jtis[0]: {"err": "invalid_request", "description": "x"}})
    assert list(got["sets"]) == [jtis[1], jtis[3]]
    got = await poll(http, ack=[jtis[1], jtis[3]])
    assert got == {"sets": {}, "moreAvailable": False}
    assert (await poll(http, maxEvents=0)) == {"sets": {}, "moreAvailable": False}


async def test_replay_from_a_point_and_retention(feed: Feed) -> None:
    await opt_in(feed, "set")
    client_id, http = await reader(feed)
    await create_user(feed, "early@x.test")
    await feed.app.relay.flush()  # type: ignore[union-attr]
    await asyncio.sleep(0.01)
    middle = datetime.now(UTC)
    await asyncio.sleep(0.01)
    await create_user(feed, "late@x.test")
    await feed.app.relay.flush()  # type: ignore[union-attr]
    jtis = list((await poll(http))["sets"])
    assert (await poll(http, ack=jtis))["sets"] == {}

    await feed.app.events.replay("dev", client_id, middle)
    assert list((await poll(http))["sets"]) == jtis[1:]
    await feed.app.events.replay("dev", client_id, middle - timedelta(days=30))  # clamped to the window
    assert list((await poll(http))["sets"]) == jtis

    short = EventPolls(cast(SetLog, feed.app.store), retention=timedelta(seconds=0.05), settle=0.0)
    await asyncio.sleep(0.1)
    assert await short.purge_all(await feed.app.store.list_directories()) == 2
    assert (await poll(http))["sets"] == {}


async def test_another_directorys_sets_are_never_visible(feed: Feed) -> None:
    await admin(feed).ensure_directory("other", event_format="set")
    await opt_in(feed, "set")
    _, mine = await reader(feed)
    _, theirs = await reader(feed, "other")
    await create_user(feed, "ana@x.test")
    await feed.app.relay.flush()  # type: ignore[union-attr]
    assert len((await poll(mine))["sets"]) == 1
    assert (await poll(theirs))["sets"] == {}


async def test_v1_directories_append_no_sets(feed: Feed) -> None:
    _, http = await reader(feed)
    await create_user(feed, "ana@x.test")
    assert len(await feed.events()) == 1
    assert (await poll(http))["sets"] == {}


@pytest.mark.parametrize(
    ("method", "path", "body", "who", "status"),
    [
        ("POST", EVENTS, {}, "full", 403),
        ("POST", EVENTS, {}, "nobody", 401),
        ("GET", EVENTS, None, "reader", 405),
        ("POST", f"{EVENTS}/jwks", {}, "nobody", 405),
        ("GET", f"{EVENTS}/nope", None, "nobody", 404),
        ("POST", EVENTS, {"maxEvents": -1}, "reader", 400),
        ("POST", EVENTS, {"maxEvents": True}, "reader", 400),
        ("POST", EVENTS, {"ack": "jti"}, "reader", 400),
        ("POST", EVENTS, {"setErrs": {"j": "bad"}}, "reader", 400),
        ("POST", EVENTS, {"returnImmediately": "yes"}, "reader", 400),
        ("POST", EVENTS, {"other": 1}, "reader", 400),
        ("POST", EVENTS, {"ack": ["j"] * 2001}, "reader", 400),
        ("POST", EVENTS, [], "reader", 400),
    ],
)
async def test_refusals_are_scim_errors(feed: Feed, method: str, path: str, body: Any, who: str, status: int) -> None:
    _, http = await reader(feed)
    token = {"full": feed.http.token, "nobody": None, "reader": http.token}[who]
    reply = await Client(token).request(method, path, body=body)
    assert reply.status == status, reply.body
    assert reply.json["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


async def test_a_poll_waits_briefly_for_a_first_set(feed: Feed) -> None:
    await opt_in(feed, "set")
    _, http = await reader(feed)
    started = time.monotonic()
    reply = await http.post(EVENTS, {"returnImmediately": False})
    assert reply.json == {"sets": {}, "moreAvailable": False}
    assert 0.25 <= time.monotonic() - started < 5


async def test_a_failed_append_keeps_the_outbox_row_and_a_resend_is_not_duplicated(
    feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    await opt_in(feed, "set")
    _, http = await reader(feed)
    relay = feed.app.relay
    assert relay is not None and relay.sets is not None
    store = relay.sets._store  # the raw store the relay appends to
    real = store.set_append

    async def unavailable(directory: str, pairs: list[tuple[str, str]]) -> int:
        raise StoreUnavailable("the SET log does not answer")

    monkeypatch.setattr(store, "set_append", unavailable)
    await create_user(feed, "ana@x.test")
    rows = await cast(OutboxStore, feed.app.store).outbox_pending(min_age=0)
    assert len(rows) == 1  # at least once: the row waits for the sweep
    monkeypatch.setattr(store, "set_append", real)
    await relay.sets.append(rows[0])  # appended once already, as a relay that died before deleting the row would
    assert await relay.sweep(min_age=0) == 1
    assert await cast(OutboxStore, feed.app.store).outbox_pending(min_age=0) == []
    got = await poll(http)
    assert list(got["sets"]) == [rows[0].events[0]["id"]]  # one SET for the jti, however often it was appended
