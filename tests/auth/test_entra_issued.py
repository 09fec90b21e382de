"""Entra's own token (Secret Token left blank), pinned to one tenant, against a local stand-in for Entra's keys.

The claims are those Microsoft documents for this mode (Microsoft Learn, "Tutorial: Develop and plan provisioning
for a SCIM endpoint", "Handling endpoint authentication": iss https://sts.windows.net/{tenantId}/, aud
8adf8e6e-67b2-4cf2-a259-e3dc5476c621) plus the v1 access-token claims (tid, uti, ver 1.0). Microsoft signs every
tenant's tokens with the same keys, which is why issuer and audience alone let one tenant's token into another
(AzureAD/SCIMReferenceCode#100); the tests below replay that shape.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import jwt
import pytest

from scim.app import App
from scim.auth.clients import NewClient
from scim.auth.entra_issued import ENTRA_AUDIENCE, EntraIssuedVerifier, client_id_for
from scim.auth.federation import JwksCache
from scim.service.admin import AdminService
from scim.service.directories import AdminError
from tests.auth.helpers import b64
from tests.auth.jwks import EntraDouble, Signer
from tests.support.app import Client

USERS = "/scim/v2/Users"
TENANT_A = "0b6c3d4e-5f60-4718-8293-a4b5c6d7e8f9"
TENANT_B = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"


def entra_token(signer: Signer, tenant: str, **changes: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "aud": ENTRA_AUDIENCE, "iss": f"https://sts.windows.net/{tenant}/", "iat": now, "nbf": now,
        "exp": now + 3600, "appid": "1b730954-1685-4b74-9bfd-dac224a7b894", "appidacr": "2",
        "idp": f"https://sts.windows.net/{tenant}/", "oid": str(uuid.uuid4()), "sub": str(uuid.uuid4()),
        "tid": tenant, "uti": uuid.uuid4().hex[:22], "ver": "1.0",
    }  # fmt: skip
    claims.update(changes)
    return signer.sign({k: v for k, v in claims.items() if v is not None}, alg=changes.pop("alg", "RS256"))


@pytest.fixture
async def pinned(app: App, entra: EntraDouble) -> AdminService:
    """Directory "a" takes Entra's own token from tenant A only; directory "b" from tenant B only."""
    app.entra_issued = EntraIssuedVerifier(entra.jwks_template, JwksCache())
    admin = AdminService(app.store, app.clients, app.tokens)
    for directory, tenant in (("a", TENANT_A), ("b", TENANT_B)):
        await admin.ensure_directory(directory)
        made = await admin.create_client(NewClient(directory, ["any"], entra_issued_tenant=tenant))
        assert made.secret == "" and made.client.id == client_id_for(tenant)
    return admin


async def test_the_pinned_tenants_token_reads_its_own_directory(pinned: AdminService, signer: Signer) -> None:
    await Client(entra_token(signer, TENANT_A)).post(USERS, {"userName": "ann@a.test"})
    listed = await Client(entra_token(signer, TENANT_A)).get(USERS)
    assert listed.status == 200 and [u["userName"] for u in listed.json["Resources"]] == ["ann@a.test"]
    other = await Client(entra_token(signer, TENANT_B)).get(USERS)
    assert other.status == 200 and other.json["totalResults"] == 0  # tenant B lands in directory b, not a


async def test_issue_100_a_valid_token_of_another_tenant_is_refused(
    app: App, pinned: AdminService, signer: Signer
) -> None:
    """SCIMReferenceCode #100: same keys, same audience, another tenant: refused unless a client pins that tenant."""
    # Mixed claims: tenant A's issuer with tenant B's tid, and the reverse, never pass as either.
    for token in (entra_token(signer, TENANT_A, tid=TENANT_B), entra_token(signer, TENANT_B, tid=TENANT_A)):
        assert (await Client(token).get(USERS)).status == 401
    await pinned.delete_client(client_id_for(TENANT_B))
    reply = await Client(entra_token(signer, TENANT_B)).get(USERS)
    assert reply.status == 401 and "pinned" in reply.json["detail"]


def _claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _hs256(signer: Signer) -> str:
    header = b64(b'{"alg":"HS256","typ":"JWT","kid":"' + signer.kid.encode() + b'"}')
    body = b64(json.dumps(_claims_of(entra_token(signer, TENANT_A))).encode())
    mac = hmac.new(signer.public_pem.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(mac)}"


FORGED = {
    "another audience": lambda s: entra_token(s, TENANT_A, aud="00000003-0000-0000-c000-000000000000"),
    "an app's own audience": lambda s: entra_token(s, TENANT_A, aud=f"api://{uuid.uuid4()}"),
    "no tid": lambda s: entra_token(s, TENANT_A, tid=None),
    "expired": lambda s: entra_token(s, TENANT_A, iat=1_700_000_000, nbf=1_700_000_000, exp=1_700_003_600),
    "another key with Entra's kid": lambda s: Signer().sign(_claims_of(entra_token(s, TENANT_A)), kid=s.kid),
    "PS256 (algorithm pinned to RS256)": lambda s: s.sign(_claims_of(entra_token(s, TENANT_A)), alg="PS256"),
    "HS256 keyed with the public key": _hs256,
}


@pytest.mark.parametrize("case", list(FORGED))
async def test_each_forged_or_foreign_token_is_401(pinned: AdminService, signer: Signer, case: str) -> None:
    token = FORGED[case](signer)
    reply = await Client(token).get(USERS)
    assert reply.status == 401, reply.body
    assert token.split(".")[1] not in reply.body.decode()


async def test_a_disabled_client_or_unreadable_keys_are_not_a_500(
    app: App, pinned: AdminService, signer: Signer, entra: EntraDouble
) -> None:
    await pinned.update_client(client_id_for(TENANT_A), disabled=True)
    assert (await Client(entra_token(signer, TENANT_A)).get(USERS)).status == 401
    entra.down = True
    reply = await Client(entra_token(signer, TENANT_B)).get(USERS)
    assert reply.status == 503 and "Retry-After" in reply.headers


async def test_one_tenant_feeds_one_client(pinned: AdminService) -> None:
    await pinned.ensure_directory("c")
    with pytest.raises(AdminError, match="one tenant feeds one client"):
        await pinned.create_client(NewClient("c", ["any"], entra_issued_tenant=TENANT_A.upper()))
    with pytest.raises(AdminError, match="a GUID"):
        await pinned.create_client(NewClient("c", ["any"], entra_issued_tenant="contoso.onmicrosoft.com"))


async def test_our_own_tokens_are_untouched(app: App, pinned: AdminService) -> None:
    from tests.support.app import CLIENT_ID

    issued = await pinned.issue_token(CLIENT_ID)
    assert (await Client(issued.token).get(USERS)).status == 200


def test_the_app_reads_the_tenant_keys_through_the_federation_setting() -> None:
    from scim.app import build_app
    from scim.config import load_settings
    from scim.secrets import MemorySecretStore
    from scim.store.memory import MemoryStore

    template = "https://login.windows.net/{tenant}/discovery/v2.0/keys"
    settings = load_settings({"SCIM_ENTRA_JWKS_URL_TEMPLATE": template})
    built = build_app(settings, store=MemoryStore(), secret_store=MemorySecretStore())
    assert built.entra_issued is not None
    assert built.entra_issued.jwks_url(TENANT_A) == template.format(tenant=TENANT_A)
    # The same key cache serves federation, so one tenant's keys are fetched once for both modes.
    assert built.entra_issued._keys is built.token_endpoint.federation._keys
