"""Allowed networks and the client address: parsing, the header setting, and enforcement over the triggers."""

from __future__ import annotations

from dataclasses import replace

import azure.functions as func
import pytest

import function_app
from scim import routes
from scim.app import App
from scim.auth.network import address_allowed, client_address, parse_address, validate_networks
from scim.config import SettingsError, load_settings
from scim.http import Request, Response
from scim.service.admin import AdminService
from scim.service.directories import AdminError
from tests.auth.helpers import token_request
from tests.support.app import FUNCTION_APP, Client  # noqa: F401 - loads function_app
from tests.support.tenant import Tenant


def test_validate_networks() -> None:
    assert validate_networks([" 10.1.2.3/8 ", "2001:DB8::/32", "ANY", "*", "192.0.2.7"]) == [
        "10.0.0.0/8",
        "2001:db8::/32",
        "any",
        "192.0.2.7/32",
    ]
    for bad in (["10.0.0.0/33"], ["example.com"], [""], []):
        with pytest.raises(ValueError):
            validate_networks(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("203.0.113.9:50123", "203.0.113.9"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("fe80::1%eth0", "fe80::1"),
        ("", None),
        ("unknown", None),
        ("300.1.1.1", None),
        ("1.2.3.4:80:90", None),
    ],
)
def test_parse_address(text: str, expected: str | None) -> None:
    ip = parse_address(text)
    assert (None if ip is None else str(ip)) == expected


def test_only_the_last_forwarded_hop_counts() -> None:
    assert client_address({"x-forwarded-for": "10.0.0.1, 10.0.0.2, 203.0.113.9:1234"}) == "203.0.113.9"
    assert client_address({"x-forwarded-for": "10.0.0.1, garbage"}) == "unknown"
    assert client_address({}) == "unknown"
    assert not address_allowed("unknown", ["10.0.0.0/8"])
    assert address_allowed("unknown", ["any"])


def test_the_address_header_is_a_validated_setting() -> None:
    headers = {"x-forwarded-for": "10.0.0.1, 203.0.113.9:1", "client-ip": "198.51.100.7:5555"}
    default = load_settings({})
    assert client_address(headers, default.client_address_header) == "203.0.113.9"
    configured = load_settings({"SCIM_CLIENT_ADDRESS_HEADER": "Client-IP"})
    assert client_address(headers, configured.client_address_header) == "198.51.100.7"
    with pytest.raises(SettingsError, match="SCIM_CLIENT_ADDRESS_HEADER"):
        load_settings({"SCIM_CLIENT_ADDRESS_HEADER": "bad header"})


async def test_function_app_reads_the_configured_header(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    headers = {"x-forwarded-for": "10.0.0.1, 203.0.113.9", "client-ip": "198.51.100.7:5555"}
    monkeypatch.setattr(app, "settings", replace(app.settings, client_address_header="client-ip"))
    seen: list[str] = []

    async def spy(app_: App, route: str, request: Request) -> Response:
        seen.append(request.client_address)
        return Response(204)

    monkeypatch.setattr(routes, "dispatch", spy)
    request = func.HttpRequest(method="GET", url="http://h/health", headers=headers, body=b"")
    await function_app.health(request)
    assert seen == ["198.51.100.7"]


async def test_set_networks_takes_effect_and_is_validated(admin: AdminService, tenant_b: Tenant) -> None:
    inside = {"x-forwarded-for": "10.9.9.9"}
    assert (await tenant_b.http.get("/scim/v2/Users", headers=inside)).status == 200
    await admin.update_client(tenant_b.client_id, networks=["192.0.2.0/24"])
    reply = await tenant_b.http.get("/scim/v2/Users", headers=inside)
    assert reply.status == 403
    assert "10.9.9.9" in reply.json["detail"]
    assert (await token_request(Client(None), tenant_b.client_id, tenant_b.secret, address="10.9.9.9")).status == 403
    assert (await token_request(Client(None), tenant_b.client_id, tenant_b.secret, address="192.0.2.5")).status == 200
    with pytest.raises(AdminError):
        await admin.update_client(tenant_b.client_id, networks=["not-a-network"])
    await admin.update_client(tenant_b.client_id, networks=["any"])
    assert (await tenant_b.http.get("/scim/v2/Users", headers=inside)).status == 200
