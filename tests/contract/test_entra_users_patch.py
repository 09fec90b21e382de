"""The Entra corpus for PATCH /Users: every shape of docs/reference/entra-wire.md §1.2, §1.3 and §2 in both dialects
(with and without aadOptscim062020), through the triggers; the stored user is checked after each PATCH.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from scim.app import App
from tests.contract.entra import (
    ABSENT,
    ENT,
    USERS,
    assert_error,
    create_plain_user,
    create_user,
    fill,
    no_path_keys,
    op,
    patch,
    pick,
    stored_user,
)
from tests.support.app import Client

USER = "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
UNCHANGED = "(the PATCH changes nothing, so the version stays)"


# §1.2 PATCH shapes --------------------------------------------------------------------------------------------

WORK_EMAIL = {"primary": True, "type": "work", "value": f"{USER}@testuser.com"}
MANAGER_URN = f"{ENT}:manager"
BOSS_REF = "http://127.0.0.1:7071/scim/v2/Users/{boss}"

PATCH_CASES = [
    pytest.param(
        [],
        [
            op("Replace", 'emails[type eq "work"].value', "updatedEmail@microsoft.com"),
            op("Replace", "name.familyName", "updatedFamilyName"),
        ],
        {
            "emails": [{"primary": True, "type": "work", "value": "updatedEmail@microsoft.com"}],
            "name.familyName": "updatedFamilyName",
            "name.givenName": "givenName",
        },
        id="§1.2a multi-valued sub-attribute and name.familyName",
    ),
    pytest.param(
        [],
        [op("Replace", "userName", "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com")],
        {"userName": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"},
        id="§1.2b single-valued userName",
    ),
    pytest.param(
        [],
        [
            op("Replace", f'addresses[type eq "work"].{sub}', f"{sub}-value")
            for sub in ("streetAddress", "locality", "region", "postalCode", "country", "formatted")
        ],
        {
            "addresses": [
                {
                    "type": "work",
                    "streetAddress": "streetAddress-value",
                    "locality": "locality-value",
                    "region": "region-value",
                    "postalCode": "postalCode-value",
                    "country": "country-value",
                    "formatted": "formatted-value",
                }
            ]
        },
        id="§1.2c work address upserted from every documented sub-attribute path",
    ),
    pytest.param(
        [],
        [op("Add", 'addresses[type eq "other"].Formatted', "1 Other Street")],
        {"addresses": [{"type": "other", "formatted": "1 Other Street"}]},
        id="§1.2c addresses[type eq other].Formatted capitalised sub-attribute",
    ),
    pytest.param(
        [],
        [
            op("Add", 'phoneNumbers[type eq "work"].value', "07-272-0828"),
            op("Add", 'phoneNumbers[type eq "mobile"].value', "+44 7700 900123"),
            op("Add", 'phoneNumbers[type eq "fax"].value', "(555) 555-0100"),
        ],
        {
            "phoneNumbers": [
                {"type": "work", "value": "07-272-0828"},
                {"type": "mobile", "value": "+44 7700 900123"},
                {"type": "fax", "value": "(555) 555-0100"},
            ]
        },
        id="§1.2c phoneNumbers work, mobile and fax upserted",
    ),
    pytest.param(
        [],
        [op("Add", 'emails[type eq "other"].Value', "other@example.com")],
        {"emails": [WORK_EMAIL, {"type": "other", "value": "other@example.com"}]},
        id="§1.2c emails[type eq other].Value capitalised, next to the work email",
    ),
    pytest.param(
        [],
        [
            op("replace", 'emails[type eq "work"].value', "lilian.graham@millszboncak.ca"),
            op("replace", 'phoneNumbers[type eq "work"].value', "07-272-0828"),
            op("replace", 'addresses[type eq "work"].streetAddress', "2809 Johns Walk"),
            op("replace", 'addresses[type eq "work"].locality', "KMYVNUJVVZWC"),
        ],
        {
            "emails": [{"primary": True, "type": "work", "value": "lilian.graham@millszboncak.ca"}],
            "phoneNumbers": [{"type": "work", "value": "07-272-0828"}],
            "addresses": [{"type": "work", "streetAddress": "2809 Johns Walk", "locality": "KMYVNUJVVZWC"}],
        },
        id="§1.2c SCIM Validator capture (S15) upserts, never a literal path key",
    ),
    pytest.param(
        [[op("Remove", "emails")]],
        [op("Add", 'emails[type eq "work"].value', "new@contoso.com")],
        {"emails": [{"type": "work", "value": "new@contoso.com"}]},
        id="§2.4.5 Add on a missing work email creates it",
    ),
    pytest.param(
        [],
        [op("Add", 'emails[type eq "work"].value', "changed@contoso.com")],
        {"emails": [{"primary": True, "type": "work", "value": "changed@contoso.com"}]},
        id="§2.4.5 Add on an existing work email changes it in place",
    ),
    pytest.param(
        [],
        [op("Replace", f"{ENT}:employeeNumber", "Eqpj")],
        {f"{ENT}.employeeNumber": "Eqpj"},
        id="§1.2d enterprise URN path employeeNumber (S2)",
    ),
    pytest.param(
        [],
        [op("Add", f"{ENT}:department", "Finance"), op("Add", f"{ENT}:costCenter", "CC-1")],
        {f"{ENT}.department": "Finance", f"{ENT}.costCenter": "CC-1"},
        id="§1.2d enterprise URN path department",
    ),
    pytest.param(
        [],
        [op("replace", None, {ENT: {"department": "Sales", "division": "EMEA"}})],
        {f"{ENT}.department": "Sales", f"{ENT}.division": "EMEA"},
        id="§2.4.4 path-less URN key holding a nested object",
    ),
    pytest.param(
        [],
        [op("Add", "manager", [{"$ref": BOSS_REF, "value": "{boss}"}])],
        {f"{ENT}.manager": {"value": "{boss}", "$ref": BOSS_REF}},
        id="§1.2e manager legacy Add with array value and $ref (S1 example 5)",
    ),
    pytest.param(
        [],
        [op("add", MANAGER_URN, "{boss}")],
        {f"{ENT}.manager": {"value": "{boss}", "$ref": BOSS_REF}},
        id="§1.2e manager as plain string on the URN path (SCIM-SDK #686)",
    ),
    pytest.param(
        [],
        [op("add", MANAGER_URN, {"value": "{boss}"})],
        {f"{ENT}.manager": {"value": "{boss}", "$ref": BOSS_REF}},
        id="§1.2e manager as object value (SCIM Validator)",
    ),
    pytest.param(
        [[op("add", MANAGER_URN, {"value": "{boss}"})]],
        [op("replace", MANAGER_URN, {"value": "{boss2}"})],
        {f"{ENT}.manager": {"value": "{boss2}", "$ref": "http://127.0.0.1:7071/scim/v2/Users/{boss2}"}},
        id="§1.2e manager replace with object value (SCIM Validator)",
    ),
    pytest.param(
        [[op("Add", MANAGER_URN, "{boss}")]],
        [op("Replace", MANAGER_URN, "{boss2}")],
        {f"{ENT}.manager": {"value": "{boss2}", "$ref": "http://127.0.0.1:7071/scim/v2/Users/{boss2}"}},
        id="§1.2e manager change as Replace with plain string (Logic App)",
    ),
    pytest.param(
        [[op("add", MANAGER_URN, {"value": "{boss}"})]],
        [op("remove", MANAGER_URN)],
        {ENT: ABSENT},
        id="§1.2e manager removal: remove on the URN path",
    ),
    pytest.param(
        [[op("add", MANAGER_URN, {"value": "{boss}"})]],
        [op("remove", 'manager[value eq "{boss}"]')],
        {ENT: ABSENT},
        id="§1.2e manager removal: remove manager[value eq id] (scim-patch #453)",
    ),
    pytest.param(
        [[op("add", MANAGER_URN, {"value": "{boss}"})]],
        [op("remove", 'manager[value eq "{boss2}"]')],
        {f"{ENT}.manager.value": "{boss}", UNCHANGED: True},
        id="§1.2e manager removal filter naming another manager leaves it",
    ),
    pytest.param(
        [[op("add", MANAGER_URN, {"value": "{boss}"})]],
        [op("Replace", MANAGER_URN, "")],
        {ENT: ABSENT},
        id="§1.2e manager removal: Replace with empty string (Logic App)",
    ),
    pytest.param(
        [[op("add", MANAGER_URN, {"value": "{boss}"}), op("add", f"{ENT}:department", "Ops")]],
        [op("Replace", MANAGER_URN, {"value": ""})],
        {f"{ENT}.manager": ABSENT, f"{ENT}.department": "Ops"},
        id="§1.2e manager removal: Replace with empty value object keeps other extension attributes",
    ),
    pytest.param(
        [],
        [op("Replace", "active", False)],
        {"active": False},
        id="§1.3 disable with boolean false (aadOptscim062020)",
    ),
    pytest.param(
        [],
        [op("Replace", "active", "False")],
        {"active": False},
        id="§1.3 disable with string False (no flag, S2)",
    ),
    pytest.param(
        [[op("Replace", "active", "False")]],
        [op("Replace", "active", "True")],
        {"active": True},
        id="§1.3 re-enable with string True",
    ),
    pytest.param(
        [[op("Replace", "active", False)]],
        [op("replace", "active", True)],
        {"active": True},
        id="§1.3 re-enable with boolean true",
    ),
    pytest.param(
        [],
        [
            op("Replace", "displayName", "Pvlo"),
            op("Replace", 'emails[type eq "work"].value', "TestBcwqnm@test.microsoft.com"),
            op("Replace", "name.givenName", "Gtfd"),
            op("Replace", "name.familyName", "Pkqf"),
            op("Replace", "externalId", "Eqpj"),
            op("Replace", f"{ENT}:employeeNumber", "Eqpj"),
        ],
        {
            "displayName": "Pvlo",
            "emails": [{"primary": True, "type": "work", "value": "TestBcwqnm@test.microsoft.com"}],
            "name.givenName": "Gtfd",
            "name.familyName": "Pkqf",
            "name.formatted": "givenName familyName",
            "externalId": "Eqpj",
            f"{ENT}.employeeNumber": "Eqpj",
        },
        id="§2.3 multiple attribute replace without the flag (one op per path)",
    ),
    pytest.param(
        [],
        [
            op("replace", 'emails[type eq "work"].value', "TestMhvaes@test.microsoft.com"),
            op(
                "replace",
                None,
                {
                    "displayName": "Bjfe",
                    "name.givenName": "Kkom",
                    "name.familyName": "Unua",
                    f"{ENT}:employeeNumber": "Aklq",
                },
            ),
        ],
        {
            "displayName": "Bjfe",
            "emails": [{"primary": True, "type": "work", "value": "TestMhvaes@test.microsoft.com"}],
            "name.givenName": "Kkom",
            "name.familyName": "Unua",
            "name.formatted": "givenName familyName",
            f"{ENT}.employeeNumber": "Aklq",
        },
        id="§2.3 multiple attribute replace with the flag: path-less dotted and URN keys",
    ),
    pytest.param([], [op("Add", "nickName", "Babs")], {"nickName": "Babs"}, id="§2.3 single-value Add (no flag)"),
    pytest.param([], [op("add", "nickName", "Babs")], {"nickName": "Babs"}, id="§2.3 single-value add (flag)"),
    pytest.param([], [op("ADD", "title", "CEO")], {"title": "CEO"}, id="§2.4.1 op in upper case"),
    pytest.param([], [op("Replace", "active", "false")], {"active": False}, id="§2.4.2 active as lower-case string"),
    pytest.param(
        [],
        [op("Replace", "NAME.FAMILYNAME", "Upper"), op("Replace", 'EMAILS[TYPE eq "work"].VALUE', "u@contoso.com")],
        {"name.familyName": "Upper", "emails": [{"primary": True, "type": "work", "value": "u@contoso.com"}]},
        id="§2.4.3 attribute and sub-attribute names are case-insensitive",
    ),
    pytest.param(
        [],
        [op("replace", None, {"userName": "renamed@contoso.com"})],
        {"userName": "renamed@contoso.com"},
        id="§6.3 no-path replace of userName (SCIM Validator)",
    ),
    pytest.param(
        [[op("Add", "nickName", "Babs")]],
        [op("Replace", "nickName", None)],
        {"nickName": ABSENT},
        id="§6.4 null value on replace unassigns (Logic App null update test)",
    ),
    pytest.param(
        [],
        [op("Add", "displayName", "First"), op("Replace", "displayName", "Second")],
        {"displayName": "Second"},
        id="§1.2c Add when empty then Replace when changing",
    ),
    pytest.param(
        [],
        [op("replace", None, {"active": "False", "schemas": ["x"], "meta": {"version": "forged"}})],
        {"active": False},
        id="§2.4.9 path-less value: schemas and meta keys are ignored",
    ),
]


@pytest.fixture
async def patch_target(client: Client) -> dict[str, str]:
    """The S1 user and two users to be its manager."""
    user = await create_user(client, USER)
    return {
        "user": user["id"],
        "boss": await create_plain_user(client, "boss@contoso.com"),
        "boss2": await create_plain_user(client, "boss2@contoso.com"),
    }


@pytest.mark.parametrize(("setup", "operations", "expected"), PATCH_CASES)
async def test_patch_user_shapes(
    client: Client,
    app: App,
    patch_target: dict[str, str],
    setup: list[list[dict[str, Any]]],
    operations: list[dict[str, Any]],
    expected: dict[str, Any],
) -> None:
    url = f"{USERS}/{patch_target['user']}"
    for earlier in setup:
        assert (await client.patch(url, fill(patch(*earlier), patch_target))).status == 204
    before = await client.get(url)
    reply = await client.patch(url, fill(patch(*operations), patch_target))
    assert reply.status == 204, reply.body
    assert reply.body == b""
    after = await client.get(url)
    assert reply.headers["ETag"] == after.headers["ETag"] == after.json["meta"]["version"]
    expected = fill(expected, patch_target)
    assert (reply.headers["ETag"] == before.headers["ETag"]) is expected.pop(UNCHANGED, False)
    doc = after.json
    for path, want in expected.items():
        assert pick(doc, path) == want, (path, doc)
    assert doc["id"] == patch_target["user"] and doc["meta"]["created"] == before.json["meta"]["created"]
    stored = (await stored_user(app, patch_target["user"])).data
    assert no_path_keys(stored), stored
    manager = stored.get(ENT, {}).get("manager")
    assert manager is None or set(manager) == {"value"}, manager  # stored as {"value": id}, $ref built on output


async def test_patch_with_attributes_returns_the_user(client: Client, patch_target: dict[str, str]) -> None:
    """§1.2: 200 with the resource is what the S1 docs show; asking for attributes gets it."""
    reply = await client.patch(
        f"{USERS}/{patch_target['user']}?attributes=userName,active", patch(op("Replace", "active", False))
    )
    assert reply.status == 200, reply.body
    assert reply.json["active"] is False and "emails" not in reply.json


async def test_patch_that_changes_nothing_keeps_the_version(client: Client, patch_target: dict[str, str]) -> None:
    url = f"{USERS}/{patch_target['user']}"
    before = await client.get(url)
    reply = await client.patch(url, patch(op("Replace", "active", True)))
    assert reply.status == 204
    assert reply.headers["ETag"] == before.headers["ETag"]


async def test_patch_manager_may_not_be_the_user_itself(client: Client, app: App, patch_target: dict[str, str]) -> None:
    url = f"{USERS}/{patch_target['user']}"
    reply = await client.patch(url, fill(patch(op("add", MANAGER_URN, "{user}")), patch_target))
    assert_error(reply, 400, "invalidValue", "own manager")
    assert ENT not in (await stored_user(app, patch_target["user"])).data


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(patch(op("add", MANAGER_URN, {"value": "SuzzyQ"})), id="§1.2e SCIM Validator object form"),
        pytest.param(patch(op("Replace", "manager", "0b8f7c7e-0000-0000-0000-000000000000")), id="§1.2e plain id"),
    ],
)
async def test_a_manager_naming_no_user_is_stored_as_sent_and_still_removable(
    client: Client, app: App, patch_target: dict[str, str], body: dict[str, Any]
) -> None:
    """Validators name managers that are no user (README "Microsoft's validators"); they are kept, and removals work."""
    url = f"{USERS}/{patch_target['user']}"
    value = json.dumps(body)
    sent = "SuzzyQ" if "SuzzyQ" in value else "0b8f7c7e-0000-0000-0000-000000000000"
    assert (await client.patch(url, body)).status == 204
    assert (await stored_user(app, patch_target["user"])).data[ENT] == {"manager": {"value": sent}}
    doc = (await client.get(url)).json
    assert doc[ENT]["manager"] == {"value": sent}  # rendered as sent: no $ref to a resource that does not exist
    for removal in (
        op("Replace", MANAGER_URN, ""),
        op("remove", MANAGER_URN),
        op("remove", f'manager[value eq "{sent}"]'),
        op("Replace", MANAGER_URN, {"value": ""}),
    ):
        assert (await client.patch(url, body)).status == 204
        assert (await client.patch(url, patch(removal))).status == 204, removal
        assert ENT not in (await stored_user(app, patch_target["user"])).data, removal
