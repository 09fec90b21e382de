"""The Entra corpus for /Users: every request shape of reference §1.1 to §1.4, §2, §3.5 and §6, through the triggers.

Each case is named after the reference section it comes from; after each request the test checks the response
and what the store holds (read back through GET or app.store).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from scim.app import App
from tests.conftest import Client
from tests.contract.entra import (
    ENT,
    LIST_RESPONSE,
    TYPO_ENTERPRISE,
    USER_SCHEMA,
    USERS,
    assert_error,
    assert_list,
    create_plain_user,
    create_user,
    filter_url,
    no_path_keys,
    op,
    patch,
    stored_user,
    user_body,
)

ABSENT: Any = object()
UNCHANGED = "(the PATCH changes nothing, so the version stays)"
USER = "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"


def pick(doc: Any, path: str) -> Any:
    """``a.b.c`` inside a rendered resource (URN keys are written whole before the last dot-free segment)."""
    if path.startswith(ENT + "."):
        doc, path = doc.get(ENT, {}), path[len(ENT) + 1 :]
    for part in path.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return ABSENT
        doc = doc[part]
    return doc


def fill(template: Any, ids: dict[str, str]) -> Any:
    """Replace ``{boss}``-style placeholders in every string of a body (keys and values) with real ids."""
    if isinstance(template, str):
        for name, value in ids.items():
            template = template.replace("{" + name + "}", value)
        return template
    if isinstance(template, dict):
        return {fill(k, ids): fill(v, ids) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, ids) for v in template]
    return template


# §3.5 Test Connection ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "attribute"),
    [
        pytest.param("plain", "userName", id="§3.5 probe userName eq random GUID"),
        pytest.param("plus", "userName", id="§3.5 probe +-encoded (S14 SCIMReferenceCode #63)"),
        pytest.param("pct", "userName", id="§3.5 probe %20-encoded"),
        pytest.param("plus", "externalId", id="§3.5 probe on externalId matching attribute"),
        pytest.param("pct", 'emails[type eq "work"].value', id="§3.5 probe on work email matching attribute"),
    ],
)
async def test_test_connection_probe_answers_empty_list_response(
    client: Client, app: App, encoding: str, attribute: str
) -> None:
    await create_user(client, USER)  # a populated directory still answers a miss with an empty list
    reply = await client.get(filter_url(USERS, f'{attribute} eq "{uuid.uuid4()}"', encoding=encoding))
    assert_list(reply, 0, items=0)
    assert set(reply.json) == {"schemas", "totalResults", "startIndex", "itemsPerPage", "Resources"}
    assert reply.json["schemas"] == [LIST_RESPONSE]


# §1.1 Create user --------------------------------------------------------------------------------------------


async def test_create_user_sequence_match_miss_post_then_match_hit(client: Client, app: App) -> None:
    """§1.1: match query misses, POST the S1 body, 201 with id and meta; the next match query finds the user."""
    miss = await client.get(filter_url(USERS, f'userName eq "{USER}"', encoding="plus"))
    assert_list(miss, 0)

    body = user_body(USER, externalId="0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef")
    reply = await client.post(USERS, body)
    assert reply.status == 201, reply.body
    doc = reply.json
    assert reply.headers["Content-Type"].startswith("application/scim+json")
    assert reply.headers["Location"] == f"http://127.0.0.1:7071/scim/v2/Users/{doc['id']}"
    assert reply.headers["ETag"] == doc["meta"]["version"]
    assert doc["id"] and doc["schemas"][0] == USER_SCHEMA
    assert doc["externalId"] == "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    assert doc["userName"] == USER
    assert doc["active"] is True
    assert doc["name"] == body["name"]
    assert doc["emails"] == [{"primary": True, "type": "work", "value": f"{USER}@testuser.com"}]
    assert doc["meta"]["resourceType"] == "User"
    assert doc["meta"]["created"] == doc["meta"]["lastModified"]
    assert doc["meta"]["location"] == reply.headers["Location"]

    stored = await stored_user(app, doc["id"])
    assert stored.data["userName"] == USER
    assert stored.data["externalId"] == "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    assert "meta" not in stored.data and "schemas" not in stored.data and "id" not in stored.data
    assert "roles" not in stored.data  # "roles": [] is no roles

    hit = await client.get(filter_url(USERS, f'userName eq "{USER}"', encoding="plus"))
    [found] = assert_list(hit, 1)
    assert found == doc

    by_id = await client.get(f"{USERS}/{doc['id']}")
    assert by_id.status == 200
    assert by_id.json == doc
    assert by_id.headers["ETag"] == doc["meta"]["version"]


@pytest.mark.parametrize(
    ("overrides", "expected", "stored"),
    [
        pytest.param(
            {"schemas": [USER_SCHEMA, TYPO_ENTERPRISE]},
            {"userName": USER},
            {"userName": USER},
            id="§1.1 typo'd enterprise schema URI (S1 example 2) is ignored",
        ),
        pytest.param(
            {"schemas": [USER_SCHEMA, "urn:example:unknown:1.0:User", "http://schemas.example.com/x"]},
            {"userName": USER},
            {"userName": USER},
            id="§2.4.9 unknown schema URIs are ignored",
        ),
        pytest.param(
            {"addresses": None, "phoneNumbers": None, "manager": None, "displayName": None, ENT: None},
            {"addresses": ABSENT, "phoneNumbers": ABSENT, "displayName": ABSENT, ENT: ABSENT},
            {"addresses": ABSENT, "phoneNumbers": ABSENT, "displayName": ABSENT, ENT: ABSENT},
            id="§1.0 nulls on POST are tolerated (S1 example 2)",
        ),
        pytest.param(
            {"meta": {"resourceType": "Group", "created": "1999-01-01T00:00:00Z", "version": 'W/"forged"'}},
            {"meta.resourceType": "User", "meta.version": "!forged"},
            {"meta": ABSENT},
            id="§2.4.9 request meta is ignored",
        ),
        pytest.param(
            {"id": "chosen-by-client"},
            {"id": "!chosen-by-client"},
            {"id": ABSENT},
            id="§1.0 a client-sent id is ignored; the service assigns id",
        ),
        pytest.param({"active": "True"}, {"active": True}, {"active": True}, id="§1.1 active as string True (S11)"),
        pytest.param({"active": "False"}, {"active": False}, {"active": False}, id="§2.4.2 active as string False"),
        pytest.param({"active": "true"}, {"active": True}, {"active": True}, id="§2.4.2 active as string true"),
        pytest.param(
            {"emails": [{"primary": "True", "type": "work", "value": "a@b.c"}]},
            {"emails": [{"primary": True, "type": "work", "value": "a@b.c"}]},
            {"emails": [{"primary": True, "type": "work", "value": "a@b.c"}]},
            id="§2.4.2 primary as string is emitted as a JSON boolean",
        ),
        pytest.param(
            {"phoneNumbers": [{"type": "work", "value": "+1 (555) 010-0000 ext. 12"}]},
            {"phoneNumbers": [{"type": "work", "value": "+1 (555) 010-0000 ext. 12"}]},
            {"phoneNumbers": [{"type": "work", "value": "+1 (555) 010-0000 ext. 12"}]},
            id="§1.0 values are stored exactly as sent (phone numbers)",
        ),
        pytest.param(
            {"favouriteColour": "green", "userTypo": "x"},
            {"favouriteColour": ABSENT},
            {"favouriteColour": ABSENT, "userTypo": ABSENT},
            id="§6.2 Postman misspelled attribute is ignored",
        ),
        pytest.param(
            {"USERNAME": USER, "userName": None, "DisplayName": "Bob"},
            {"userName": USER, "displayName": "Bob"},
            {"userName": USER, "displayName": "Bob"},
            id="§2.4.3 attribute names are case-insensitive on POST",
        ),
        pytest.param(
            {ENT: {"employeeNumber": "701984", "department": "Tour Operations", "costCenter": None}},
            {f"{ENT}.employeeNumber": "701984", f"{ENT}.department": "Tour Operations"},
            {ENT: {"employeeNumber": "701984", "department": "Tour Operations"}},
            id="§1.2d enterprise extension on POST",
        ),
    ],
)
async def test_post_user_variants(
    client: Client, app: App, overrides: dict[str, Any], expected: dict[str, Any], stored: dict[str, Any]
) -> None:
    reply = await client.post(USERS, user_body(USER, **overrides))
    assert reply.status == 201, reply.body
    doc = reply.json
    for path, want in expected.items():
        if isinstance(want, str) and want.startswith("!"):
            assert pick(doc, path) != want[1:]
        else:
            assert pick(doc, path) == want, (path, doc)
    data = (await stored_user(app, doc["id"])).data
    for key, want in stored.items():
        if key == "id":
            assert doc["id"] != "chosen-by-client"
            continue
        assert data.get(key, ABSENT) == want, (key, data)
    assert (await client.get(f"{USERS}/{doc['id']}")).json == doc


async def test_post_user_with_existing_manager_stores_the_reference(client: Client, app: App) -> None:
    """§1.2e on POST: the enterprise manager as {"value": id} is stored as the id and rendered with $ref."""
    boss = await create_plain_user(client, "boss")
    reply = await client.post(USERS, user_body(USER, **{ENT: {"manager": {"value": boss, "$ref": None}}}))
    assert reply.status == 201, reply.body
    assert reply.json[ENT]["manager"] == {"value": boss, "$ref": f"http://127.0.0.1:7071/scim/v2/Users/{boss}"}
    assert (await stored_user(app, reply.json["id"])).data[ENT] == {"manager": {"value": boss}}


@pytest.mark.parametrize(
    ("second", "attribute"),
    [
        pytest.param({"externalId": "other"}, "userName", id="§1.1 duplicate userName is 409 (S1, S9)"),
        pytest.param(
            {"userName": USER.upper(), "externalId": "other"},
            "userName",
            id="§8.6 duplicate userName differing in case is 409",
        ),
        pytest.param({"userName": "someone-else"}, "externalId", id="§8.6 duplicate externalId is 409"),
    ],
)
async def test_duplicate_user_is_409_uniqueness(
    client: Client, app: App, second: dict[str, Any], attribute: str
) -> None:
    first = await create_user(client, USER)
    body = user_body(USER)
    body.update(second)
    reply = await client.post(USERS, body)
    assert_error(reply, 409, "uniqueness", attribute, "already exists")
    page = await app.store.query_users("dev", lookup=None, match=None, start_index=1, count=100)
    assert [u.id for u in page.resources] == [first["id"]]


async def test_rename_onto_a_taken_user_name_is_409_and_changes_nothing(client: Client, app: App) -> None:
    taken = await create_plain_user(client, "taken@contoso.com")
    mover = await create_plain_user(client, "mover@contoso.com")
    reply = await client.patch(f"{USERS}/{mover}", patch(op("Replace", "userName", "TAKEN@contoso.com")))
    assert_error(reply, 409, "uniqueness", "userName")
    assert (await stored_user(app, mover)).data["userName"] == "mover@contoso.com"
    assert (await stored_user(app, taken)).data["userName"] == "taken@contoso.com"


async def test_get_unknown_user_is_404_scim_error(client: Client) -> None:
    """§1.1 "Get by id": 404 with a SCIM error body."""
    reply = await client.get(f"{USERS}/23B51B0E5D7AE9110A49411D")
    assert_error(reply, 404, None, "23B51B0E5D7AE9110A49411D", "does not exist")


# Filters (§1.1, §2.4.8, §6.3) --------------------------------------------------------------------------------


@pytest.fixture
async def people(client: Client) -> dict[str, str]:
    """Three users with distinct matching attributes, plus a manager relation for the legacy check (§1.1 step 5)."""
    boss = await create_user(client, "Boss@Contoso.com", externalId="boss", displayName="The Boss")
    jyoung = await create_user(
        client,
        "Jeff.Young@Contoso.com",
        externalId="jyoung",
        displayName="BobIsAmazing",
        emails=[{"type": "work", "value": "user@contoso.com"}, {"type": "home", "value": "jeff@home.example"}],
        **{ENT: {"manager": {"value": boss["id"]}}},
    )
    other = await create_user(client, "other@contoso.com", externalId="12345", emails=[])
    return {"boss": boss["id"], "jyoung": jyoung["id"], "other": other["id"]}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param('userName eq "Jeff.Young@Contoso.com"', ["jyoung"], id="§1.1 match query on userName"),
        pytest.param('userName eq "jeff.young@contoso.com"', ["jyoung"], id="§6.3 userName filter ignores case"),
        pytest.param('USERNAME EQ "JEFF.YOUNG@CONTOSO.COM"', ["jyoung"], id="§2.4.8 attribute and operator case"),
        pytest.param("externalId eq jyoung", ["jyoung"], id="§1.1 legacy unquoted externalId eq jyoung (S1 ex. 1)"),
        pytest.param('externalId eq "jyoung"', ["jyoung"], id="§1.1 quoted externalId"),
        pytest.param('externalId eq "JYOUNG"', [], id="§1.1 externalId is caseExact (RFC 7643 §3.1)"),
        pytest.param("externalId eq 12345", ["other"], id="§1.1 unquoted numeric externalId"),
        pytest.param(
            'emails[type eq "work"].value eq "user@contoso.com"',
            ["jyoung"],
            id="§1.1 emails[type eq work].value eq x matching attribute",
        ),
        pytest.param(
            'emails[type eq "work"].value eq "USER@contoso.com"', ["jyoung"], id="§2.4.8 email value ignores case"
        ),
        pytest.param(
            'emails[type eq "work"].value eq "jeff@home.example"',
            [],
            id="§1.1 work-email filter does not match the home email",
        ),
        pytest.param('displayName eq "bobisamazing"', ["jyoung"], id="§6.2 Postman DisplayName filter, any case"),
        pytest.param(
            'userName eq "Jeff.Young@Contoso.com" and externalId eq "jyoung"', ["jyoung"], id="§1.0 eq with and"
        ),
        pytest.param('userName eq "nobody" and externalId eq "jyoung"', [], id="§1.0 and with one side false"),
        pytest.param('userName eq "Jeff.Young@Contoso.com#EXT#"', [], id="§5 a B2B UPN with #EXT# does not match"),
    ],
)
async def test_user_filters(client: Client, people: dict[str, str], url: str, expected: list[str]) -> None:
    for encoding in ("plain", "plus", "pct"):
        reply = await client.get(filter_url(USERS, url, encoding=encoding))
        found = assert_list(reply, len(expected))
        assert sorted(r["id"] for r in found) == sorted(people[name] for name in expected), encoding


async def test_postman_filter_on_users_with_trailing_slash(client: Client, people: dict[str, str]) -> None:
    """§6.2: `/Users/?filter=DisplayName+eq+%22BobIsAmazing%22` (S14 #44)."""
    [found] = assert_list(await client.get("/scim/v2/Users/?filter=DisplayName+eq+%22BobIsAmazing%22"), 1)
    assert found["id"] == people["jyoung"]


@pytest.mark.parametrize(
    ("manager", "total"),
    [
        pytest.param("boss", 1, id="§1.1 legacy manager check: current manager"),
        pytest.param("other", 0, id="§1.1 legacy manager check: another manager"),
    ],
)
async def test_legacy_manager_check_with_attributes_id(
    client: Client, people: dict[str, str], manager: str, total: int
) -> None:
    """§1.1 step 5 (S18): `id eq <id> and manager eq <managerId>&attributes=id`."""
    text = f'id eq "{people["jyoung"]}" and manager eq "{people[manager]}"'
    reply = await client.get(filter_url(USERS, text, encoding="plus", extra="attributes=id"))
    found = assert_list(reply, total)
    for resource in found:
        assert resource["id"] == people["jyoung"]
        assert set(resource) <= {"id", "schemas", "meta"}, resource


async def test_attributes_user_name_and_emails(client: Client, people: dict[str, str]) -> None:
    """§6.2 Postman `?attributes=userName,emails`: those plus id/schemas/meta, for GET by id and for lists."""
    one = await client.get(f"{USERS}/{people['jyoung']}?attributes=userName,emails")
    assert one.status == 200
    assert set(one.json) == {"id", "schemas", "meta", "userName", "emails"}
    assert len(one.json["emails"]) == 2
    listing = await client.get(f"{USERS}?attributes=userName,emails")
    for resource in assert_list(listing, 3):
        assert set(resource) <= {"id", "schemas", "meta", "userName", "emails"}
        assert "userName" in resource


async def test_attributes_with_value_filter_selects_the_attribute(client: Client, people: dict[str, str]) -> None:
    """§6.2 "ComplexAttribute tests": `?attributes=emails[type eq "work"]`."""
    reply = await client.get(f'{USERS}/{people["jyoung"]}?attributes=emails[type eq "work"]')
    assert reply.status == 200
    assert set(reply.json) == {"id", "schemas", "meta", "emails"}


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


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        pytest.param("0b8f7c7e-0000-0000-0000-000000000000", "provision the manager first", id="§1.2e unknown id"),
        pytest.param("{user}", "own manager", id="§1.2e a user as their own manager"),
    ],
)
async def test_patch_manager_must_be_another_user_of_the_directory(
    client: Client, app: App, patch_target: dict[str, str], value: str, fragment: str
) -> None:
    url = f"{USERS}/{patch_target['user']}"
    reply = await client.patch(url, fill(patch(op("add", MANAGER_URN, value)), patch_target))
    assert_error(reply, 400, "invalidValue", fragment)
    assert ENT not in (await stored_user(app, patch_target["user"])).data


# §1.3 soft delete and §1.4 delete -----------------------------------------------------------------------------


async def test_disabled_user_stays_visible_to_get_and_filter(client: Client, app: App) -> None:
    """§1.3: "The only time the user shouldn't be returned is when it's hard deleted"."""
    user = await create_user(client, USER)
    reply = await client.patch(f"{USERS}/{user['id']}", patch(op("Replace", "active", "False")))
    assert reply.status == 204
    got = await client.get(f"{USERS}/{user['id']}")
    assert got.status == 200 and got.json["active"] is False
    [found] = assert_list(await client.get(filter_url(USERS, f'userName eq "{USER}"', encoding="plus")), 1)
    assert found["active"] is False
    [active_false] = assert_list(await client.get(filter_url(USERS, "active eq false")), 1)
    assert active_false["id"] == user["id"]
    assert (await stored_user(app, user["id"])).data["active"] is False


async def test_delete_user_then_get_404_and_filter_empty(client: Client, app: App) -> None:
    """§1.4: 204, then GET 404 and a filter with totalResults 0; a second DELETE is 404; the name is free again."""
    user = await create_user(client, USER)
    group_app_member = user["id"]
    reply = await client.delete(f"{USERS}/{user['id']}")
    assert reply.status == 204 and reply.body == b""
    assert_error(await client.get(f"{USERS}/{user['id']}"), 404, None, user["id"])
    assert_list(await client.get(filter_url(USERS, f'userName eq "{USER}"')), 0)
    assert_list(await client.get(filter_url(USERS, f'id eq "{group_app_member}"')), 0)
    assert await app.store.get_user("dev", user["id"]) is None
    assert_error(await client.delete(f"{USERS}/{user['id']}"), 404, None, "does not exist")
    again = await client.post(USERS, user_body(USER))
    assert again.status == 201 and again.json["id"] != user["id"]


# If-Match and ETags (RFC 7644 §3.14) --------------------------------------------------------------------------


async def test_etag_changes_on_every_write(client: Client) -> None:
    created = await client.post(USERS, user_body(USER))
    url = f"{USERS}/{created.json['id']}"
    versions = [created.headers["ETag"]]
    patched = await client.patch(url, patch(op("Replace", "displayName", "One")))
    versions.append(patched.headers["ETag"])
    put = await client.put(url, user_body(USER, displayName="Two"))
    assert put.status == 200, put.body
    versions.append(put.headers["ETag"])
    patched = await client.patch(url, patch(op("Replace", "active", False)))
    versions.append(patched.headers["ETag"])
    assert len(set(versions)) == 4, versions
    got = await client.get(url)
    assert got.headers["ETag"] == got.json["meta"]["version"] == versions[-1]


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
async def test_if_match_mismatch_is_412_and_changes_nothing(client: Client, app: App, method: str) -> None:
    user = await create_user(client, USER)
    url = f"{USERS}/{user['id']}"
    body = patch(op("Replace", "displayName", "x")) if method == "PATCH" else user_body(USER, displayName="x")
    reply = await client.request(method, url, body=body, headers={"If-Match": 'W/"999999"'})
    assert_error(reply, 412, None, "version")
    assert "displayName" not in (await stored_user(app, user["id"])).data
    ok = await client.request(method, url, body=body, headers={"If-Match": user["meta"]["version"]})
    assert ok.status in (200, 204), ok.body
    assert ok.headers["ETag"] != user["meta"]["version"]
    assert (await stored_user(app, user["id"])).data["displayName"] == "x"
    stale = await client.request(method, url, body=body, headers={"If-Match": user["meta"]["version"]})
    assert_error(stale, 412, None)


async def test_if_match_star_and_if_none_match(client: Client) -> None:
    user = await create_user(client, USER)
    url = f"{USERS}/{user['id']}"
    reply = await client.patch(url, patch(op("Replace", "title", "t")), headers={"If-Match": "*"})
    assert reply.status == 204
    current = reply.headers["ETag"]
    unchanged = await client.get(url, headers={"If-None-Match": current})
    assert unchanged.status == 304 and unchanged.body == b""
    assert (await client.get(url, headers={"If-None-Match": user["meta"]["version"]})).status == 200


# Pagination (§5, RFC 7644 §3.4.2.4) -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "start", "items"),
    [
        pytest.param("startIndex=1&count=2", 1, 2, id="§5 first page (Postman startIndex=1&count=2)"),
        pytest.param("startIndex=3&count=2", 3, 2, id="§5 middle page"),
        pytest.param("startIndex=5&count=5", 5, 1, id="§5 last partial page (Logic App count=5)"),
        pytest.param("startIndex=6&count=5", 6, 0, id="§5 past the end"),
        pytest.param("startIndex=0&count=2", 1, 2, id="§5 startIndex below 1 means 1"),
        pytest.param("count=0", 1, 0, id="§5 count=0 gives totalResults only"),
        pytest.param("count=-4", 1, 0, id="§5 negative count means 0"),
        pytest.param("", 1, 5, id="§5 no paging parameters lists everyone"),
        pytest.param("STARTINDEX=2&COUNT=1", 2, 1, id="§5 parameter names in any case"),
    ],
)
async def test_pagination_is_one_based(client: Client, query: str, start: int, items: int) -> None:
    for i in range(5):
        await create_plain_user(client, f"page-{i}@contoso.com")
    reply = await client.get(f"{USERS}?{query}")
    assert_list(reply, 5, start=start, items=items)


async def test_pages_cover_every_user_once(client: Client) -> None:
    ids = {await create_plain_user(client, f"walk-{i}@contoso.com") for i in range(7)}
    seen: list[str] = []
    start = 1
    while True:
        page = (await client.get(f"{USERS}?startIndex={start}&count=3")).json
        assert page["totalResults"] == 7
        if not page["Resources"]:
            break
        seen += [r["id"] for r in page["Resources"]]
        start += page["itemsPerPage"]
    assert sorted(seen) == sorted(ids) and len(seen) == 7


async def test_paging_applies_to_filtered_results(client: Client) -> None:
    for i in range(4):
        await create_plain_user(client, f"filtered-{i}@contoso.com")
    await create_plain_user(client, "unrelated@contoso.com")
    reply = await client.get(filter_url(USERS, 'userName sw "filtered-"', extra="startIndex=2&count=2"))
    found = assert_list(reply, 4, start=2, items=2)
    assert all(r["userName"].startswith("filtered-") for r in found)


# PUT (§6.2 Postman) ---------------------------------------------------------------------------------------------


async def test_put_replaces_the_whole_user(client: Client, app: App) -> None:
    user = await create_user(client, USER, displayName="Before", nickName="Nick")
    body = user_body(USER, displayName="After")
    del body["emails"]
    reply = await client.put(f"{USERS}/{user['id']}", body)
    assert reply.status == 200, reply.body
    assert reply.json["displayName"] == "After" and "nickName" not in reply.json and "emails" not in reply.json
    assert reply.json["meta"]["created"] == user["meta"]["created"]
    data = (await stored_user(app, user["id"])).data
    assert data["displayName"] == "After" and "nickName" not in data and "emails" not in data


async def test_put_unknown_user_is_404(client: Client) -> None:
    assert_error(await client.put(f"{USERS}/nope", user_body(USER)), 404, None, "nope")


async def test_patch_unknown_user_is_404(client: Client) -> None:
    assert_error(await client.patch(f"{USERS}/nope", patch(op("Replace", "active", False))), 404, None, "nope")
