"""Entra's "How credentials are sent": Header (client_secret_basic), Body (client_secret_post) and Both.

Microsoft Learn, "Tutorial: Develop and plan provisioning for a SCIM endpoint" (OAuth2 Client Credentials
Grant): "Both sends them in both the header and the body of the request". The same pair twice is one method;
two different pairs are two methods, which RFC 6749 §2.3 forbids and §5.2 answers with invalid_request.
"""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest

from scim.app import App
from tests.auth.helpers import FORM
from tests.support.app import CLIENT_ID, CLIENT_SECRET, Client

OTHER = "7d2f4e6a-1b3c-4d5e-8f90-a1b2c3d4e5f6"


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


PAIR = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
CASES = [
    # (how, header pair, body fields, status, error)
    ("Header", (CLIENT_ID, CLIENT_SECRET), {}, 200, None),
    ("Body", None, PAIR, 200, None),
    ("Both, identical", (CLIENT_ID, CLIENT_SECRET), PAIR, 200, None),
    ("Header, client_id also in the body", (CLIENT_ID, CLIENT_SECRET), {"client_id": CLIENT_ID}, 200, None),
    ("Both, secrets differ", (CLIENT_ID, CLIENT_SECRET), {"client_id": CLIENT_ID, "client_secret": "x" * 43}, 400,
     "invalid_request"),
    ("Both, client ids differ", (CLIENT_ID, CLIENT_SECRET), {"client_id": OTHER, "client_secret": CLIENT_SECRET}, 400,
     "invalid_request"),
    ("Both, identical but wrong", (CLIENT_ID, "y" * 43), {"client_id": CLIENT_ID, "client_secret": "y" * 43}, 401,
     "invalid_client"),
]  # fmt: skip


@pytest.mark.parametrize(("how", "header", "body", "status", "error"), CASES, ids=[c[0] for c in CASES])
async def test_how_credentials_are_sent(
    app: App, how: str, header: tuple[str, str] | None, body: dict[str, str], status: int, error: str | None
) -> None:
    headers = {"content-type": FORM, "x-forwarded-for": "127.0.0.1"}
    if header:
        headers["authorization"] = _basic(*header)
    raw = urlencode({"grant_type": "client_credentials", "scope": "scim", **body}).encode()
    reply = await Client(None).post("/oauth2/token", raw=raw, headers=headers, token=None)
    assert reply.status == status, (how, reply.body)
    if error:
        assert reply.json["error"] == error
        assert CLIENT_SECRET not in reply.body.decode()
    else:
        assert reply.json["token_type"] == "Bearer"
