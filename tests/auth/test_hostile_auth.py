"""Hostile input to authentication, each case reproduced over the registered triggers and fixed:

* non-ASCII bytes in a Basic header were a 500 with a traceback, before the throttle counted them; a signed
  token whose exp is NaN or Infinity was a 500.
* the hand-written verifier accepted four encodings of one signature, and an unknown kid answered otherwise
  than a bad signature.
* the token endpoint stripped whitespace from a form secret and matched its content type by prefix.
"""

from __future__ import annotations

import math
import time
from urllib.parse import urlencode

import pytest

from scim.app import App
from scim.auth import tokens
from scim.auth.tokens import TokenService
from scim.secrets import SIGNING_KEY_SECRET, MemorySecretStore
from scim.service.admin import AdminService
from tests.auth.helpers import FORM, claims_for, sign, signing_key, token_request
from tests.support.app import CLIENT_ID, CLIENT_SECRET, Client, Reply

USERS = "/scim/v2/Users"
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


async def _basic(header: str) -> Reply:
    body = urlencode({"grant_type": "client_credentials"}).encode()
    headers = {"content-type": FORM, "authorization": header, "x-forwarded-for": "192.0.2.10"}
    return await Client(None).post("/oauth2/token", raw=body, headers=headers, token=None)


@pytest.mark.usefixtures("app")
@pytest.mark.parametrize("header", ["Basic Zm9vOmJhcg\u00e9=", "Basic \u00ff\u00fe", "Basic caf\u00e9:secret"])
async def test_non_ascii_basic_header_is_a_counted_401(header: str) -> None:
    first = await _basic(header)
    assert first.status == 401, first.body
    assert first.json["error"] == "invalid_client"
    assert b"Traceback" not in first.body
    statuses = [(await _basic(header)).status for _ in range(12)]
    assert 429 in statuses  # the address throttle counts malformed headers like wrong secrets


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
async def test_non_finite_times_in_a_signed_token_are_401(app: App, claim: str, value: float) -> None:
    kid, key = await signing_key(app)
    token = sign({"alg": "HS256", "typ": "JWT", "kid": kid}, claims_for(app, CLIENT_ID, "dev", **{claim: value}), key)
    reply = await Client(token).get(USERS)
    assert reply.status == 401, reply.body
    assert b"Traceback" not in reply.body


async def test_only_one_encoding_of_a_signature_verifies(app: App) -> None:
    token, _ = await app.tokens.issue(CLIENT_ID, "dev", ttl=3600)
    head, _, signature = token.rpartition(".")
    # A 32-byte HMAC is 43 base64url characters; the last one carries 2 unused bits, so 4 characters decode alike.
    variants = [f"{head}.{signature[:-1]}{c}" for c in B64URL if c != signature[-1]]
    accepted = [v for v in variants if (await Client(v).get(USERS)).status == 200]
    assert accepted == []
    assert (await Client(token).get(USERS)).status == 200


async def test_unknown_kid_and_bad_signature_answer_alike(app: App) -> None:
    kid, key = await signing_key(app)
    body = claims_for(app, CLIENT_ID, "dev")
    unknown_kid = await Client(sign({"alg": "HS256", "kid": "0123456789abcdef"}, body, key)).get(USERS)
    bad_signature = await Client(sign({"alg": "HS256", "kid": kid}, body, "not-the-key-" * 4)).get(USERS)
    assert unknown_kid.status == bad_signature.status == 401
    assert unknown_kid.json["detail"] == bad_signature.json["detail"]


@pytest.mark.usefixtures("app")
@pytest.mark.parametrize(
    "padded", [f" {CLIENT_SECRET}", f"{CLIENT_SECRET} ", f"{CLIENT_SECRET}\t", f"\n{CLIENT_SECRET}"]
)
async def test_a_form_secret_is_compared_as_sent(padded: str) -> None:
    reply = await token_request(Client(None), CLIENT_ID, padded)
    assert reply.status == 401, reply.body
    assert (await token_request(Client(None), CLIENT_ID, CLIENT_SECRET)).status == 200


@pytest.mark.usefixtures("app")
@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/x-www-form-urlencoded", 200),
        ("application/x-www-form-urlencoded; charset=UTF-8", 200),
        ("Application/X-WWW-Form-Urlencoded;charset=utf-8", 200),
        ("application/x-www-form-urlencodedjson", 400),
        ("application/x-www-form-urlencoded-evil", 400),
        ("application/x-www-form-urlencoded+json", 400),
        ("text/plain", 400),
    ],
)
async def test_the_form_content_type_matches_exactly(content_type: str, status: int) -> None:
    body = urlencode({"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    headers = {"content-type": content_type, "x-forwarded-for": "127.0.0.1"}
    reply = await Client(None).post("/oauth2/token", raw=body.encode(), headers=headers, token=None)
    assert reply.status == status, reply.body
    if status == 400:
        assert reply.json["error"] == "invalid_request"


# The verified-token cache must keep the bounds docs/security.md §7 states.


async def test_a_cached_token_stops_when_its_key_is_retired(app: App) -> None:
    token, _ = await app.tokens.issue(CLIENT_ID, "dev", ttl=3600)
    assert (await Client(token).get(USERS)).status == 200  # now cached
    kid, _ = await signing_key(app)
    await app.secrets.disable_version(SIGNING_KEY_SECRET, kid)
    assert (await Client(token).get(USERS)).status == 401


async def test_a_cached_long_lived_token_stops_when_revoked(app: App) -> None:
    admin = AdminService(app.store, app.clients, app.tokens)
    issued = await admin.issue_token(CLIENT_ID, long_lived=True)
    assert (await Client(issued.token).get(USERS)).status == 200
    await admin.revoke_token(CLIENT_ID, issued.token_id)
    assert (await Client(issued.token).get(USERS)).status == 401


async def test_a_cached_token_stops_when_its_client_is_disabled(app: App) -> None:
    token, _ = await app.tokens.issue(CLIENT_ID, "dev", ttl=3600)
    assert (await Client(token).get(USERS)).status == 200
    await app.clients.update(CLIENT_ID, disabled=True)
    assert (await Client(token).get(USERS)).status == 401


async def test_a_cached_token_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    service = TokenService(MemorySecretStore(), "https://issuer.example")
    await service.ensure_signing_key()
    token, ttl = await service.issue(CLIENT_ID, "dev", ttl=3600)
    assert (await service.verify(token)).client_id == CLIENT_ID
    later = time.time() + ttl + tokens.LEEWAY_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(Exception, match="expired"):
        await service.verify(token)


async def test_the_cache_is_bounded() -> None:
    service = TokenService(MemorySecretStore(), "https://issuer.example", verified_cache=3)
    await service.ensure_signing_key()
    issued = [(await service.issue(CLIENT_ID, "dev", ttl=3600))[0] for _ in range(5)]
    for token in issued + issued:
        assert (await service.verify(token)).directory == "dev"
    assert len(service._verified) == 3
