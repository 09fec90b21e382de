"""Every kind of change publishes exactly the event docs/integration.md describes; no other write publishes any."""

from __future__ import annotations

from typing import Any

from scim.service.admin import AdminService
from tests.support.feed import Feed

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}


def only(events: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(events) == 1, events
    return events[0]


def check(event: dict[str, Any], kind: str, resource_type: str, resource_id: str, sequence: int | None) -> None:
    assert event["schema"] == "urn:scim-entra-functions:event:1"
    assert event["type"] == kind
    assert event["directory"] == "dev"
    assert (event["resourceType"], event["resourceId"], event["sequence"]) == (resource_type, resource_id, sequence)
    assert "values" not in event  # the directory has not opted in
    assert event["id"] and event["time"].endswith("Z")


async def test_every_kind_of_user_change_publishes_its_event(feed: Feed) -> None:
    await AdminService(feed.app.store, feed.app.clients, feed.app.tokens).add_role("dev", "Auditor")
    assert await feed.events() == []  # a catalog role is no provisioned change
    created = await feed.http.post("/scim/v2/Users", {"schemas": [USER], "userName": "ana@x.test", "active": True})
    assert created.status == 201
    uid = created.json["id"]
    event = only(await feed.events())
    check(event, "user.created", "User", uid, 1)
    assert event["attributes"] == ["active", "userName"]
    assert event["version"] == created.headers["ETag"]

    steps = [
        (patch({"op": "replace", "path": "displayName", "value": "Ana"}), "user.updated", ["displayName"]),
        (patch({"op": "replace", "path": "active", "value": False}), "user.disabled", ["active"]),
        (patch({"op": "replace", "path": "active", "value": "True"}), "user.enabled", ["active"]),
        (patch({"op": "add", "path": "roles", "value": [{"value": "Auditor"}]}), "role.granted", ["roles"]),
        (patch({"op": "remove", "path": "roles", "value": [{"value": "Auditor"}]}), "role.revoked", ["roles"]),
    ]
    for sequence, (body, kind, attributes) in enumerate(steps, start=2):
        reply = await feed.http.patch(f"/scim/v2/Users/{uid}", body)
        assert reply.status == 204, reply.body
        event = only(await feed.events())
        check(event, kind, "User", uid, sequence)
        assert event["attributes"] == attributes
        assert event["version"] == reply.headers["ETag"]

    assert (await feed.http.delete(f"/scim/v2/Users/{uid}")).status == 204
    event = only(await feed.events())
    check(event, "user.deleted", "User", uid, 7)
    assert event["version"] is None and event["attributes"] == []


async def test_every_kind_of_group_change_publishes_its_event(feed: Feed) -> None:
    uid = (await feed.http.post("/scim/v2/Users", {"schemas": [USER], "userName": "bo@x.test"})).json["id"]
    await feed.events()
    created = await feed.http.post("/scim/v2/Groups", {"schemas": [GROUP], "displayName": "Team"})
    gid = created.json["id"]
    event = only(await feed.events())
    check(event, "group.created", "Group", gid, 1)
    assert event["attributes"] == ["displayName"] and event["version"] == created.headers["ETag"]

    added = await feed.http.patch(
        f"/scim/v2/Groups/{gid}", patch({"op": "add", "path": "members", "value": [{"value": uid}]})
    )
    event = only(await feed.events())
    # Without If-Match a member change commits unconditionally (concurrent PATCHes never retry), so no sequence.
    check(event, "member.added", "Group", gid, None)
    assert event["members"] == [uid] and event["version"] == added.headers["ETag"]

    removed = await feed.http.patch(
        f"/scim/v2/Groups/{gid}", patch({"op": "remove", "path": f'members[value eq "{uid}"]'})
    )
    event = only(await feed.events())
    check(event, "member.removed", "Group", gid, None)
    assert event["members"] == [uid] and event["version"] == removed.headers["ETag"]

    renamed = await feed.http.patch(
        f"/scim/v2/Groups/{gid}", patch({"op": "replace", "path": "displayName", "value": "Crew"})
    )
    event = only(await feed.events())
    check(event, "group.renamed", "Group", gid, 2)
    assert event["attributes"] == ["displayName"] and event["version"] == renamed.headers["ETag"]

    assert (await feed.http.delete(f"/scim/v2/Groups/{gid}")).status == 204
    check(only(await feed.events()), "group.deleted", "Group", gid, 3)


async def test_a_member_change_with_if_match_is_numbered_like_any_write(feed: Feed) -> None:
    uid = (await feed.http.post("/scim/v2/Users", {"schemas": [USER], "userName": "fa@x.test"})).json["id"]
    created = await feed.http.post("/scim/v2/Groups", {"schemas": [GROUP], "displayName": "Numbered"})
    await feed.events()
    body = patch({"op": "add", "path": "members", "value": [{"value": uid}]})
    added = await feed.http.patch(
        f"/scim/v2/Groups/{created.json['id']}", body, headers={"If-Match": created.headers["ETag"]}
    )
    assert added.status == 204
    event = only(await feed.events())
    check(event, "member.added", "Group", created.json["id"], 2)
    assert event["version"] == added.headers["ETag"]


async def test_one_write_that_changes_several_things_publishes_one_event_per_kind(feed: Feed) -> None:
    await AdminService(feed.app.store, feed.app.clients, feed.app.tokens).add_role("dev", "Auditor")
    uid = (await feed.http.post("/scim/v2/Users", {"schemas": [USER], "userName": "cy@x.test"})).json["id"]
    await feed.events()
    body = patch(
        {"op": "replace", "path": "active", "value": False},
        {"op": "add", "path": "roles", "value": [{"value": "Auditor"}]},
        {"op": "replace", "path": "title", "value": "Ops"},
    )
    reply = await feed.http.patch(f"/scim/v2/Users/{uid}", body)
    events = await feed.events()
    assert sorted(e["type"] for e in events) == ["role.granted", "user.disabled", "user.updated"]
    assert {e["sequence"] for e in events} == {2} and {e["version"] for e in events} == {reply.headers["ETag"]}
    assert next(e for e in events if e["type"] == "user.updated")["attributes"] == ["title"]


async def test_values_travel_only_when_the_directory_opts_in(feed: Feed) -> None:
    admin = AdminService(feed.app.store, feed.app.clients, feed.app.tokens)
    await admin.set_policy("dev", policy=None, role_mode=None, event_values=True)
    feed.app.clients._directories.clear()  # the served App caches directory settings for 30 s
    uid = (await feed.http.post("/scim/v2/Users", {"schemas": [USER], "userName": "di@x.test"})).json["id"]
    assert only(await feed.events())["values"] == {"userName": "di@x.test"}
    await feed.http.patch(f"/scim/v2/Users/{uid}", patch({"op": "replace", "path": "displayName", "value": "Di"}))
    assert only(await feed.events())["values"] == {"displayName": "Di"}


async def test_refused_and_failed_writes_publish_nothing(feed: Feed) -> None:
    uid = (await feed.http.post("/scim/v2/Users", {"schemas": [USER], "userName": "ed@x.test"})).json["id"]
    gid = (await feed.http.post("/scim/v2/Groups", {"schemas": [GROUP], "displayName": "Ops"})).json["id"]
    await feed.events()
    refused = [
        await feed.http.post("/scim/v2/Users", {"schemas": [USER], "userName": "ED@x.test"}),  # 409 uniqueness
        await feed.http.patch(
            f"/scim/v2/Users/{uid}",
            patch({"op": "replace", "path": "displayName", "value": "x"}),
            headers={"If-Match": 'W/"stale"'},
        ),  # 412
        await feed.http.patch(
            f"/scim/v2/Groups/{gid}", patch({"op": "add", "path": "members", "value": [{"value": "nobody"}]})
        ),  # 400: not a user
        await feed.http.post("/scim/v2/Groups", {"schemas": [GROUP], "displayName": "ops"}),  # 409
        await feed.http.delete("/scim/v2/Users/00000000-0000-0000-0000-000000000000"),  # 404
        await feed.http.post("/scim/v2/Users", {"schemas": [USER]}),  # 400: no userName
    ]
    assert [r.status for r in refused] == [409, 412, 400, 409, 404, 400]
    # A PATCH that changes nothing writes nothing, so it publishes nothing either.
    same = await feed.http.patch(
        f"/scim/v2/Users/{uid}", patch({"op": "replace", "path": "userName", "value": "ed@x.test"})
    )
    assert same.status == 204
    assert await feed.events() == []
    store: Any = feed.app.store
    assert await store.outbox_pending() == []  # nothing left behind for the sweep either


async def test_a_delete_refused_by_if_match_keeps_the_resource_and_publishes_nothing(feed: Feed) -> None:
    """RFC 7644 §3.14: DELETE with a stale If-Match is 412, on Users and Groups; no *.deleted event."""
    user = await feed.http.post("/scim/v2/Users", {"schemas": [USER], "userName": "ann@example.com"})
    group = await feed.http.post("/scim/v2/Groups", {"schemas": [GROUP], "displayName": "Crew"})
    await feed.events()
    for url, created in ((f"/scim/v2/Users/{user.json['id']}", user), (f"/scim/v2/Groups/{group.json['id']}", group)):
        stale = await feed.http.delete(url, headers={"If-Match": 'W/"stale"'})
        assert stale.status == 412, stale.body
        assert stale.json["status"] == "412" and "version" in stale.json["detail"]
        assert (await feed.http.get(url)).status == 200
        assert await feed.events() == []
        deleted = await feed.http.delete(url, headers={"If-Match": created.headers["ETag"]})
        assert deleted.status == 204, deleted.body
        assert (await feed.http.get(url)).status == 404
        assert only(await feed.events())["type"].endswith(".deleted")


async def test_a_role_change_names_the_attribute_that_changed_and_a_no_op_publishes_nothing(feed: Feed) -> None:
    """A role held through entitlements is granted like one in roles; a change that leaves the held set alone
    is a user.updated naming the attribute, never `attributes: []`; a PUT that changes nothing writes nothing."""
    await AdminService(feed.app.store, feed.app.clients, feed.app.tokens).add_role("dev", "Auditor")
    body = {"schemas": [USER], "userName": "ro@x.test", "roles": [{"value": "Auditor"}]}
    uid = (await feed.http.post("/scim/v2/Users", body)).json["id"]
    await feed.events()
    moved = patch(
        {"op": "remove", "path": "roles"}, {"op": "add", "path": "entitlements", "value": [{"value": "Auditor"}]}
    )
    assert (await feed.http.patch(f"/scim/v2/Users/{uid}", moved)).status == 204
    event = only(await feed.events())
    assert (event["type"], event["attributes"]) == ("user.updated", ["entitlements", "roles"])
    shown = patch({"op": "replace", "path": "entitlements", "value": [{"value": "Auditor", "display": "Audit"}]})
    assert (await feed.http.patch(f"/scim/v2/Users/{uid}", shown)).status == 204
    event = only(await feed.events())
    assert (event["type"], event["attributes"]) == ("user.updated", ["entitlements"])
    revoked = patch({"op": "remove", "path": "entitlements"})
    assert (await feed.http.patch(f"/scim/v2/Users/{uid}", revoked)).status == 204
    event = only(await feed.events())
    assert (event["type"], event["attributes"]) == ("role.revoked", ["entitlements"])

    current = (await feed.http.get(f"/scim/v2/Users/{uid}")).json
    again = await feed.http.put(f"/scim/v2/Users/{uid}", current)
    assert again.status == 200 and again.headers["ETag"] == current["meta"]["version"]
    assert await feed.events() == []
