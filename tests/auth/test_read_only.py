"""Read-only clients (an application reading what Entra provisioned): GET and /.search, never a write."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scim.app import App
from scim.auth.clients import NewClient
from scim.service.admin import AdminService
from tests.auth.helpers import get_token, token_request
from tests.support.app import Client

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "path": "displayName", "value": "x"}],
}


@pytest.fixture
async def reader(app: App) -> Client:
    registration = await AdminService(app.store, app.clients, app.tokens).create_client(
        NewClient("dev", ["any"], read_only=True)
    )
    http = Client(None)
    reply = await token_request(http, registration.client.id, registration.secret)
    assert reply.status == 200 and reply.json["scope"] == "scim.read"
    http.token = reply.json["access_token"]
    return http


async def _state(client: Client) -> Any:
    users = (await client.get("/scim/v2/Users")).json
    groups = (await client.get("/scim/v2/Groups")).json
    return users, groups


async def test_a_read_only_client_reads_everything_and_writes_nothing(app: App, client: Client, reader: Client) -> None:
    await AdminService(app.store, app.clients, app.tokens).add_group("dev", "Team")
    uid = (await client.post("/scim/v2/Users", {"schemas": [USER], "userName": "ana@x.test"})).json["id"]
    gid = (await client.get('/scim/v2/Groups?filter=displayName eq "Team"')).json["Resources"][0]["id"]
    before = await _state(client)
    assert await _state(reader) == before  # it reads what Entra's client reads
    assert (await reader.get(f"/scim/v2/Users/{uid}")).status == 200
    assert (await reader.get(f"/scim/v2/Groups/{gid}")).status == 200
    # RFC 7644 §3.4.3: a search is a read, whichever of its three routes it takes.
    search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": 'userName eq "ana@x.test"'}
    for path in ("/scim/v2/Users/.search", "/scim/v2/.search"):
        reply = await reader.post(path, search)
        assert reply.status == 200 and reply.json["totalResults"] == 1, (path, reply.body)
    assert (await reader.post("/scim/v2/Groups/.search", {**search, "filter": 'displayName eq "Team"'})).status == 200

    writes = [
        ("POST", "/scim/v2/Users", {"schemas": [USER], "userName": "bo@x.test"}),
        ("POST", "/scim/v2/Groups", {"displayName": "Team2"}),
        ("PUT", f"/scim/v2/Users/{uid}", {"schemas": [USER], "userName": "ana@x.test"}),
        ("PUT", f"/scim/v2/Groups/{gid}", {"displayName": "Team"}),
        ("PATCH", f"/scim/v2/Users/{uid}", PATCH),
        ("PATCH", f"/scim/v2/Groups/{gid}", PATCH),
        ("DELETE", f"/scim/v2/Users/{uid}", None),
        ("DELETE", f"/scim/v2/Groups/{gid}", None),
        ("DELETE", "/scim/v2/Users/00000000-0000-0000-0000-000000000000", None),  # absent: still 403, not 404
    ]
    for method, url, body in writes:
        reply = await reader.request(method, url, body=body)
        assert reply.status == 403, (method, url, reply.body)
        doc = json.loads(reply.body)
        assert doc["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"] and doc["status"] == "403"
        assert "read-only" in doc["detail"] and method in doc["detail"]
    # Discovery documents take no writes from anyone (405), and there is nothing else to write to.
    for path in ("/scim/v2/ServiceProviderConfig", "/scim/v2/Schemas", "/scim/v2/ResourceTypes"):
        assert (await reader.post(path, {})).status == 405
    assert await _state(client) == before  # nothing changed
    # Entra's client keeps full access.
    assert (await client.patch(f"/scim/v2/Users/{uid}", PATCH)).status == 204


async def test_read_only_is_the_clients_flag_so_an_admin_issued_token_is_read_only_too(app: App) -> None:
    admin = AdminService(app.store, app.clients, app.tokens)
    registration = await admin.create_client(NewClient("dev", ["any"], read_only=True))
    for long_lived in (False, True):
        issued = await admin.issue_token(registration.client.id, long_lived=long_lived)
        http = Client(issued.token)
        assert (await http.get("/scim/v2/Users")).status == 200
        assert (await http.post("/scim/v2/Users", {"schemas": [USER], "userName": "x@x.test"})).status == 403


async def test_entras_clients_are_not_read_only(app: App, client: Client) -> None:
    from tests.support.app import CLIENT_ID, CLIENT_SECRET

    reply = await token_request(Client(None), CLIENT_ID, CLIENT_SECRET)
    assert reply.json["scope"] == "scim"
    http = Client(await get_token(Client(None), CLIENT_ID, CLIENT_SECRET))
    assert (await http.post("/scim/v2/Users", {"schemas": [USER], "userName": "full@x.test"})).status == 201


@pytest.mark.parametrize(
    ("asked", "granted"),
    [
        pytest.param("scim.read", "scim.read", id="a narrower scope is granted"),
        pytest.param("scim.read offline_access", "scim.read", id="unknown values beside it are ignored"),
        pytest.param("scim", "scim", id="the full scope"),
        pytest.param("scim scim.read", "scim", id="both: the wider"),
        pytest.param("", "scim", id="empty: the default"),
        pytest.param("api://5d3c6f1e/.default openid", "scim", id="only unknown values: the default"),
        pytest.param(None, "scim", id="absent: the default"),
    ],
)
async def test_the_token_endpoint_answers_the_scope_it_grants(app: App, asked: str | None, granted: str) -> None:
    """RFC 6749 §3.3: the answer's scope is what the token can do; docs/security.md "Scope"."""
    from tests.support.app import CLIENT_ID, CLIENT_SECRET

    reply = await token_request(Client(None), CLIENT_ID, CLIENT_SECRET, scope=asked)
    assert reply.status == 200, reply.body
    assert reply.json["scope"] == granted
    http = Client(reply.json["access_token"])
    assert (await http.get("/scim/v2/Users")).status == 200
    wrote = await http.post("/scim/v2/Users", {"schemas": [USER], "userName": "scoped@x.test"})
    assert wrote.status == (403 if granted == "scim.read" else 201), wrote.body


async def test_a_read_only_client_asking_for_the_full_scope_gets_read_only(app: App) -> None:
    registration = await AdminService(app.store, app.clients, app.tokens).create_client(
        NewClient("dev", ["any"], read_only=True)
    )
    reply = await token_request(Client(None), registration.client.id, registration.secret, scope="scim")
    assert reply.status == 200 and reply.json["scope"] == "scim.read"
    http = Client(reply.json["access_token"])
    assert (await http.post("/scim/v2/Users", {"schemas": [USER], "userName": "x@x.test"})).status == 403
