"""The Entra corpus for /Groups: reference §1.5, §1.6, §2.3, §3.5 and §6, plus the catalog name policies.

Group names come from the directory's catalog of user groups (DESIGN "Name matching"): Entra's first
`GET /Groups?excludedAttributes=members&filter=displayName eq "X"` must find the catalog group so Entra links to it.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from scim.app import App
from scim.service.admin import AdminService
from scim.store.base import MemberChange
from tests.conftest import Client
from tests.contract.conftest import AppFactory, MemberReads
from tests.contract.entra import (
    ADSCIM_GROUP,
    GROUP_SCHEMA,
    GROUPS,
    USERS,
    assert_error,
    assert_list,
    create_plain_user,
    filter_url,
    op,
    patch,
    stored_group,
)

CATALOG = "FinanceTeam"


@pytest.fixture
async def finance(client: Client, admin: AdminService) -> str:
    group = await admin.add_group("dev", CATALOG)
    await admin.add_group("dev", "HumanResources")
    return group.id


@pytest.fixture
async def users(client: Client) -> dict[str, str]:
    return {f"u{i}": await create_plain_user(client, f"member{i}@contoso.com") for i in range(1, 5)}


async def members_of(app: App, group_id: str) -> set[str]:
    return set((await stored_group(app, group_id)).members or [])


def group_body(name: str, **extra: Any) -> dict[str, Any]:
    """The S1 "Create group" POST body (reference §1.5 step 2) with Microsoft's extra schema URI."""
    body: dict[str, Any] = {
        "schemas": [GROUP_SCHEMA, ADSCIM_GROUP],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": name,
        "meta": {"resourceType": "Group"},
    }
    body.update(extra)
    return body


# §3.5 Test Connection ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "extra"),
    [
        pytest.param("plain", "", id="§3.5 group probe displayName eq random GUID"),
        pytest.param("plus", "", id="§3.5 group probe +-encoded"),
        pytest.param("pct", "", id="§3.5 group probe %20-encoded"),
        pytest.param("plain", "excludedAttributes=members", id="§3.5 group probe with excludedAttributes=members"),
        pytest.param("plus", "excludedAttributes=members", id="§3.5 group probe +-encoded, excludedAttributes"),
        pytest.param("pct", "excludedAttributes=members", id="§3.5 group probe %20-encoded, excludedAttributes"),
    ],
)
async def test_group_test_connection_probe_answers_empty_list(
    client: Client, finance: str, encoding: str, extra: str
) -> None:
    reply = await client.get(filter_url(GROUPS, f'displayName eq "{uuid.uuid4()}"', encoding=encoding, extra=extra))
    assert_list(reply, 0, items=0)


@pytest.mark.parametrize("policy", ["strict", "normalize", "create"])
async def test_group_probe_is_empty_under_every_policy(make_client: AppFactory, policy: str) -> None:
    """§3.5: the folded lookup of `normalize`/`create` must not turn a random GUID into a hit."""
    _, client = await make_client(policy, groups=(CATALOG,))
    reply = await client.get(filter_url(GROUPS, f'displayName eq "{uuid.uuid4()}"', extra="excludedAttributes=members"))
    assert_list(reply, 0)


# §1.5 Entra links to the catalog group ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "encoding"),
    [
        pytest.param(CATALOG, "plain", id="§1.5 excludedAttributes=members&filter=displayName eq catalog name"),
        pytest.param(CATALOG, "plus", id="§1.5 catalog lookup +-encoded"),
        pytest.param("financeteam", "pct", id="§6.3 group filter with different case (Validator)"),
        pytest.param("FINANCETEAM", "plain", id="§6.3 group filter upper case"),
    ],
)
async def test_entra_group_lookup_finds_the_catalog_group_without_reading_members(
    client: Client, app: App, finance: str, users: dict[str, str], member_reads: MemberReads, name: str, encoding: str
) -> None:
    await app.store.update_group(
        "dev",
        finance,
        data=None,
        last_modified="2026-01-01T00:00:00.000Z",
        members=MemberChange(add=[users["u1"]]),
        expected_version=None,
    )
    member_reads.flags.clear()
    url = filter_url(GROUPS, f'displayName eq "{name}"', encoding=encoding, extra="excludedAttributes=members")
    [found] = assert_list(await client.get(url), 1)
    assert found["id"] == finance
    assert found["displayName"] == CATALOG
    assert set(found) == {"schemas", "id", "displayName", "meta"}, found  # S1: members must be absent
    assert found["schemas"] == [GROUP_SCHEMA]
    assert found["meta"]["resourceType"] == "Group"
    assert member_reads.flags and not any(member_reads.flags), "members were read although excluded"


async def test_lookup_of_a_name_containing_members_reads_no_members(
    client: Client, admin: AdminService, member_reads: MemberReads
) -> None:
    """§1.5: only a filter on the members attribute needs members, not a displayName that spells "Members"."""
    board = await admin.add_group("dev", "BoardMembers")
    url = filter_url(GROUPS, 'displayName eq "BoardMembers"', encoding="plus", extra="excludedAttributes=members")
    [found] = assert_list(await client.get(url), 1)
    assert found["id"] == board.id and "members" not in found
    assert member_reads.flags and not any(member_reads.flags), "members were read although excluded"


async def test_filter_on_members_still_finds_the_group(client: Client, finance: str, users: dict[str, str]) -> None:
    await client.patch(f"{GROUPS}/{finance}", patch(op("Add", "members", [{"value": users["u1"]}])))
    url = filter_url(GROUPS, f'members[value eq "{users["u1"]}"]', extra="excludedAttributes=members")
    [found] = assert_list(await client.get(url), 1)
    assert found["id"] == finance and "members" not in found
    assert_list(await client.get(filter_url(GROUPS, f'members.value eq "{users["u1"]}"')), 1)
    assert_list(await client.get(filter_url(GROUPS, f'members eq "{users["u2"]}"')), 0)


async def test_get_group_by_id_with_and_without_members(
    client: Client, app: App, finance: str, users: dict[str, str], member_reads: MemberReads
) -> None:
    """§1.5 step 3: `GET /Groups/{id}?excludedAttributes=members` answers without members and reads none."""
    assert (await client.patch(f"{GROUPS}/{finance}", patch(op("Add", "members", [{"value": users["u1"]}])))).status
    member_reads.flags.clear()
    bare = await client.get(f"{GROUPS}/{finance}?excludedAttributes=members")
    assert bare.status == 200 and "members" not in bare.json
    assert member_reads.flags == [False]
    full = await client.get(f"{GROUPS}/{finance}")
    assert full.json["members"] == [
        {"value": users["u1"], "$ref": f"http://127.0.0.1:7071/scim/v2/Users/{users['u1']}", "type": "User"}
    ]
    assert member_reads.flags == [False, True]
    assert bare.headers["ETag"] == full.headers["ETag"] == full.json["meta"]["version"]


async def test_list_groups_with_excluded_members_reads_no_members(
    client: Client, finance: str, member_reads: MemberReads
) -> None:
    found = assert_list(await client.get(f"{GROUPS}?excludedAttributes=members"), 2)
    assert all("members" not in g for g in found)
    assert not any(member_reads.flags)


async def test_attributes_display_name_reads_no_members(
    client: Client, finance: str, member_reads: MemberReads
) -> None:
    found = assert_list(await client.get(f"{GROUPS}?attributes=displayName"), 2)
    assert {g["displayName"] for g in found} == {CATALOG, "HumanResources"}
    assert all(set(g) == {"schemas", "id", "meta", "displayName"} for g in found)
    assert not any(member_reads.flags)


# §1.5 POST and the name policies --------------------------------------------------------------------------


async def test_post_of_existing_catalog_name_is_409(client: Client, app: App, finance: str) -> None:
    reply = await client.post(GROUPS, group_body(CATALOG))
    assert_error(reply, 409, "uniqueness", repr(CATALOG), "already exists", "displayName eq")
    page = await app.store.query_groups("dev", lookup=None, match=None, start_index=1, count=10, with_members=False)
    assert page.total == 2


STRICT = "§8 strict"


@pytest.mark.parametrize(
    ("policy", "name", "status", "scim_type", "fragments"),
    [
        pytest.param(
            "strict",
            "Finance Team",
            400,
            "invalidValue",
            ["'Finance Team'", "contains spaces", "closest existing user group is 'FinanceTeam'"],
            id="§7 strict: a name with spaces is refused, naming the closest catalog group",
        ),
        pytest.param(
            "strict",
            "FinanceTéam",
            400,
            "invalidValue",
            ["'FinanceTéam'", "accents", "closest existing user group is 'FinanceTeam'"],
            id="§7 strict: a name with accents is refused",
        ),
        pytest.param(
            "strict",
            "Marketing",
            400,
            "invalidValue",
            ["'Marketing'", "no user group with exactly that name exists", "closest existing user group is"],
            id="§7 strict: a name not in the catalog is refused",
        ),
        pytest.param(
            "strict",
            "financeteam",
            400,
            "invalidValue",
            ["'financeteam'", "exactly", "'FinanceTeam'"],
            id="§7 strict: a name differing only in case is refused",
        ),
        pytest.param(
            "normalize",
            "Finance Team",
            409,
            "uniqueness",
            ["'FinanceTeam'", "already exists"],
            id="§7 normalize: spaces fold onto the catalog group, so POST is 409",
        ),
        pytest.param(
            "normalize",
            "finance téam",
            409,
            "uniqueness",
            ["'FinanceTeam'"],
            id="§7 normalize: accents, spaces and case fold onto the catalog group",
        ),
        pytest.param(
            "normalize",
            "Marketing",
            400,
            "invalidValue",
            ["'Marketing'", "no user group", "closest existing user group"],
            id="§7 normalize: a name that folds to nothing in the catalog is refused",
        ),
        pytest.param(
            "create",
            "Finance Team",
            409,
            "uniqueness",
            ["'FinanceTeam'"],
            id="§7 create: a name folding onto the catalog links instead of duplicating",
        ),
    ],
)
async def test_post_group_name_policies(
    make_client: AppFactory, policy: str, name: str, status: int, scim_type: str, fragments: list[str]
) -> None:
    app, client = await make_client(policy, groups=(CATALOG, "HumanResources"))
    reply = await client.post(GROUPS, group_body(name))
    assert_error(reply, status, scim_type, *fragments)
    page = await app.store.query_groups("dev", lookup=None, match=None, start_index=1, count=10, with_members=False)
    assert sorted(g.data["displayName"] for g in page.resources) == [CATALOG, "HumanResources"]


async def test_strict_refusal_in_an_empty_catalog_says_so(client: Client) -> None:
    reply = await client.post(GROUPS, group_body("Anything"))
    assert_error(reply, 400, "invalidValue", "'Anything'", "has no user groups yet")


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Finance Team", id="§7 normalize: Entra's lookup with spaces links to the catalog group"),
        pytest.param("finance team", id="§7 normalize: lookup folds case too"),
        pytest.param("Fínance Team", id="§7 normalize: lookup folds accents"),
    ],
)
async def test_normalize_lookup_finds_the_catalog_group(make_client: AppFactory, name: str) -> None:
    _, client = await make_client("normalize", groups=(CATALOG,))
    url = filter_url(GROUPS, f'displayName eq "{name}"', encoding="plus", extra="excludedAttributes=members")
    [found] = assert_list(await client.get(url), 1)
    assert found["displayName"] == CATALOG and "members" not in found


async def test_strict_lookup_does_not_fold(client: Client, finance: str) -> None:
    assert_list(await client.get(filter_url(GROUPS, 'displayName eq "Finance Team"')), 0)


async def test_create_policy_creates_a_missing_group_from_the_s1_body(make_client: AppFactory) -> None:
    """§1.5 step 2 under `create`: 201 with id, meta and an empty members list; the ADSCIM URI is ignored."""
    app, client = await make_client("create", groups=(CATALOG,))
    reply = await client.post(GROUPS, group_body("Marketing"))
    assert reply.status == 201, reply.body
    doc = reply.json
    assert doc["schemas"] == [GROUP_SCHEMA]
    assert doc["displayName"] == "Marketing"
    assert doc["externalId"] == "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    assert doc["members"] == []
    assert doc["meta"]["resourceType"] == "Group" and doc["meta"]["created"]
    assert reply.headers["Location"] == f"http://127.0.0.1:7071/scim/v2/Groups/{doc['id']}"
    stored = await stored_group(app, doc["id"])
    assert stored.data == {"displayName": "Marketing", "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"}
    [found] = assert_list(
        await client.get(filter_url(GROUPS, 'displayName eq "marketing"', extra="excludedAttributes=members")), 1
    )
    assert found["id"] == doc["id"]
    again = await client.post(GROUPS, group_body("Marketing"))
    assert_error(again, 409, "uniqueness", "'Marketing'")
    upper = await client.post(GROUPS, group_body("MARKETING"))
    assert_error(upper, 409, "uniqueness", "'Marketing'")


async def test_create_policy_keeps_a_new_name_as_sent(make_client: AppFactory) -> None:
    """`create` creates what is missing, even a name the strict rule would refuse."""
    app, client = await make_client("create")
    reply = await client.post(GROUPS, group_body("Brand New Team"))
    assert reply.status == 201, reply.body
    assert (await stored_group(app, reply.json["id"])).data["displayName"] == "Brand New Team"


async def test_create_policy_post_with_members(make_client: AppFactory) -> None:
    """§1.5: Groups usually arrive empty, but a POST with members (Postman "filled group") stores them."""
    app, client = await make_client("create")
    u1 = await create_plain_user(client, "a@contoso.com")
    u2 = await create_plain_user(client, "b@contoso.com")
    reply = await client.post(GROUPS, group_body("Filled", members=[{"value": u1, "$ref": None}, {"value": u2}]))
    assert reply.status == 201, reply.body
    assert sorted(m["value"] for m in reply.json["members"]) == sorted([u1, u2])
    assert set((await stored_group(app, reply.json["id"])).members or []) == {u1, u2}
    missing = await client.post(GROUPS, group_body("Other", externalId="x", members=[{"value": "no-such-user"}]))
    assert_error(missing, 400, "invalidValue", "'no-such-user'", "users of this directory")


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


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, real in ids.items():
            value = value.replace("{" + name + "}", real)
        return value
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


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
    from scim.store.base import Resource

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
            op("Replace", "displayName", "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"),
            {"displayName": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"},
            id="§1.6 rename with Replace displayName (S1)",
        ),
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
            op("replace", f"{GROUP_SCHEMA}:displayName", "Treasury"),
            {"displayName": "Treasury"},
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
            "strict", "Finance Team 2", 400, ["'Finance Team 2'", "contains spaces"], id="§7 strict rename with spaces"
        ),
        pytest.param(
            "strict", "HumanResources", 409, ["'HumanResources'", "already exists"], id="§1.5 rename onto another group"
        ),
        pytest.param(
            "strict", "humanresources", 409, ["'humanresources'"], id="§1.5 rename onto another group, other case"
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


async def test_delete_group_then_get_404_and_filter_empty(
    client: Client, app: App, finance: str, users: dict[str, str]
) -> None:
    await client.patch(f"{GROUPS}/{finance}", patch(op("Add", "members", [{"value": users["u1"]}])))
    reply = await client.delete(f"{GROUPS}/{finance}")
    assert reply.status == 204 and reply.body == b""
    assert_error(await client.get(f"{GROUPS}/{finance}"), 404, None, finance)
    assert_list(await client.get(filter_url(GROUPS, f'displayName eq "{CATALOG}"')), 0)
    assert await app.store.get_group("dev", finance, with_members=True) is None
    assert_error(await client.delete(f"{GROUPS}/{finance}"), 404, None)
    assert (await client.get(f"{USERS}/{users['u1']}")).status == 200  # members are users, not deleted with it


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
