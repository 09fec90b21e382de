"""Stored data never overrides what the service owns, and a stored value of the wrong shape never fails a list.

Such data reached the tables through `scimctl import` before it went through the SCIM rules; a
directory restored then still holds it, so GET renders without it and `scimctl check` names it.
"""

from __future__ import annotations

from typing import Any

from scim.app import App
from scim.model import Resource
from scim.protocol.schema import ENTERPRISE_SCHEMA
from scim.store.check import check_directory
from tests.support.app import Client

STAMP = "2026-01-01T00:00:00.000Z"


async def _store_raw(app: App) -> None:
    """Users and a group as an unchecked import left them, next to one well-formed user."""
    store = app.store
    rows: dict[str, dict[str, Any]] = {
        "u-password": {"userName": "pw@x.test", "password": "Hunter2!"},
        "u-id": {"userName": "id@x.test", "id": "someone-else", "meta": {"location": "http://evil.test"}},
        "u-groups": {"userName": "gr@x.test", "groups": [{"value": "g-none", "display": "Admins"}]},
        "u-extension": {"userName": "ex@x.test", ENTERPRISE_SCHEMA: "not an object"},
        "u-manager": {"userName": "mg@x.test", ENTERPRISE_SCHEMA: {"manager": "boss", "department": "Ops"}},
        "u-plain": {"userName": "ok@x.test"},
    }
    for user_id, data in rows.items():
        await store.create_user("dev", Resource(user_id, data, STAMP, STAMP))
    await store.create_group("dev", Resource("g-id", {"displayName": "Ops", "id": "other"}, STAMP, STAMP), [])


async def test_a_list_renders_every_user_without_what_the_service_owns_or_cannot_render(
    app: App, client: Client
) -> None:
    await _store_raw(app)
    listed = await client.get("/scim/v2/Users?count=100")
    assert listed.status == 200, listed.body
    users = {u["userName"]: u for u in listed.json["Resources"]}
    assert len(users) == 6
    assert all(u["id"] == u["meta"]["location"].rsplit("/", 1)[1] for u in users.values())
    assert "password" not in users["pw@x.test"]
    assert users["id@x.test"]["id"] == "u-id" and users["id@x.test"]["meta"]["location"].endswith("/Users/u-id")
    assert "groups" not in users["gr@x.test"]  # in no group: nothing is served
    assert ENTERPRISE_SCHEMA not in users["ex@x.test"] and users["ex@x.test"]["schemas"] == [
        "urn:ietf:params:scim:schemas:core:2.0:User"
    ]
    assert users["mg@x.test"][ENTERPRISE_SCHEMA] == {"department": "Ops"}
    for user_id in ("u-password", "u-id", "u-extension"):
        one = await client.get(f"/scim/v2/Users/{user_id}")
        assert one.status == 200 and one.json["id"] == user_id and "password" not in one.json
    group = await client.get("/scim/v2/Groups/g-id")
    assert group.status == 200 and group.json["id"] == "g-id"
    found = await client.get('/scim/v2/Groups?filter=id eq "g-id"')
    assert [g["id"] for g in found.json["Resources"]] == ["g-id"]


async def test_scimctl_check_names_every_stored_value_render_leaves_out(app: App) -> None:
    await _store_raw(app)
    report = await check_directory(app.store, "dev", repair=False)
    assert not report.consistent
    assert sorted(line.split(":", 1)[0] for line in report.malformed) == [
        "group g-id",
        "user u-extension",
        "user u-groups",
        "user u-id",
        "user u-id",
        "user u-manager",
        "user u-password",
    ]
    assert any("password" in line for line in report.malformed)
