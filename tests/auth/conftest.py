"""A second directory and client beside the shared `dev` fixtures, for isolation and network tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scim.app import App
from scim.auth.clients import NewClient
from scim.service.admin import AdminService
from tests.auth.helpers import get_token
from tests.auth.jwks import EntraDouble, Signer
from tests.support.app import CLIENT_ID, CLIENT_SECRET, Client
from tests.support.tenant import Tenant


@pytest.fixture
def admin(app: App) -> AdminService:
    return AdminService(app.store, app.clients, app.tokens)


@pytest.fixture
async def tenant_a(app: App, admin: AdminService) -> Tenant:
    await admin.add_role("dev", "Auditor")
    await admin.add_group("dev", "TeamA")
    http = Client(None)
    http.token = await get_token(http, CLIENT_ID, CLIENT_SECRET)
    return Tenant("dev", CLIENT_ID, CLIENT_SECRET, http)


@pytest.fixture
async def tenant_b(app: App, admin: AdminService) -> Tenant:
    await admin.ensure_directory("other")
    await admin.add_role("other", "OtherRole")
    await admin.add_group("other", "TeamB")
    registration = await admin.create_client(NewClient("other", ["any"]))
    http = Client(None)
    http.token = await get_token(http, registration.client.id, registration.secret)
    return Tenant("other", registration.client.id, registration.secret, http)


# A local stand-in for Entra's login endpoints (federation and Entra's own token), one per module.
@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer()


@pytest.fixture(scope="module")
def entra_server() -> Iterator[EntraDouble]:
    double = EntraDouble().start()
    yield double
    double.stop()


@pytest.fixture
def entra(entra_server: EntraDouble, signer: Signer) -> EntraDouble:
    entra_server.keys, entra_server.down, entra_server.fetches = [signer.jwk], False, 0
    return entra_server
