"""Helpers for the access-control suites: token requests through the real trigger, and hand-made JWTs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from scim.app import App
from scim.secrets import SIGNING_KEY_SECRET
from tests.support.app import Client, Reply

FORM = "application/x-www-form-urlencoded"


async def token_request(
    client: Client,
    client_id: str,
    secret: str,
    *,
    address: str = "127.0.0.1",
    forwarded: str | None = None,
    scope: str | None = None,
) -> Reply:
    """POST /oauth2/token with the credentials in the form body, as from ``address`` (the front end's last hop)."""
    xff = f"{forwarded}, {address}" if forwarded else address
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    body = urlencode(form | ({} if scope is None else {"scope": scope}))
    return await client.post(
        "/oauth2/token", raw=body.encode(), headers={"content-type": FORM, "x-forwarded-for": xff}, token=None
    )


async def get_token(client: Client, client_id: str, secret: str, *, address: str = "127.0.0.1") -> str:
    reply = await token_request(client, client_id, secret, address=address)
    assert reply.status == 200, reply.body
    token = reply.json["access_token"]
    assert isinstance(token, str)
    return token


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(header: dict[str, Any], claims: dict[str, Any], key: str, *, digest: Any = hashlib.sha256) -> str:
    """A JWT built by hand, so a test can put any header on any signature."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(key.encode(), signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


def claims_for(app: App, client_id: str, directory: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": app.settings.issuer,
        "aud": "scim",
        "sub": client_id,
        "dir": directory,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


async def signing_key(app: App) -> tuple[str, str]:
    """(kid, value) of the newest signing key."""
    newest = (await app.secrets.versions(SIGNING_KEY_SECRET))[0]
    return newest.version, newest.value
