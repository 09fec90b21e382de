"""What Application Insights receives for every request kind: the product's spans and logs through the pinned
exporter's own envelope conversion (tests/telemetry/appinsights.py), asserted as the rows the runbook queries."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import secrets
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables.aio import TableServiceClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from scim import telemetry
from scim.app import App, build_app, install_app
from scim.dev.azurite import Azurite
from scim.dev.localrun import load_function_app
from scim.secrets import SIGNING_KEY_SECRET, KeyVaultSecretStore
from scim.service.admin import AdminService
from scim.store.tables import TableStore, client_options
from tests.doubles.keyvault import FakeCredential, KeyVaultDouble, make_self_signed_cert
from tests.support.app import CLIENT_ID, CLIENT_SECRET, Client, make_app
from tests.support.faults import FaultyTransport
from tests.support.telemetry import serving
from tests.telemetry.appinsights import log_records, row, rows

ADDRESS = "203.0.113.7"
# The timer trigger function_app.py registers for the change feed's sweep, as the Functions host calls it.
(SWEEP_TRIGGER,) = [
    f.get_user_function()
    for f in load_function_app().app.get_functions()
    if f.get_function_name() == "change_feed_sweep"
]
USER = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "envelope.user@contoso.com"}
GROUP = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Finance"}
PATCH = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
}
SEARCH = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": 'userName eq "x"'}
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(autouse=True)
async def creating_groups(app: App) -> None:
    """Policy `create`: a group POST creates the group, so group.create answers 201."""
    directory = await app.store.get_directory("dev")
    assert directory is not None
    directory.name_policy = "create"
    await app.store.put_directory(directory)


def request_row(spans: InMemorySpanExporter) -> dict[str, Any]:
    found = rows(spans.get_finished_spans(), "requests")
    assert len(found) == 1, [r["name"] for r in found]
    return found[0]


async def _call(client: Client, method: str, url: str, body: Any = None, **kw: Any) -> int:
    headers = {"x-forwarded-for": ADDRESS, **kw.pop("headers", {})}
    return (await client.request(method, url, body=body, headers=headers, **kw)).status


# (method, path, body, the request row's name, resultCode); {user} and {group} are ids made beforehand.
KINDS = [
    ("POST", "/scim/v2/Users", USER | {"userName": "second@contoso.com"}, "user.create", "201"),
    ("GET", "/scim/v2/Users/{user}", None, "user.get", "200"),
    ("GET", '/scim/v2/Users?filter=userName eq "x"', None, "user.list", "200"),
    ("PUT", "/scim/v2/Users/{user}", USER, "user.replace", "200"),
    ("PATCH", "/scim/v2/Users/{user}", PATCH, "user.patch", "204"),
    ("DELETE", "/scim/v2/Users/{user}", None, "user.delete", "204"),
    ("POST", "/scim/v2/Users/.search", SEARCH, "user.search", "200"),
    ("POST", "/scim/v2/Groups", GROUP | {"displayName": "Audit"}, "group.create", "201"),
    ("GET", "/scim/v2/Groups/{group}", None, "group.get", "200"),
    ("GET", "/scim/v2/Groups", None, "group.list", "200"),
    ("PUT", "/scim/v2/Groups/{group}", GROUP, "group.replace", "200"),
    (
        "PATCH",
        "/scim/v2/Groups/{group}",
        {**PATCH, "Operations": [{"op": "Replace", "path": "displayName", "value": "Finance"}]},
        "group.patch",
        "204",
    ),
    ("DELETE", "/scim/v2/Groups/{group}", None, "group.delete", "204"),
    ("POST", "/scim/v2/Groups/.search", {**SEARCH, "filter": 'displayName eq "x"'}, "group.search", "200"),
    ("POST", "/scim/v2/.search", SEARCH, "resource.search", "200"),
    ("GET", "/scim/v2/ServiceProviderConfig", None, "discovery.service_provider_config", "200"),
    ("GET", "/scim/v2/ResourceTypes", None, "discovery.resource_types", "200"),
    ("GET", "/scim/v2/Schemas", None, "discovery.schemas", "200"),
    ("GET", "/scim/v2/Events/jwks", None, "events.jwks", "200"),
    ("POST", "/scim/v2/Events", {}, "events.poll", "403"),  # the dev client has full scope; readers poll
    ("GET", "/health", None, "health", "200"),
    ("GET", "/health/ready", None, "health.ready", "200"),
    ("GET", "/scim/v2/Nothing", None, "route.unknown", "404"),
]


@pytest.mark.parametrize(("method", "path", "body", "name", "code"), KINDS, ids=[k[3] for k in KINDS])
async def test_every_request_kind_is_a_requests_row_named_after_its_operation(
    client: Client, spans: InMemorySpanExporter, method: str, path: str, body: Any, name: str, code: str
) -> None:
    user = (await client.post("/scim/v2/Users", USER)).json["id"]
    group = (await client.post("/scim/v2/Groups", GROUP)).json["id"]
    spans.clear()
    await _call(client, method, path.format(user=user, group=group), body)
    found = request_row(spans)
    # The name the runbook filters on, in both the row and operation_Name (what dependencies and traces share).
    assert (found["name"], found["operation_Name"], found["resultCode"]) == (name, name, code)
    assert found["success"] is (int(code) < 400)
    dims = found["customDimensions"]
    assert dims["scim.operation"] == name
    assert dims["scim.client_address"] == ADDRESS
    # The status is resultCode, not a dimension; the method and route are not dimensions either.
    assert not {"http.response.status_code", "http.request.method", "http.route"} & set(dims)
    if name.split(".", maxsplit=1)[0] in ("user", "group", "resource"):  # the authenticated kinds
        assert (dims["scim.directory"], dims["scim.client_id"]) == ("dev", CLIENT_ID)
    # the masked client_IP is not where the address is read: the component masks it unless told otherwise
    assert found["client_IP"] is None


async def test_user_get_and_user_list_are_different_rows(client: Client, spans: InMemorySpanExporter) -> None:
    user = (await client.post("/scim/v2/Users", USER)).json["id"]
    spans.clear()
    await client.get(f"/scim/v2/Users/{user}")
    await client.get("/scim/v2/Users")
    names = [r["name"] for r in rows(spans.get_finished_spans(), "requests")]
    assert names == ["user.get", "user.list"]
    assert rows(spans.get_finished_spans(), "requests")[0]["customDimensions"]["scim.resource_id"] == user


async def _token(client: Client, form: str, headers: dict[str, str] | None = None) -> int:
    return await _call(
        client,
        "POST",
        "/oauth2/token",
        raw=form.encode(),
        headers={"content-type": FORM, **(headers or {})},
        token=None,
    )


async def test_token_failure_row_names_the_client_it_tried_the_address_and_the_reason(
    client: Client, spans: InMemorySpanExporter
) -> None:
    assert await _token(client, f"grant_type=client_credentials&client_id={CLIENT_ID}&client_secret=wrong") == 401
    found = request_row(spans)
    assert (found["name"], found["resultCode"], found["success"]) == ("token.issue", "401", False)
    dims = found["customDimensions"]
    assert dims["scim.client_id"] == CLIENT_ID
    assert dims["scim.client_address"] == ADDRESS
    assert dims["scim.oauth_error"] == dims["scim.refusal"] == "invalid_client"
    assert "client_secret" not in str(found) and "wrong" not in str(dims)


async def test_token_failure_with_basic_auth_and_a_guessed_id_names_it_quoted(
    client: Client, spans: InMemorySpanExporter
) -> None:
    basic = base64.b64encode(b"not-a-guid\r\nforged:secret").decode()
    assert await _token(client, "grant_type=client_credentials", {"authorization": f"Basic {basic}"}) == 401
    dims = request_row(spans)["customDimensions"]
    assert dims["scim.client_id"] == "'not-a-guid\\\\r\\\\nforged'"  # quoted and escaped: no forged line
    assert dims["scim.client_address"] == ADDRESS


async def test_token_success_row(client: Client, spans: InMemorySpanExporter) -> None:
    assert (
        await _token(client, f"grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}")
        == 200
    )
    found = request_row(spans)
    assert (found["name"], found["resultCode"], found["success"]) == ("token.issue", "200", True)
    assert found["customDimensions"]["scim.client_id"] == CLIENT_ID
    assert "scim.refusal" not in found["customDimensions"]


async def test_a_name_refusal_carries_its_reason_and_only_with_log_pii_the_value(
    app: App, client: Client, spans: InMemorySpanExporter
) -> None:
    await AdminService(app.store, app.clients, app.tokens).add_role("dev", "Auditor")
    directory = await app.store.get_directory("dev")
    assert directory is not None
    directory.name_policy = "strict"
    await app.store.put_directory(directory)
    body = USER | {"roles": [{"primary": True, "value": "Auditer"}]}
    assert await _call(client, "POST", "/scim/v2/Users", body) == 400
    dims = request_row(spans)["customDimensions"]
    assert (dims["scim.scim_type"], dims["scim.refusal"]) == ("invalidValue", "unknown_role")
    assert "scim.refused_value" not in dims and "Auditer" not in str(dims)
    spans.clear()
    app.settings = dataclasses.replace(app.settings, log_pii=True)
    assert await _call(client, "POST", "/scim/v2/Groups", GROUP | {"displayName": "Sales Team"}) == 400
    dims = request_row(spans)["customDimensions"]
    assert dims["scim.refusal"] == "group_name_rule"
    assert dims["scim.refused_value"] == "Sales Team"


async def test_refusal_reasons_by_status(client: Client, spans: InMemorySpanExporter) -> None:
    cases = [
        (await _call(client, "GET", "/scim/v2/Users", token="not-a-jwt"), "unauthorized"),
        (await _call(client, "GET", "/scim/v2/Users/missing"), "not_found"),
        (await _call(client, "POST", "/scim/v2/Users", {"userName": ""}), "invalidValue"),
    ]
    found = rows(spans.get_finished_spans(), "requests")
    assert [(r["resultCode"], r["customDimensions"]["scim.refusal"]) for r in found] == [
        ("401", "unauthorized"),
        ("404", "not_found"),
        ("400", "invalidValue"),
    ]
    assert [c[0] for c in cases] == [401, 404, 400]


async def test_log_lines_are_traces_rows_of_the_request_with_their_dimensions(
    client: Client, spans: InMemorySpanExporter
) -> None:
    await client.post("/scim/v2/Users", USER)
    spans.clear()
    with log_records() as logs:
        assert await _call(client, "POST", "/scim/v2/Users", USER) == 409
        traces = rows(logs.get_finished_logs(), "traces")
    request = request_row(spans)
    refused = [t for t in traces if t["message"].startswith("request refused")]
    assert len(refused) == 1
    line = refused[0]
    assert line["message"] == "request refused: user.create 409 uniqueness"
    assert line["operation_Id"] == request["operation_Id"]
    dims = line["customDimensions"]
    assert (dims["scim.operation"], dims["scim.status"], dims["scim.scim_type"]) == ("user.create", "409", "uniqueness")
    assert "scim.detail" not in dims  # the detail quotes the userName: only with SCIM_LOG_PII


async def test_server_span_kinds_map_to_tables(client: Client, spans: InMemorySpanExporter) -> None:
    await client.get("/scim/v2/Users")
    (span,) = spans.get_finished_spans()
    assert span.kind == SpanKind.SERVER
    assert row(span)["table"] == "requests"


@pytest.mark.azurite
async def test_table_storage_calls_are_dependency_rows_and_a_lost_call_fails_its_row(
    azurite: Azurite, spans: InMemorySpanExporter
) -> None:
    transport = FaultyTransport()
    service = TableServiceClient.from_connection_string(
        azurite.connection_string,
        transport=transport,
        **client_options(retry_total=0, connection_timeout=3, read_timeout=10),
    )
    async with serving(TableStore(service, "t" + secrets.token_hex(6))) as token:
        spans.clear()
        assert (await Client(token).post("/scim/v2/Users", USER)).status == 201
        created = request_row(spans)
        deps = rows(spans.get_finished_spans(), "dependencies")
        spans.clear()
        transport.arm(1, "before")
        assert (await Client(token).get("/scim/v2/Users?count=1")).status == 503
        failed = request_row(spans)
        failed_deps = rows(spans.get_finished_spans(), "dependencies")
    assert "store.create_user" in {d["name"] for d in deps}
    assert {d["operation_ParentId"] for d in deps} == {created["id"]}
    assert int(created["customDimensions"]["scim.store.round_trips"]) >= 1  # dimensions are strings
    assert (failed["resultCode"], failed["customDimensions"]["scim.outcome"]) == ("503", "unavailable")
    # the lost call is a failed dependency row naming the store call, with the exception type only
    assert [d["success"] for d in failed_deps] == [False]
    assert failed_deps[0]["name"].startswith("store.")


async def test_key_vault_calls_are_dependency_rows_of_the_request(tmp_path: Path, spans: InMemorySpanExporter) -> None:
    cert, key = make_self_signed_cert(tmp_path)
    vault = KeyVaultDouble(token="kv-token")
    await vault.start(cert, key)
    client_kwargs = {"connection_verify": str(cert), "verify_challenge_resource": False}
    store = KeyVaultSecretStore(vault.url, FakeCredential("kv-token"), client_kwargs=client_kwargs)
    try:
        with telemetry.request_span("token", "POST", "token.issue", ADDRESS):
            await store.add_version(SIGNING_KEY_SECRET, "k" * 64)
            await store.versions(SIGNING_KEY_SECRET)
    finally:
        await store.close()
        await vault.stop()
    request = request_row(spans)
    deps = rows(spans.get_finished_spans(), "dependencies")
    ours = [d for d in deps if d["name"] == "keyvault.secret"]
    assert ours and all(d["success"] for d in ours)
    assert {d["operation_Id"] for d in deps} == {request["operation_Id"]}
    assert "k" * 64 not in str(deps)  # the secret's value is never a dimension


async def test_an_unexpected_error_is_an_exceptions_row_under_the_reference_the_caller_was_given(
    app: App, client: Client, spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def bug(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(app.users, "get", bug)
    with log_records() as logs:
        reply = await client.get("/scim/v2/Users/some-id")
        found = rows(logs.get_finished_logs(), "exceptions")
    assert reply.status == 500
    reference = reply.json["detail"].split("reference ")[1].split()[0]
    request = request_row(spans)
    assert (request["resultCode"], request["customDimensions"]["scim.outcome"]) == ("500", "server_error")
    assert [(e["type"], e["outerMessage"]) for e in found] == [
        ("RuntimeError", f"unhandled error, reference {reference}")
    ]
    assert found[0]["operation_Id"] == request["operation_Id"]


class Queue:
    """The queue side of the change feed: down (an unreachable queue) until it is brought up, then it keeps texts."""

    def __init__(self) -> None:
        self.up = False
        self.texts: list[str] = []

    async def send(self, directory: str, text: str) -> None:
        if not self.up:
            raise OSError("queue unreachable")
        self.texts.append(text)

    async def close(self) -> None:
        return None


async def test_the_change_feed_sweep_is_a_request_row_with_the_feeds_lag(spans: InMemorySpanExporter) -> None:
    base = await make_app()
    queue = Queue()
    app = build_app(base.settings, store=base.store, secret_store=base.secrets, publisher=queue)
    install_app(app)
    try:
        token, _ = await app.tokens.issue(CLIENT_ID, "dev", ttl=3600)
        assert (await Client(token).post("/scim/v2/Users", USER)).status == 201
        assert app.relay is not None
        await app.relay.flush()  # the publish failed: the event waits in the outbox for the sweep
        await asyncio.sleep(0.05)
        queue.up = True
        spans.clear()
        await SWEEP_TRIGGER(None)
    finally:
        install_app(None)
        await app.close()
    found = request_row(spans)
    assert (found["name"], found["success"]) == ("change_feed.sweep", True)
    assert float(found["customDimensions"]["scim.feed.lag_seconds"]) >= 0.05
    assert found["customDimensions"]["scim.feed.sent"] == "1" == str(len(queue.texts))
