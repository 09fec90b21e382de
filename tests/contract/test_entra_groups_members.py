"""The Entra corpus for group membership, rename, delete, If-Match and PUT (docs/reference/entra-wire.md §1.5, §1.6,
§6.2), through the triggers; members must be users of the directory.
"""

from __future__ import annotations

from typing import Any

import pytest

from scim.app import App
from scim.service.admin import AdminService
from tests.contract.entra import (
    CATALOG,
    GROUP_SCHEMA,
    GROUPS,
    USERS,
    assert_error,
    assert_list,
    fill,
    filter_url,
    members_of,
    op,
    patch,
    stored_group,
)
from tests.support.app import Client
from tests.support.contract import AppFactory

# §1.6 membership -----------------------------------------------------------------------------------------------

MEMBER_CASES = [
    pytest.param(
        [],
        [op("Add", "members", [{"$ref": None, "value": "{u1}"}])],
        {"u1"},
        id="§1.6 Add one member with $ref null (S1)",
    ),
    pytest.param(
        [],
        [op("Add", "members", [{"$ref": None, "value": "{u1}"}, {"$ref": None, "value": "{u2}"}, {"value": "{u3}"}])],
        {"u1", "u2", "u3"},
        id="§1.6 several members in one operation (S8)",
    ),
    pytest.param(
        [],
        [op("add", "members", [{"value": "{u1}"}]), op("add", "members", [{"value": "{u2}"}])],
        {"u1", "u2"},
        id="§1.6 several add operations in one PATCH",
    ),
    pytest.param(
        [],
        [op("Add", "members", ["{u1}"])],
        {"u1"},
        id="§6.2 Postman garbage: member as a bare id string",
    ),
    pytest.param(
        [],
        [op("Add", "members", {"value": "{u1}"})],
        {"u1"},
        id="§2.4.6 member value as one object, not a list",
    ),
    pytest.param(
        ["u1"],
        [op("Add", "members", [{"value": "{u1}"}])],
        {"u1"},
        id="§1.6 adding an existing member is idempotent",
    ),
    pytest.param(
        ["u1", "u2", "u3"],
        [op("Remove", "members", [{"$ref": None, "value": "{u1}"}])],
        {"u2", "u3"},
        id="§1.6 legacy Remove with a value list removes only those members (no flag)",
    ),
    pytest.param(
        ["u1", "u2", "u3"],
        [op("Remove", "members", [{"value": "{u1}"}, {"value": "{u3}"}])],
        {"u2"},
        id="§1.6 legacy Remove of several members in one operation",
    ),
    pytest.param(
        ["u1", "u2", "u3"],
        [op("remove", 'members[value eq "{u2}"]')],
        {"u1", "u3"},
        id="§1.6 RFC remove with a filter path (aadOptscim062020)",
    ),
    pytest.param(
        ["u1", "u2", "u3"],
        [op("remove", 'members[value eq "{u1}" or value eq "{u2}"]')],
        {"u3"},
        id="§1.6 remove with a filter naming two members",
    ),
    pytest.param(
        ["u1", "u2"],
        [op("remove", 'members[value eq "{u1}"]'), op("remove", 'members[value eq "{u2}"]')],
        set(),
        id="§1.6 several filter removals in one PATCH",
    ),
    pytest.param(
        ["u1", "u2", "u3"],
        [op("remove", "members")],
        set(),
        id="§1.6 remove members without a value removes all (Postman remove all)",
    ),
    pytest.param(
        ["u1", "u2"],
        [op("replace", "members", [{"value": "{u3}"}, {"value": "{u4}"}])],
        {"u3", "u4"},
        id="§1.6 replace members sets exactly the listed members (RFC 7644 §3.5.2.3)",
    ),
    pytest.param(
        ["u1", "u2"],
        [op("Replace", "members", [])],
        set(),
        id="§1.6 replace members with an empty list empties the group",
    ),
    pytest.param(
        ["u1"],
        [op("Add", "members", [{"value": "{u2}"}]), op("Remove", "members", [{"value": "{u1}"}])],
        {"u2"},
        id="§1.6 add and remove in one PATCH",
    ),
    pytest.param(
        [],
        [op("add", None, {"members": [{"value": "{u1}"}, {"value": "{u2}"}]})],
        {"u1", "u2"},
        id="§2.4.4 path-less add of members",
    ),
    pytest.param(
        ["u1"],
        [op("Remove", "members", [{"value": "{u4}"}])],
        {"u1"},
        id="§1.6 removing a user who is not a member is a no-op",
    ),
    pytest.param(
        ["u1"],
        [op("remove", 'members[value eq "{u4}"]')],
        {"u1"},
        id="§1.6 filter removal of a non-member is a no-op",
    ),
]


@pytest.mark.parametrize(("before", "operations", "after"), MEMBER_CASES)
async def test_group_membership_patches(
    client: Client,
    app: App,
    finance: str,
    users: dict[str, str],
    before: list[str],
    operations: list[dict[str, Any]],
    after: set[str],
) -> None:
    url = f"{GROUPS}/{finance}"
    if before:
        seed = patch(op("Add", "members", [{"value": users[name]} for name in before]))
        assert (await client.patch(url, seed)).status == 204
    previous = await client.get(url)
    reply = await client.patch(url, fill(patch(*operations), users))
    assert reply.status == 204, reply.body
    assert reply.body == b""
    expected = {users[name] for name in after}
    assert await members_of(app, finance) == expected
    got = await client.get(url)
    assert {m["value"] for m in got.json.get("members", [])} == expected
    assert got.json["displayName"] == CATALOG
    if expected != {users[name] for name in before}:
        # A no-op may keep or bump the version: knowing it is a no-op would cost a read of every member.
        assert reply.headers["ETag"] != previous.headers["ETag"]
    assert reply.headers["ETag"] == got.headers["ETag"]


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(op("Add", "members", [{"value": "f648f8d5ea4e4cd38e9c"}]), id="§1.6 add of an unknown user id"),
        pytest.param(op("Add", "members", [{"value": "string id 1"}]), id="§6.2 Postman garbage member id"),
        pytest.param(
            op("replace", "members", [{"value": "{u1}"}, {"value": "f648f8d5ea4e4cd38e9c"}]),
            id="§1.6 replace naming one unknown user",
        ),
    ],
)
async def test_members_must_be_users_of_the_directory(
    client: Client, app: App, finance: str, users: dict[str, str], operation: dict[str, Any]
) -> None:
    reply = await client.patch(f"{GROUPS}/{finance}", fill(patch(operation), users))
    unknown = next(m["value"] for m in operation["value"] if m["value"] not in ("{u1}",))
    assert_error(reply, 400, "invalidValue", repr(unknown), "users of this directory", "provision the users first")
    assert await members_of(app, finance) == set()


async def test_member_from_another_directory_is_refused(
    client: Client, app: App, admin: AdminService, finance: str
) -> None:
    """Directory isolation: a user id of another directory is no user here."""
    await admin.ensure_directory("other")
    from scim.model import Resource

    await app.store.create_user("other", Resource("foreign-user", {"userName": "x"}, "t", "t"))
    reply = await client.patch(f"{GROUPS}/{finance}", patch(op("Add", "members", [{"value": "foreign-user"}])))
    assert_error(reply, 400, "invalidValue", "'foreign-user'")


async def test_deleting_a_user_removes_its_memberships(
    client: Client, app: App, finance: str, users: dict[str, str]
) -> None:
    url = f"{GROUPS}/{finance}"
    await client.patch(url, patch(op("Add", "members", [{"value": users["u1"]}, {"value": users["u2"]}])))
    assert (await client.delete(f"{USERS}/{users['u1']}")).status == 204
    assert {m["value"] for m in (await client.get(url)).json["members"]} == {users["u2"]}
    assert await members_of(app, finance) == {users["u2"]}


# §1.6 rename and other attributes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        pytest.param(
            op("replace", None, {"externalId": "c3b97a69-0d7f-4ec4-a0a4-6d6b8f5b4c77"}),
            {"displayName": CATALOG, "externalId": "c3b97a69-0d7f-4ec4-a0a4-6d6b8f5b4c77"},
            id="§1.6 path-less group replace of externalId (Validator)",
        ),
        pytest.param(
            op("Add", "externalId", "0db508eb-91e2-46e4-809c-30dcbda0c685"),
            {"displayName": CATALOG, "externalId": "0db508eb-91e2-46e4-809c-30dcbda0c685"},
            id="§1.5 Add externalId to a linked catalog group",
        ),
        pytest.param(
            op("replace", f"{GROUP_SCHEMA}:externalId", "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"),
            {"displayName": CATALOG, "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"},
            id="§2.4.3 URN-qualified core path",
        ),
    ],
)
async def test_group_attribute_patches(
    client: Client, app: App, finance: str, operation: dict[str, Any], expected: dict[str, str]
) -> None:
    url = f"{GROUPS}/{finance}"
    before = await client.get(url)
    reply = await client.patch(url, patch(operation))
    assert reply.status == 204, reply.body
    assert reply.headers["ETag"] != before.headers["ETag"]
    assert (await stored_group(app, finance)).data == expected
    got = (await client.get(url)).json
    assert {k: got[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("policy", "name", "status", "fragments"),
    [
        pytest.param(
            "strict",
            "Finance Team 2",
            400,
            ["'Finance Team 2'", "contains spaces", "policy create"],
            id="§7 strict rename with spaces",
        ),
        pytest.param(
            "strict",
            "Treasury",
            400,
            ["'Treasury'", "catalog", "Rename the group back in Entra"],
            id="§1.6 strict rename (S1 shape) keeps the catalog name",
        ),
        pytest.param(
            "normalize", "Treasury", 400, ["'Treasury'", "policy normalize"], id="§1.6 normalize rename to another name"
        ),
        pytest.param(
            "create", "HumanResources", 409, ["'HumanResources'", "already exists"], id="§1.5 rename onto another group"
        ),
        pytest.param(
            "create", "humanresources", 409, ["'humanresources'"], id="§1.5 rename onto another group, other case"
        ),
        pytest.param("strict", "", 400, ["displayName is required"], id="§1.6 rename to empty"),
    ],
)
async def test_group_rename_refusals(
    make_client: AppFactory, policy: str, name: str, status: int, fragments: list[str]
) -> None:
    app, client = await make_client(policy, groups=(CATALOG, "HumanResources"))
    [finance] = assert_list(await client.get(filter_url(GROUPS, f'displayName eq "{CATALOG}"')), 1)
    reply = await client.patch(f"{GROUPS}/{finance['id']}", patch(op("Replace", "displayName", name)))
    assert_error(reply, status, "uniqueness" if status == 409 else "invalidValue", *fragments)
    assert (await stored_group(app, finance["id"])).data["displayName"] == CATALOG


async def test_create_policy_lets_entra_rename_a_group(make_client: AppFactory) -> None:
    app, client = await make_client("create", groups=(CATALOG,))
    [finance] = assert_list(await client.get(filter_url(GROUPS, f'displayName eq "{CATALOG}"')), 1)
    new_name = "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"  # §1.6 (S1)
    reply = await client.patch(f"{GROUPS}/{finance['id']}", patch(op("Replace", "displayName", new_name)))
    assert reply.status == 204, reply.body
    assert (await stored_group(app, finance["id"])).data["displayName"] == new_name


async def test_normalize_rename_to_a_folded_equal_name_keeps_the_catalog_spelling(make_client: AppFactory) -> None:
    app, client = await make_client("normalize", groups=(CATALOG,))
    [finance] = assert_list(await client.get(filter_url(GROUPS, 'displayName eq "Finance Team"')), 1)
    reply = await client.patch(f"{GROUPS}/{finance['id']}", patch(op("Replace", "displayName", "Finance Team")))
    assert reply.status == 204, reply.body
    assert (await stored_group(app, finance["id"])).data["displayName"] == CATALOG


async def test_remove_display_name_is_refused(client: Client, app: App, finance: str) -> None:
    reply = await client.patch(f"{GROUPS}/{finance}", patch(op("remove", "displayName")))
    assert_error(reply, 400, "mutability", "displayName", "required")
    assert (await stored_group(app, finance)).data["displayName"] == CATALOG


# Delete, If-Match, PUT, paging ---------------------------------------------------------------------------------


async def test_delete_under_strict_unlinks_and_keeps_the_catalog_name(
    client: Client, app: App, finance: str, users: dict[str, str]
) -> None:
    """Entra's DELETE removed the admin's catalog group, so a later re-assignment was refused."""
    await client.patch(f"{GROUPS}/{finance}", patch(op("Add", "members", [{"value": users["u1"]}])))
    reply = await client.delete(f"{GROUPS}/{finance}")
    assert reply.status == 204 and reply.body == b""
    assert_error(await client.get(f"{GROUPS}/{finance}"), 404, None, finance)  # RFC 7644 §3.6
    assert await app.store.get_group("dev", finance, with_members=True) is None
    assert_error(await client.delete(f"{GROUPS}/{finance}"), 404, None)
    assert (await client.get(f"{USERS}/{users['u1']}")).status == 200  # members are users, not deleted with it
    [kept] = assert_list(await client.get(filter_url(GROUPS, f'displayName eq "{CATALOG}"')), 1)
    assert kept["id"] != finance and kept["members"] == [] and kept["displayName"] == CATALOG
    # Entra's next assignment of the group finds the name and links to it, as on the first provisioning cycle.
    linked = await client.patch(f"{GROUPS}/{kept['id']}", patch(op("Add", "members", [{"value": users["u1"]}])))
    assert linked.status == 204, linked.body


async def test_delete_under_create_removes_the_group(make_client: AppFactory) -> None:
    _, client = await make_client("create", groups=(CATALOG,))
    [finance] = assert_list(await client.get(filter_url(GROUPS, f'displayName eq "{CATALOG}"')), 1)
    assert (await client.delete(f"{GROUPS}/{finance['id']}")).status == 204
    assert_error(await client.get(f"{GROUPS}/{finance['id']}"), 404, None, finance["id"])
    assert_list(await client.get(filter_url(GROUPS, f'displayName eq "{CATALOG}"')), 0)


async def test_group_if_match(client: Client, app: App, finance: str, users: dict[str, str]) -> None:
    url = f"{GROUPS}/{finance}"
    current = (await client.get(url)).headers["ETag"]
    add = patch(op("Add", "members", [{"value": users["u1"]}]))
    stale = await client.patch(url, add, headers={"If-Match": 'W/"0"'})
    assert_error(stale, 412, None, "version")
    assert await members_of(app, finance) == set()
    ok = await client.patch(url, add, headers={"If-Match": current})
    assert ok.status == 204 and ok.headers["ETag"] != current
    remove = patch(op("Remove", "members", [{"value": users["u1"]}]))
    again = await client.patch(url, remove, headers={"If-Match": current})
    assert_error(again, 412, None)
    assert await members_of(app, finance) == {users["u1"]}


async def test_put_group_replaces_members(client: Client, app: App, finance: str, users: dict[str, str]) -> None:
    """§6.2 Postman PUT on a group: data and members become exactly what was sent."""
    url = f"{GROUPS}/{finance}"
    await client.patch(url, patch(op("Add", "members", [{"value": users["u1"]}])))
    body = {"schemas": [GROUP_SCHEMA], "displayName": CATALOG, "members": [{"value": users["u2"]}]}
    reply = await client.put(url, body)
    assert reply.status == 200, reply.body
    assert [m["value"] for m in reply.json["members"]] == [users["u2"]]
    assert await members_of(app, finance) == {users["u2"]}


async def test_group_pagination(client: Client, admin: AdminService) -> None:
    for name in ("Alpha", "Bravo", "Charlie", "Delta"):
        await admin.add_group("dev", name)
    first = assert_list(await client.get(f"{GROUPS}?startIndex=1&count=3&excludedAttributes=members"), 4, items=3)
    rest = assert_list(await client.get(f"{GROUPS}?startIndex=4&count=3&excludedAttributes=members"), 4, start=4)
    names = [g["displayName"] for g in first + rest]
    assert sorted(names) == ["Alpha", "Bravo", "Charlie", "Delta"]


async def test_unknown_group_is_404_everywhere(client: Client) -> None:
    for reply in (
        await client.get(f"{GROUPS}/nope"),
        await client.patch(f"{GROUPS}/nope", patch(op("Add", "externalId", "x"))),
        await client.put(f"{GROUPS}/nope", {"displayName": CATALOG}),
        await client.delete(f"{GROUPS}/nope"),
    ):
        assert_error(reply, 404, None, "'nope'")
