"""A full Entra cycle leaves no secret, token or personal value in any log record or span (issue: nothing sensitive)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from scim.app import App
from scim.model import Role
from scim.service.admin import AdminService
from tests.support.app import CLIENT_ID, CLIENT_SECRET, Client
from tests.support.telemetry import on_root_logger

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PEOPLE = [
    {"userName": "ana.souza@contoso.com", "given": "Ana", "family": "Souza-Tavares", "phone": "+55 11 91234-5678"},
    {"userName": "bjorn.lindqvist@contoso.com", "given": "Bjorn", "family": "Lindqvist", "phone": "+46 70 123 45 67"},
]


def _user(person: dict[str, str]) -> dict[str, Any]:
    return {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ],
        "externalId": person["userName"].split("@")[0] + "-oid",
        "userName": person["userName"],
        "active": True,
        "displayName": f"{person['given']} {person['family']}",
        "name": {"givenName": person["given"], "familyName": person["family"]},
        "emails": [{"primary": True, "type": "work", "value": person["userName"]}],
        "phoneNumbers": [{"type": "work", "value": person["phone"]}],
        "roles": [{"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "Auditor"}],
    }


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        formatter = logging.Formatter()
        parts = []
        for record in self.records:
            parts.append(record.getMessage())
            parts.append(json.dumps({k: str(v) for k, v in vars(record).items()}))
            if record.exc_info:
                parts.append(formatter.formatException(record.exc_info))
        return "\n".join(parts)


@pytest.fixture
def capture() -> Iterator[Capture]:
    with on_root_logger(Capture()) as handler:
        yield handler


async def _cycle(app: App, client: Client) -> list[str]:
    """Token, Test Connection, create, link, members, refusals, disable, delete; the values that must not leak."""
    admin = AdminService(app.store, app.clients, app.tokens)
    await app.store.put_role("dev", Role("Auditor"))
    await admin.add_group("dev", "Auditors")
    form = f"grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
    reply = await client.request(
        "POST",
        "/oauth2/token",
        raw=form.encode(),
        token=None,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    token = reply.json["access_token"]
    client.token = token
    bad = await client.request(
        "POST",
        "/oauth2/token",
        raw=form.replace(CLIENT_SECRET, "guessed-secret").encode(),
        token=None,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert bad.status == 401
    await client.get('/scim/v2/Users?filter=userName eq "9b1f0c3e-3a57-4d0a-a1e5-0d5bfa4e8f11"')
    await client.get(
        '/scim/v2/Groups?excludedAttributes=members&filter=displayName eq "3d2c1b0a-aaaa-bbbb-cccc-1234567890ab"'
    )
    ids = []
    for person in PEOPLE:
        await client.get(f'/scim/v2/Users?filter=userName eq "{person["userName"]}"')
        created = await client.post("/scim/v2/Users", _user(person))
        assert created.status == 201, created.body
        ids.append(created.json["id"])
        duplicate = await client.post("/scim/v2/Users", _user(person))
        assert duplicate.status == 409
    refused = await client.post("/scim/v2/Groups", {"displayName": "Auditoria Fiscal São Paulo"})
    assert refused.status == 400
    group = (await client.get('/scim/v2/Groups?excludedAttributes=members&filter=displayName eq "Auditors"')).json
    group_id = group["Resources"][0]["id"]
    await client.patch(
        f"/scim/v2/Groups/{group_id}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "Add", "path": "members", "value": [{"$ref": None, "value": i} for i in ids]}],
        },
    )
    await client.patch(
        f"/scim/v2/Users/{ids[0]}",
        {
            "schemas": [PATCH],
            "Operations": [
                {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "ana.new@contoso.com"},
                {"op": "Replace", "path": "active", "value": "False"},
            ],
        },
    )
    await client.patch(
        f"/scim/v2/Users/{ids[1]}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "Replace", "path": "roles", "value": [{"value": "Nonexistent Role"}]}],
        },
    )
    await client.delete(f"/scim/v2/Users/{ids[1]}")
    await client.get("/scim/v2/Users", token="not-a-token")
    return [
        CLIENT_SECRET,
        "guessed-secret",
        token,
        *(await app.secrets.versions("scim-signing-key"))[0].value.split(),
        "ana.new@contoso.com",
        "Auditoria Fiscal",
        "Nonexistent Role",
        *[p[k] for p in PEOPLE for k in ("userName", "given", "family", "phone")],
    ]


def _span_text(exporter: InMemorySpanExporter) -> str:
    parts = []
    for span in exporter.get_finished_spans():
        parts.append(span.name)
        parts.append(json.dumps({k: str(v) for k, v in (span.attributes or {}).items()}))
        parts.append(str(span.status.description))
        parts.extend(str(event.attributes) for event in span.events)
    return "\n".join(parts)


async def test_a_full_cycle_leaves_no_secret_token_or_personal_value_in_logs_or_spans(
    app: App, client: Client, capture: Capture, spans: InMemorySpanExporter
) -> None:
    sensitive = await _cycle(app, client)
    logs, traces = capture.text(), _span_text(spans)
    assert capture.records, "the cycle should have logged something (refusals at least)"
    assert spans.get_finished_spans()
    for value in sensitive:
        assert value not in logs, f"log records contain {value[:12]}..."
        assert value not in traces, f"spans contain {value[:12]}..."
    assert "Bearer" not in logs and "authorization" not in logs.lower()


async def test_opting_in_to_personal_data_puts_refusal_details_in_the_logs(
    app: App, client: Client, capture: Capture, spans: InMemorySpanExporter
) -> None:
    app.settings = replace(app.settings, log_pii=True)
    await _cycle(app, client)
    logs = capture.text()
    assert PEOPLE[0]["userName"] in logs
    assert CLIENT_SECRET not in logs
