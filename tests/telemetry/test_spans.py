"""Each SCIM operation leaves one server span with SCIM dimensions and child spans for storage."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from scim.app import App
from scim.errors import StoreUnavailable
from scim.store.memory import MemoryStore
from tests.support.app import CLIENT_ID, CLIENT_SECRET, Client, Reply
from tests.support.telemetry import serving

USER = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "span.user@contoso.com"}


def server_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    found = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert len(found) == 1, [s.name for s in found]
    return found[0]


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


async def test_create_user_span_carries_scim_dimensions_and_storage_children(
    client: Client, spans: InMemorySpanExporter
) -> None:
    reply = await client.post("/scim/v2/Users", USER)
    assert reply.status == 201
    span = server_span(spans)
    a = attrs(span)
    assert span.name == "user.create"
    assert a["scim.operation"] == "user.create"
    assert a["scim.directory"] == "dev"
    assert a["scim.client_id"] == CLIENT_ID
    assert a["scim.resource_id"] == reply.json["id"]
    assert a["http.response.status_code"] == 201
    assert a["scim.outcome"] == "success"
    assert a["scim.store.round_trips"] >= 1
    assert a["scim.duration_ms"] > 0
    assert span.status.status_code != StatusCode.ERROR
    # The memory store's calls never leave the process: counted, but no child span (app.py).
    assert [s for s in spans.get_finished_spans() if s.kind == SpanKind.CLIENT] == []


class RemoteMemoryStore(MemoryStore):
    """A memory store that declares itself remote, as TableStore does, to show the child spans it gets."""

    remote = True


async def test_a_remote_store_call_is_a_client_child_span_of_the_request(spans: InMemorySpanExporter) -> None:
    async with serving(RemoteMemoryStore()) as token:
        spans.clear()
        reply = await Client(token).post("/scim/v2/Users", USER)
        assert reply.status == 201
    span = server_span(spans)
    children = [s for s in spans.get_finished_spans() if s.parent and s.parent.span_id == span.context.span_id]
    assert "store.create_user" in {c.name for c in children}
    assert all(c.kind == SpanKind.CLIENT for c in children)
    assert attrs(span)["scim.store.round_trips"] == len(children)


async def test_refused_request_marks_the_span_failed_with_its_scim_type(
    client: Client, spans: InMemorySpanExporter
) -> None:
    await client.post("/scim/v2/Users", USER)
    spans.clear()
    reply = await client.post("/scim/v2/Users", USER)
    assert reply.status == 409
    span = server_span(spans)
    a = attrs(span)
    assert a["scim.scim_type"] == "uniqueness"
    assert a["scim.outcome"] == "client_error"
    assert span.status.status_code == StatusCode.ERROR


async def test_patch_and_list_operations_are_named(client: Client, spans: InMemorySpanExporter) -> None:
    user_id = (await client.post("/scim/v2/Users", USER)).json["id"]
    spans.clear()
    await client.patch(
        f"/scim/v2/Users/{user_id}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
        },
    )
    assert server_span(spans).name == "user.patch"
    spans.clear()
    await client.get('/scim/v2/Users?filter=userName eq "x"')
    assert server_span(spans).name == "user.list"


async def _token(client: Client, secret: str) -> Reply:
    form = f"grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={secret}"
    headers = {"content-type": "application/x-www-form-urlencoded"}
    return await client.request("POST", "/oauth2/token", raw=form.encode(), headers=headers, token=None)


async def test_token_issue_span_names_the_oauth_error(client: Client, spans: InMemorySpanExporter) -> None:
    assert (await _token(client, "wrong")).status == 401
    a = attrs(server_span(spans))
    assert a["scim.operation"] == "token.issue"
    assert a["scim.oauth_error"] == "invalid_client"
    spans.clear()
    assert (await _token(client, CLIENT_SECRET)).status == 200
    assert attrs(server_span(spans))["scim.outcome"] == "success"


class FailingStore:
    """Delegates to a real store but fails every call: storage down."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        async def fail(*args: Any, **kwargs: Any) -> Any:
            raise StoreUnavailable("down")

        return fail


async def test_storage_outage_is_503_with_retry_after_and_outcome_unavailable(
    app: App, client: Client, spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.users, "_store", FailingStore(app.store))
    reply = await client.post("/scim/v2/Users", USER)
    assert reply.status == 503
    assert reply.headers["Retry-After"].isdigit()
    a = attrs(server_span(spans))
    assert a["scim.outcome"] == "unavailable"


async def test_liveness_needs_no_auth_and_reveals_nothing(client: Client) -> None:
    reply = await client.get("/health", token=None)
    assert reply.status == 200
    assert reply.json == {"status": "ok"}


async def test_readiness_reports_ready_when_storage_and_secrets_answer(client: Client) -> None:
    reply = await client.get("/health/ready", token=None)
    assert reply.status == 200
    assert reply.json == {"status": "ready"}


async def test_readiness_is_503_when_storage_is_down_and_says_nothing_more(
    app: App, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app, "store", FailingStore(app.store))
    reply = await client.get("/health/ready", token=None)
    assert reply.status == 503
    assert reply.json == {"status": "unavailable"}
    assert reply.headers["Retry-After"] == "5"
