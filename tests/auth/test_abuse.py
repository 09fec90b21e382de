"""The abuse corpus: every malformed, forged, stale or revoked credential is 401 (403 for networks), never 5xx."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jwt
import pytest

from scim.app import App, build_app, install_app
from scim.auth.clients import NewClient
from scim.config import load_settings
from scim.dev.azurite import Azurite
from scim.dev.localrun import seed
from scim.secrets import SIGNING_KEY_SECRET, MemorySecretStore
from scim.service.admin import AdminService
from scim.store.tables import TableStore
from tests.auth.helpers import b64, claims_for, get_token, sign, signing_key, token_request
from tests.support.app import BASE, CLIENT_ID, CLIENT_SECRET, Client
from tests.support.tenant import Tenant

USERS = "/scim/v2/Users"
Forge = Callable[[App, Tenant, AdminService], Awaitable[str]]


async def _valid(app: App, t: Tenant, admin: AdminService) -> str:
    assert t.http.token
    return t.http.token


async def _truncated(app: App, t: Tenant, admin: AdminService) -> str:
    return (await _valid(app, t, admin))[:-5]


async def _cut_in_half(app: App, t: Tenant, admin: AdminService) -> str:
    token = await _valid(app, t, admin)
    return token[: len(token) // 2]


async def _two_segments(app: App, t: Tenant, admin: AdminService) -> str:
    return (await _valid(app, t, admin)).rsplit(".", 1)[0]


async def _payload_swapped(app: App, t: Tenant, admin: AdminService) -> str:
    header, _, signature = (await _valid(app, t, admin)).split(".")
    forged = claims_for(app, t.client_id, "other")
    return f"{header}.{b64(json.dumps(forged).encode())}.{signature}"


def _signed(**changes: Any) -> Forge:
    async def forge(app: App, t: Tenant, admin: AdminService) -> str:
        kid, key = await signing_key(app)
        return sign(
            {"alg": "HS256", "typ": "JWT", "kid": kid}, claims_for(app, t.client_id, t.directory, **changes), key
        )

    return forge


def _header(header: dict[str, Any], digest: Any = hashlib.sha256) -> Forge:
    async def forge(app: App, t: Tenant, admin: AdminService) -> str:
        kid, key = await signing_key(app)
        return sign({"kid": kid, **header}, claims_for(app, t.client_id, t.directory), key, digest=digest)

    return forge


async def _alg_none(app: App, t: Tenant, admin: AdminService) -> str:
    kid, _ = await signing_key(app)
    # PyJWT signs alg none with the empty key.
    return jwt.encode(claims_for(app, t.client_id, t.directory), "", algorithm="none", headers={"kid": kid})


async def _wrong_key(app: App, t: Tenant, admin: AdminService) -> str:
    kid, _ = await signing_key(app)
    return sign({"alg": "HS256", "kid": kid}, claims_for(app, t.client_id, t.directory), "not-the-key-" * 4)


async def _retired_key(app: App, t: Tenant, admin: AdminService) -> str:
    kid, key = await signing_key(app)
    token = sign({"alg": "HS256", "kid": kid}, claims_for(app, t.client_id, t.directory), key)
    await app.secrets.add_version(SIGNING_KEY_SECRET, "replacement-key-" * 3)
    assert await app.secrets.disable_version(SIGNING_KEY_SECRET, kid)
    return token


async def _disabled_client(app: App, t: Tenant, admin: AdminService) -> str:
    token = await _valid(app, t, admin)
    await admin.update_client(t.client_id, disabled=True)
    return token


async def _deleted_client(app: App, t: Tenant, admin: AdminService) -> str:
    token = await _valid(app, t, admin)
    await admin.delete_client(t.client_id)
    return token


async def _revoked_long_lived(app: App, t: Tenant, admin: AdminService) -> str:
    issued = await admin.issue_token(t.client_id, long_lived=True)
    await admin.revoke_token(t.client_id, issued.token_id)
    return issued.token


async def _long_lived_of_deleted_client(app: App, t: Tenant, admin: AdminService) -> str:
    issued = await admin.issue_token(t.client_id, long_lived=True)
    await admin.delete_client(t.client_id)
    return issued.token


async def _long_lived_claiming_another_client(app: App, t: Tenant, admin: AdminService) -> str:
    """A long-lived token's key signing a token for another client: the key is looked up under the claimed client."""
    issued = await admin.issue_token(t.client_id, long_lived=True)
    other = await admin.create_client(NewClient("dev", ["any"]))
    own = next(v for v in await admin.keys.long_lived(t.client_id) if v.version == issued.token_id)
    claims = claims_for(app, other.client.id, "dev", typ="long-lived")
    return sign({"alg": "HS256", "kid": issued.token_id}, claims, own.value)


async def _long_lived_key_as_access(app: App, t: Tenant, admin: AdminService) -> str:
    """The same key with typ=access is looked up among signing keys, where it is not."""
    issued = await admin.issue_token(t.client_id, long_lived=True)
    own = next(v for v in await admin.keys.long_lived(t.client_id) if v.version == issued.token_id)
    return sign({"alg": "HS256", "kid": issued.token_id}, claims_for(app, t.client_id, t.directory), own.value)


async def _other_directory_claim(app: App, t: Tenant, admin: AdminService) -> str:
    await admin.ensure_directory("elsewhere")
    return await _signed(dir="elsewhere")(app, t, admin)


def _text(value: str) -> Forge:
    async def forge(app: App, t: Tenant, admin: AdminService) -> str:
        return value

    return forge


NOW = int(time.time())
TOKENS: dict[str, Forge] = {
    "garbled": _text("not-a-jwt"),
    "garbled three segments": _text("abc.def.ghi"),
    "garbled base64": _text("%%%.%%%.%%%"),
    "empty segments": _text(".."),
    "json array payload": _text(b64(b'{"alg":"HS256"}') + "." + b64(b"[]") + "." + b64(b"x")),
    "deeply nested header": _text(b64(b"[" * 2900) + "." + b64(b"{}") + "." + b64(b"x")),
    "deeply nested payload": _text(b64(b'{"alg":"HS256","kid":"k"}') + "." + b64(b'{"a":' * 700) + "." + b64(b"x")),
    "non-UTF-8 header": _text(b64(b"\xff\xfe\xfd") + "." + b64(b"{}") + "." + b64(b"x")),
    "four segments": _text("a.b.c.d"),
    "truncated": _truncated,
    "cut in half": _cut_in_half,
    "signature removed": _two_segments,
    "payload swapped": _payload_swapped,
    "expired": _signed(iat=NOW - 7200, nbf=NOW - 7200, exp=NOW - 3600),
    "expired just past leeway": _signed(exp=NOW - 31),
    "not yet valid": _signed(nbf=NOW + 3600, iat=NOW + 3600, exp=NOW + 7200),
    "alg none": _alg_none,
    "alg None capitalised": _header({"alg": "None"}),
    "RS256 header, HS256 signature": _header({"alg": "RS256"}),
    "ES256 header, HS256 signature": _header({"alg": "ES256"}),
    "HS512 header, HS256 signature": _header({"alg": "HS512"}),
    "HS512 signed with the real key": _header({"alg": "HS512"}, hashlib.sha512),
    "lower-case hs256": _header({"alg": "hs256"}),
    "no alg": _header({}),
    "unknown kid": _header({"alg": "HS256", "kid": "0" * 32}),
    "kid not a string": _header({"alg": "HS256", "kid": ["x"]}),
    "wrong key": _wrong_key,
    "wrong issuer": _signed(iss="https://attacker.example"),
    "wrong audience": _signed(aud="8adf8e6e-67b2-4cf2-a259-e3dc5476c621"),
    "audience list without scim": _signed(aud=["other"]),
    "missing exp": _signed(exp=None),
    "missing sub": _signed(sub=None),
    "missing typ": _signed(typ=None),
    "unknown typ": _signed(typ="refresh"),
    "sub not a string": _signed(sub=42),
    "dir not a string": _signed(dir=["dev"]),
    "directory the client is not in": _other_directory_claim,
    "rotated-out key": _retired_key,
    "disabled client": _disabled_client,
    "deleted client": _deleted_client,
    "revoked long-lived token": _revoked_long_lived,
    "long-lived token of a deleted client": _long_lived_of_deleted_client,
    "long-lived key claiming another client": _long_lived_claiming_another_client,
    "long-lived key as an access token": _long_lived_key_as_access,
}


async def _no_kid(app: App, t: Tenant, admin: AdminService) -> str:
    _, key = await signing_key(app)
    return sign({"alg": "HS256"}, claims_for(app, t.client_id, t.directory), key)


TOKENS["no kid"] = _no_kid


@pytest.mark.parametrize("case", list(TOKENS))
async def test_bad_bearer_tokens_are_401(app: App, admin: AdminService, tenant_a: Tenant, case: str) -> None:
    token = await TOKENS[case](app, tenant_a, admin)
    for method, url in (("GET", USERS), ("GET", "/scim/v2/Groups"), ("DELETE", f"{USERS}/x")):
        reply = await tenant_a.http.request(method, url, token=token)
        assert reply.status == 401, (case, reply.body)
        assert reply.headers.get("WWW-Authenticate", "").startswith("Bearer")
        assert token not in reply.body.decode(), "a response never echoes the token"


async def test_the_valid_token_works(tenant_a: Tenant) -> None:
    """The corpus's control: without the abuse, the same requests succeed."""
    assert (await tenant_a.http.get(USERS)).status == 200


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer ",
        "bearer",
        "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode(),
        "Token abc",
        "Bearer " + "a" * 5000,
        "Bearer " + "eyJ" + "A" * 65_000,
        "Bearer " + ".".join(["eyJhbGciOiJIUzI1NiJ9"] * 2000),
        "Bearer " + "x" * 1_000_000,
        "Bearer \u00e9\u00e8",
    ],
    ids=lambda h: f"{h[:20]!r}+{len(h)}",
)
async def test_malformed_and_oversized_authorization_is_401(app: App, header: str) -> None:
    reply = await Client(None).get(USERS, headers={"authorization": header} if header else {}, token=None)
    assert reply.status == 401, reply.body
    assert len(reply.body) < 1000


async def test_missing_authorization_is_401(app: App) -> None:
    assert (await Client(None).get(USERS, token=None)).status == 401


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [
        ("", ""),
        (CLIENT_ID, ""),
        (CLIENT_ID, "wrong"),
        (CLIENT_ID.upper(), CLIENT_SECRET),
        ("not-a-guid", CLIENT_SECRET),
        ("../../etc/passwd", "x"),
        ("' or 1 eq 1", "x"),
        ("a" * 5000, "x"),
        ("\u0000\n\r", "x"),
        (CLIENT_ID, "x" * 7000),
    ],
)
async def test_bad_client_credentials_are_401_or_400(app: App, client_id: str, secret: str) -> None:
    reply = await token_request(Client(None), client_id, secret)
    assert reply.status in (400, 401), reply.body
    assert "access_token" not in reply.json


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic !!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "Basic " + base64.b64encode(f"{CLIENT_ID}:wrong".encode()).decode(),
        "Basic " + "A" * 20_000,
    ],
)
async def test_bad_basic_headers_are_401(app: App, authorization: str) -> None:
    reply = await Client(None).post(
        "/oauth2/token",
        raw=b"grant_type=client_credentials",
        headers={"content-type": "application/x-www-form-urlencoded", "authorization": authorization},
        token=None,
    )
    assert reply.status == 401, reply.body


async def test_disabled_client_cannot_get_a_token(admin: AdminService, tenant_b: Tenant) -> None:
    await admin.update_client(tenant_b.client_id, disabled=True)
    assert (await token_request(Client(None), tenant_b.client_id, tenant_b.secret)).status == 401
    await admin.update_client(tenant_b.client_id, disabled=False)
    assert await get_token(Client(None), tenant_b.client_id, tenant_b.secret)


# Forwarded-address spoofing -----------------------------------------------------------------------

SPOOF_HEADERS = [
    {"x-forwarded-for": "10.1.2.3, 203.0.113.9"},  # a caller-chosen prefix before the front end's hop
    {"x-forwarded-for": "10.1.2.3,203.0.113.9:443"},
    {"x-forwarded-for": "203.0.113.9", "x-client-ip": "10.1.2.3"},
    {"x-forwarded-for": "203.0.113.9", "client-ip": "10.1.2.3"},
    {"x-forwarded-for": "203.0.113.9", "x-azure-clientip": "10.1.2.3", "x-azure-socketip": "10.1.2.3"},
    {"x-forwarded-for": "203.0.113.9", "forwarded": "for=10.1.2.3", "x-real-ip": "10.1.2.3"},
    {"x-forwarded-for": "10.1.2.3, not-an-ip"},
    {"x-forwarded-for": "10.1.2.3, "},
    {"x-forwarded-for": ""},
]


@pytest.fixture
async def fenced(admin: AdminService, tenant_b: Tenant) -> Tenant:
    """tenant_b limited to 10.0.0.0/8 and 2001:db8::/32."""
    await admin.update_client(tenant_b.client_id, networks=["10.0.0.0/8", "2001:db8::/32"])
    return tenant_b


@pytest.mark.parametrize("headers", SPOOF_HEADERS, ids=lambda h: repr(h)[:60])
async def test_forwarded_address_spoofing_is_403(fenced: Tenant, headers: dict[str, str]) -> None:
    reply = await fenced.http.get(USERS, headers=headers)
    assert reply.status == 403, reply.body
    body = f"grant_type=client_credentials&client_id={fenced.client_id}&client_secret={fenced.secret}"
    token = await Client(None).post(
        "/oauth2/token",
        raw=body.encode(),
        headers={"content-type": "application/x-www-form-urlencoded", **headers},
        token=None,
    )
    assert token.status == 403, token.body
    assert "access_token" not in token.json


@pytest.mark.parametrize(
    "address", ["10.1.2.3", "10.255.0.1:50123", "[2001:db8::7]:443", "2001:db8::7", "::ffff:10.0.0.1"]
)
async def test_allowed_networks_pass(fenced: Tenant, address: str) -> None:
    assert (await fenced.http.get(USERS, headers={"x-forwarded-for": f"198.51.100.1, {address}"})).status == 200
    assert (await token_request(Client(None), fenced.client_id, fenced.secret, address=address)).status == 200


async def test_a_forged_long_lived_token_for_an_unknown_client_never_reaches_the_secret_store(
    app: App, tenant_a: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random client ids in forged tokens cost a cached store read, not a Key Vault call each."""
    looked_up: list[str] = []
    versions = app.secrets.versions

    async def spy(name: str) -> Any:
        looked_up.append(name)
        return await versions(name)

    monkeypatch.setattr(app.secrets, "versions", spy)
    for n in range(5):
        forged_client = f"00000000-0000-4000-8000-{n:012d}"
        claims = {**claims_for(app, forged_client, "dev"), "typ": "long-lived"}
        token = sign({"alg": "HS256", "typ": "JWT", "kid": "a" * 32}, claims, "guessed-key")
        reply = await tenant_a.http.get(USERS, token=token)
        assert reply.status == 401, reply.body
    assert not [name for name in looked_up if name.startswith("ltt-")]


@pytest.mark.azurite
async def test_storage_down_at_the_token_endpoint_is_oauths_temporarily_unavailable(tmp_path: Path) -> None:
    """docs/security.md §2: Table Storage stopped (a real Azurite, stopped) is 503 `temporarily_unavailable` with
    Retry-After in OAuth's shape (RFC 6749 §5.2), not a SCIM error body, so Entra retries."""
    with Azurite(location=tmp_path / "azurite") as server:
        store = TableStore.from_connection_string(
            server.connection_string, "tokendown", retry_total=0, connection_timeout=1.0, read_timeout=2.0
        )
        app = build_app(
            load_settings({"SCIM_STORE": "memory", "SCIM_PUBLIC_BASE_URL": BASE}),
            store=store,
            secret_store=MemorySecretStore(),
        )
        await seed(app, CLIENT_ID, CLIENT_SECRET, "strict")
        app.clients.cache_for(0)  # every request reads the registry, as a cold instance does
        install_app(app)
        try:
            assert (await token_request(Client(None), CLIENT_ID, CLIENT_SECRET)).status == 200
            await asyncio.to_thread(server.stop)
            reply = await token_request(Client(None), CLIENT_ID, CLIENT_SECRET)
        finally:
            install_app(None)
            await app.close()
    assert reply.status == 503, reply.body
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.json["error"] == "temporarily_unavailable" and "retry" in reply.json["error_description"]
    assert reply.headers["Retry-After"].isdigit()
    assert "schemas" not in reply.json
