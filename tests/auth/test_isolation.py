"""Directory isolation: a token of one directory reads, writes, filters and references nothing of another.

Both directions run (dev → other and other → dev), on every SCIM route and method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from scim.app import App
from tests.support.tenant import Tenant

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@dataclass
class Seeded:
    tenant: Tenant
    user_id: str
    user_name: str
    external_id: str
    group_id: str
    group_name: str
    role: str


async def _seed(t: Tenant, group_name: str, role: str) -> Seeded:
    name = f"person@{t.directory}.example"
    user = await t.http.post(
        "/scim/v2/Users",
        {"schemas": [USER], "userName": name, "externalId": f"ext-{t.directory}", "active": True},
    )
    assert user.status == 201, user.body
    # Catalog groups exist before Entra links to them (README "Group names and roles"): find it, then add the member.
    found = await t.http.get(f'/scim/v2/Groups?filter=displayName eq "{group_name}"')
    (group,) = found.json["Resources"]
    add = {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": user.json["id"]}]}]}
    assert (await t.http.patch(f"/scim/v2/Groups/{group['id']}", add)).status in (200, 204)
    return Seeded(t, user.json["id"], name, f"ext-{t.directory}", group["id"], group_name, role)


@pytest.fixture(params=["dev→other", "other→dev"])
async def pair(request: pytest.FixtureRequest, tenant_a: Tenant, tenant_b: Tenant) -> tuple[Seeded, Seeded]:
    """(mine, theirs): the caller's own seeded directory and the other one."""
    a = await _seed(tenant_a, "TeamA", "Auditor")
    b = await _seed(tenant_b, "TeamB", "OtherRole")
    return (a, b) if request.param == "dev→other" else (b, a)


async def _unchanged(app: App, theirs: Seeded) -> None:
    directory = theirs.tenant.directory
    user = await app.store.get_user(directory, theirs.user_id)
    assert user is not None and user.data["userName"] == theirs.user_name
    assert user.data.get("active") is True
    group = await app.store.get_group(directory, theirs.group_id, with_members=True)
    assert group is not None and group.data["displayName"] == theirs.group_name
    assert group.members == [theirs.user_id]


async def test_reads_by_id_are_404(app: App, pair: tuple[Seeded, Seeded]) -> None:
    mine, theirs = pair
    http = mine.tenant.http
    for url in (
        f"/scim/v2/Users/{theirs.user_id}",
        f"/scim/v2/Groups/{theirs.group_id}",
        f"/scim/v2/Groups/{theirs.group_id}?excludedAttributes=members",
    ):
        reply = await http.get(url)
        assert reply.status == 404, (url, reply.body)
        assert theirs.user_name not in reply.body.decode()


@pytest.mark.parametrize(
    "query",
    [
        'userName eq "{user_name}"',
        'externalId eq "{external_id}"',
        'id eq "{user_id}"',
        'userName sw "person@"',
        'userName co "{directory}"',
        "userName pr",
        'emails[value co "@"] or userName pr',
    ],
)
async def test_user_listing_and_filters_see_only_their_directory(pair: tuple[Seeded, Seeded], query: str) -> None:
    mine, theirs = pair
    text = query.format(
        user_name=theirs.user_name,
        external_id=theirs.external_id,
        user_id=theirs.user_id,
        directory=theirs.tenant.directory,
    )
    reply = await mine.tenant.http.get(f"/scim/v2/Users?filter={text}")
    assert reply.status == 200, reply.body
    ids = {r["id"] for r in reply.json["Resources"]}
    assert theirs.user_id not in ids
    assert ids <= {mine.user_id}


@pytest.mark.parametrize(
    "query",
    [
        'displayName eq "{group_name}"',
        'id eq "{group_id}"',
        'members[value eq "{user_id}"]',
        'members eq "{user_id}"',
        "displayName pr",
    ],
)
async def test_group_listing_and_filters_see_only_their_directory(pair: tuple[Seeded, Seeded], query: str) -> None:
    mine, theirs = pair
    text = query.format(group_name=theirs.group_name, group_id=theirs.group_id, user_id=theirs.user_id)
    reply = await mine.tenant.http.get(f"/scim/v2/Groups?filter={text}")
    assert reply.status == 200, reply.body
    ids = {r["id"] for r in reply.json["Resources"]}
    assert theirs.group_id not in ids
    for resource in reply.json["Resources"]:
        assert theirs.user_id not in {m["value"] for m in resource.get("members", [])}


async def test_unfiltered_listings(pair: tuple[Seeded, Seeded]) -> None:
    mine, _theirs = pair
    users = await mine.tenant.http.get("/scim/v2/Users?count=1000")
    groups = await mine.tenant.http.get("/scim/v2/Groups?count=1000")
    assert {r["id"] for r in users.json["Resources"]} == {mine.user_id}
    assert {r["id"] for r in groups.json["Resources"]} == {mine.group_id}


def _writes(theirs: Seeded) -> list[tuple[str, str, Any]]:
    user, group = f"/scim/v2/Users/{theirs.user_id}", f"/scim/v2/Groups/{theirs.group_id}"
    deactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]}
    rename = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "Renamed"}]}
    drop = {"schemas": [PATCH], "Operations": [{"op": "remove", "path": f'members[value eq "{theirs.user_id}"]'}]}
    return [
        ("PUT", user, {"schemas": [USER], "userName": theirs.user_name, "active": False}),
        ("PATCH", user, deactivate),
        ("DELETE", user, None),
        ("PUT", group, {"schemas": [GROUP], "displayName": theirs.group_name, "members": []}),
        ("PATCH", group, rename),
        ("PATCH", group, drop),
        ("DELETE", group, None),
    ]


async def test_writes_to_their_resources_are_404_and_change_nothing(app: App, pair: tuple[Seeded, Seeded]) -> None:
    mine, theirs = pair
    for method, url, body in _writes(theirs):
        reply = await mine.tenant.http.request(method, url, body=body, headers={"if-match": "*"})
        assert reply.status == 404, (method, url, reply.body)
    await _unchanged(app, theirs)


async def test_their_user_ids_are_not_members_here_and_managers_name_nothing(
    app: App, pair: tuple[Seeded, Seeded]
) -> None:
    mine, theirs = pair
    http = mine.tenant.http
    add = {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": theirs.user_id}]}]}
    add_no_path = {"schemas": [PATCH], "Operations": [{"op": "add", "value": {"members": [{"value": theirs.user_id}]}}]}
    replace = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "members", "value": [{"value": theirs.user_id}]}],
    }
    for body in (add, add_no_path, replace):
        reply = await http.patch(f"/scim/v2/Groups/{mine.group_id}", body)
        assert reply.status == 400, reply.body
        assert theirs.user_id in reply.json["detail"]
    put = {"schemas": [GROUP], "displayName": mine.group_name, "members": [{"value": theirs.user_id}]}
    assert (await http.put(f"/scim/v2/Groups/{mine.group_id}", put)).status == 400
    new_group = {"schemas": [GROUP], "displayName": mine.group_name, "members": [{"value": theirs.user_id}]}
    assert (await http.post("/scim/v2/Groups", new_group)).status in (400, 409)
    manager = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": f"{ENTERPRISE}:manager", "value": theirs.user_id}],
    }
    # A manager naming no user here is kept as sent (README "Microsoft's validators"); it resolves to nothing of theirs.
    reply = await http.patch(f"/scim/v2/Users/{mine.user_id}", manager)
    assert reply.status == 204, reply.body
    assert (await http.get(f"/scim/v2/Users/{theirs.user_id}")).status == 404
    created = await http.post(
        "/scim/v2/Users",
        {
            "schemas": [USER, ENTERPRISE],
            "userName": "managed@x.example",
            ENTERPRISE: {"manager": {"value": theirs.user_id}},
        },
    )
    assert created.status == 201, created.body
    assert created.json[ENTERPRISE]["manager"]["value"] == theirs.user_id
    group = await app.store.get_group(mine.tenant.directory, mine.group_id, with_members=True)
    assert group is not None and group.members == [mine.user_id]
    await _unchanged(app, theirs)


async def test_their_catalog_names_are_unknown_here(pair: tuple[Seeded, Seeded]) -> None:
    mine, theirs = pair
    http = mine.tenant.http
    group = await http.post("/scim/v2/Groups", {"schemas": [GROUP], "displayName": theirs.group_name})
    assert group.status == 400, group.body
    role = {"schemas": [PATCH], "Operations": [{"op": "add", "path": "roles", "value": [{"value": theirs.role}]}]}
    reply = await http.patch(f"/scim/v2/Users/{mine.user_id}", role)
    assert reply.status == 400, reply.body
    own = {"schemas": [PATCH], "Operations": [{"op": "add", "path": "roles", "value": [{"value": mine.role}]}]}
    assert (await http.patch(f"/scim/v2/Users/{mine.user_id}", own)).status in (200, 204)


async def test_their_unique_names_do_not_collide_here(app: App, pair: tuple[Seeded, Seeded]) -> None:
    """Uniqueness is per directory: reusing their userName and externalId is no conflict and leaks nothing."""
    mine, theirs = pair
    reply = await mine.tenant.http.post(
        "/scim/v2/Users", {"schemas": [USER], "userName": theirs.user_name, "externalId": theirs.external_id}
    )
    assert reply.status == 201, reply.body
    assert reply.json["id"] != theirs.user_id
    await _unchanged(app, theirs)
