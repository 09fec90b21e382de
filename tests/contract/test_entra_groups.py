"""The Entra corpus for /Groups (docs/reference/entra-wire.md §1.5, §1.6, §2.3, §3.5, §6) and the catalog policies.

Group names come from the directory's catalog of user groups (README "Group names and roles"): Entra's first
`GET /Groups?excludedAttributes=members&filter=displayName eq "X"` must find the catalog group so Entra links to it.
"""

from __future__ import annotations

import uuid

import pytest

from scim.app import App
from scim.model import MemberChange
from scim.service.admin import AdminService
from tests.contract.entra import (
    CATALOG,
    GROUP_SCHEMA,
    GROUPS,
    assert_error,
    assert_list,
    create_plain_user,
    filter_url,
    group_body,
    op,
    patch,
    stored_group,
)
from tests.support.app import Client
from tests.support.contract import AppFactory, MemberReads

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
            ["'Marketing'", "no user group with exactly that name exists", "scimctl group add"],
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
            ["'Marketing'", "no user group", "even ignoring case", "scimctl group add"],
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


async def test_strict_group_refusal_exact_detail(client: Client, finance: str) -> None:
    """The whole detail Entra's provisioning log shows: the value, the rule, the closest group and the fix."""
    reply = await client.post(GROUPS, group_body("Finance Team"))
    assert_error(reply, 400, "invalidValue")
    assert reply.json["detail"] == (
        "The user group 'Finance Team' was refused: it breaks the naming rule (it contains spaces)."
        " The closest existing user group is 'FinanceTeam'. Rename it in Entra to 'FinanceTeam', or ask the"
        " directory admin to set the directory's policy to normalize (scimctl directory set-policy), which"
        " matches it to 'FinanceTeam'."
    )


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
