"""Replay of the reference code's own suite, AzureAD/SCIMReferenceCode Microsoft.SCIM.PlaywrightTests.

Its four fixtures (EndpointTests, UserTests, GroupTests, UserAndGroupTestsWithGarbage) run in their Order()
against a fresh server each, with the same request bodies (rebuilt here from its json/ folder: the same
attributes and values, including the literal "${__UUID}" externalIds that its JsonLoader never substitutes,
so several users share one externalId) and every assertion it makes. The reference's own `GET Token` route is
replaced by a token from /oauth2/token. Where it pins the reference server's private choices, the replay
asserts the RFC's version (Replay.differs, reason beside it). The directory runs under policy `create`: the
suite invents group names such as "Group 1", which no catalog holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.replay import (
    DETAIL_TEXT,
    ENTERPRISE,
    GROUP_SCHEMA,
    LIST_RESPONSE,
    USER_SCHEMA,
    Replay,
    listing,
    patch_body,
)
from tests.support.host import StartHost

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

UUID_LITERAL = "${__UUID}"  # JMeter syntax left in the fixtures; sent as is
SHARED_EXTERNAL_ID = "22fbc523-6032-4c5f-939d-5d4850cf3e52"  # every garbage-folder user carries this one


@pytest.fixture(params=["memory", pytest.param("tables", marks=pytest.mark.azurite)])
def replay(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A factory of Replays, each on a fresh server (the suite expects empty stores per fixture)."""
    start: StartHost = request.getfixturevalue("start_host" if request.param == "memory" else "start_tables_host")
    made: list[Replay] = []

    def new(tool: str) -> Replay:
        made.append(Replay(tool, start("create")))
        return made[-1]

    yield new
    for r in made:
        print(r.summary())
        r.close()


def emails(domain: str, home: str) -> list[dict[str, Any]]:
    return [
        {"Primary": True, "type": "work", "value": f"testing@{domain}"},
        {"Primary": False, "type": "home", "value": f"testinghome@{home}"},
    ]


def simple_user(user_name: str, display: str, name: dict[str, str], mails: list[dict[str, Any]], **extra: Any) -> Any:
    body = {"userName": user_name, "active": True, "displayName": display, "schemas": [USER_SCHEMA]}
    body |= {"externalId": UUID_LITERAL, "name": name, "emails": mails, **extra}
    return body


ANDREW = {"formatted": "Adrew Ryan", "familyName": "Ryan", "givenName": "Andrew"}


def garbage_user(user_name: str, family: str, **extra: Any) -> dict[str, Any]:
    """The garbage folder's users: one shape, differing in userName, familyName and a few fields."""
    body: dict[str, Any] = {
        "userName": user_name,
        "active": True,
        "addresses": [
            {
                "country": "Bermuda",
                "formatted": "9132 Jennifer Way Suite 040\nSouth Nancy, MI 55645",
                "locality": "West Mercedes",
                "postalCode": "99265",
                "region": "Montana",
                "streetAddress": "4939 Hess Fork",
                "type": "work",
                "primary": False,
            },
            {
                "country": None,
                "formatted": "18522 Lisa Unions\nEast Gregory, CT 52311",
                "locality": None,
                "postalCode": None,
                "region": None,
                "streetAddress": None,
                "type": "other",
                "primary": False,
            },
        ],
        "displayName": "Kimberly Baker",
        "emails": [
            {"type": "work", "primary": True, "value": "anna33@gmail.com"},
            {"type": "work", "primary": False, "value": "anna33@example.com"},
        ],
        "meta": {
            "created": "2019-09-18T18:15:26.5788954+00:00",
            "lastModified": "2019-09-18T18:15:26.5788976+00:00",
            "resourceType": "User",
        },
        "name": {
            "formatted": "Daniel Mcgee",
            "familyName": family,
            "givenName": "Darl",
            "honorificPrefix": None,
            "honorificSuffix": None,
        },
        "phoneNumbers": [
            {"type": "fax", "primary": False, "value": "312-320-0500"},
            {"type": "mobile", "primary": False, "value": "312-320-1707"},
            {"type": "work", "primary": True, "value": "312-320-0932"},
        ],
        "preferredLanguage": "xh",
        "roles": [],
        "title": "Site engineer",
        "externalId": SHARED_EXTERNAL_ID,
        "schemas": [USER_SCHEMA],
    }
    body.update(extra)
    return body


def omalley() -> dict[str, Any]:
    body = garbage_user("OMalley", "OMalley")
    body["emails"] = [
        {"type": "work", "primary": True, "value": "anna33@example.com"},
        {"type": "other", "primary": False, "value": "anna33@gmail.com"},
    ]
    return body


def put_omalley(user_id: str, **changes: Any) -> dict[str, Any]:
    body = omalley()
    body["id"] = user_id
    body["active"] = False
    body["addresses"][0] |= {"country": "Germany", "formatted": "1923 Jennifer Way Suite 040\nSouth Nancy, MI 55645"}
    body["addresses"][0]["locality"] = "East Mercedes"
    body["addresses"][1]["country"] = "bahams"
    body.update(changes)
    return body


def test_endpoint_tests(replay: Any) -> None:
    r: Replay = replay("Playwright EndpointTests")
    schemas = r.send("GET", "Schemas")
    r.check(schemas.is_success, "SchemaIsReturned: GET Schemas is OK")
    r.check(bool(schemas.text.strip()), "SchemaIsReturned: a body")
    r.check("User Account" in schemas.text, "SchemaIsReturned: it names 'User Account'")
    for kind in ("Users", "Groups"):
        body = r.status(r.send("GET", kind), 200, what=f"GetEmpty{kind}")
        r.check(body["totalResults"] == 0, f"GetEmpty{kind}: totalResults 0")
        r.check(body["itemsPerPage"] == 0, f"GetEmpty{kind}: itemsPerPage 0")
        r.check(body["schemas"] == [LIST_RESPONSE], f"GetEmpty{kind}: one schema, ListResponse")
        r.check(body["Resources"] == [], f"GetEmpty{kind}: Resources empty")
    body = r.status(r.send("GET", "ResourceTypes"), 200, what="GetResourceTypes")
    r.check(body["totalResults"] == 2 and body["itemsPerPage"] == 2, "GetResourceTypes: 2 and 2")
    r.check(body["startIndex"] == 1 and body["schemas"] == [LIST_RESPONSE], "GetResourceTypes: startIndex, schemas")
    r.check(len(body["Resources"]) == 2, "GetResourceTypes: 2 Resources")
    config = r.status(r.send("GET", "ServiceProviderConfig"), 200, what="GetServiceProviderConfig")
    for key in ("authenticationSchemes", "meta", "bulk", "filter", "patch", "sort", "schemas"):
        r.check(key in config, f"GetServiceProviderConfig: has {key}")
    r.differs(
        "etag" in config and "eTag" not in config,
        "GetServiceProviderConfig: has eTag",
        "RFC 7643 §5 names the member 'etag'; 'eTag' is the reference server's casing (JSON names are exact)",
    )


def test_user_tests(replay: Any) -> None:
    r: Replay = replay("Playwright UserTests")
    user1 = simple_user(
        "UserName123",
        "BobIsAmazing",
        {"formatted": "Ryan Leenay", "familyName": "Leenay", "givenName": "Ryan"},
        emails("bob.com", "bob.com"),
    )
    manager = {ENTERPRISE: {"Department": "bob", "Manager": {"Value": "SuzzyQ"}}}
    user2 = simple_user("UserName222", "lennay", ANDREW, emails("bob2.com", "bob3.com"), **manager)
    user2["schemas"] = [ENTERPRISE, USER_SCHEMA]
    ids = []
    for name, body in (("PostUser", user1), ("PostEnterpriseUser", user2)):
        created = r.status(r.send("POST", "Users", body), 201, what=name)
        r.check(isinstance(created.get("id"), str) and created["id"].strip() != "", f"{name}: a string id")
        ids.append(created["id"])
    one, two = ids
    # The enterprise user's manager "SuzzyQ" is no user of the directory: stored and rendered as sent.
    for name, user_id in (("GetUser1", one), ("GetUser2", two)):
        got = r.status(r.send("GET", f"Users/{user_id}"), 200, what=name)
        r.check(got["id"] == user_id, f"{name}: the id")
    r.check(got[ENTERPRISE]["manager"] == {"value": "SuzzyQ"}, "GetUser2: the manager as sent, no $ref")  # our own
    body = r.status(r.send("GET", "Users?attributes=userName,emails"), 200, what="GetUserAttributes")
    r.check(body["totalResults"] == 2 and len(listing(body)) == 2, "GetUserAttributes: 2 users")
    r.check({u["id"] for u in listing(body)} == {one, two}, "GetUserAttributes: their ids")
    body = r.status(r.send("GET", "Users/?filter=DisplayName+eq+%22BobIsAmazing%22"), 200, what="GetUserFilters")
    r.check(body["totalResults"] == 1 and [u["id"] for u in listing(body)] == [one], "GetUserFilters: user 1")
    reply = r.send("PATCH", f"Users/{one}", patch_body({"op": "replace", "path": "userName", "value": "ryan3"}))
    r.patched(reply, "PatchUser1: 200 with id and userName")
    got = r.status(r.send("GET", f"Users/{one}"), 200, what="CheckUser1Patch")
    r.check(got["id"] == one and got["userName"] == "ryan3", "CheckUser1Patch: userName ryan3")
    put = simple_user(
        "UserNameReplace2",
        "BobIsAmazing",
        {"formatted": "NewName", "familyName": "Leenay", "givenName": "Ryan"},
        emails("bobREPLACE.com", "bob.com"),
        id=two,
    )
    put["schemas"] = [ENTERPRISE, USER_SCHEMA]
    got = r.status(r.send("PUT", f"Users/{two}", put), 200, what="PutUser2")
    r.check(got["id"] == two and got["userName"] == "UserNameReplace2", "PutUser2: id and userName")
    got = r.status(r.send("GET", f"Users/{two}"), 200, what="CheckUser2Put")
    r.check(got["id"] == two and got["userName"] == "UserNameReplace2", "CheckUser2Put: id and userName")
    for name, user_id in (("DeleteUser1", one), ("DeleteUser2", two)):
        r.status(r.send("DELETE", f"Users/{user_id}"), 204, what=name)


def _group_created(r: Replay, body: dict[str, Any], name: str, members: int) -> str:
    group = r.status(r.send("POST", "Groups", body), 201, what=name)
    r.check(isinstance(group.get("id"), str) and group["id"].strip() != "", f"{name}: a string id")
    r.check(isinstance(group.get("displayName"), str) and group["displayName"].strip() != "", f"{name}: displayName")
    r.check(len(group.get("members", ["absent"])) == members, f"{name}: {members} members")
    r.check(group["schemas"] == [GROUP_SCHEMA], f"{name}: one schema, the Group's")
    r.check(isinstance(group.get("externalId"), str) and group["externalId"].strip() != "", f"{name}: externalId")
    return str(group["id"])


def test_group_tests(replay: Any) -> None:
    r: Replay = replay("Playwright GroupTests")
    group1 = {"externalId": UUID_LITERAL, "schemas": [GROUP_SCHEMA], "displayName": "Group1DisplayName", "members": []}
    g1 = _group_created(r, group1, "PostEmptyGroup", 0)
    users = []
    for n in (3, 4):
        body = simple_user(f"UserName{n}{n}{n}", "lennay", ANDREW, emails("bob2.com", "bob3.com"))
        body["schemas"] = [ENTERPRISE, USER_SCHEMA]
        created = r.status(r.send("POST", "Users", body), 201, what=f"CreateGroup2Users: user{n}")
        r.check(isinstance(created.get("id"), str) and created["id"] != "", f"CreateGroup2Users: user{n} id")
        users.append(created["id"])
    u3, u4 = users
    group2 = {
        "schemas": [GROUP_SCHEMA],
        "externalId": UUID_LITERAL,
        "displayName": "GroupDisplayName2",
        "members": [{"value": u3, "display": "VP"}],
    }
    g2 = _group_created(r, group2, "PostGroup2WithMembers", 1)
    body = r.status(r.send("GET", "Groups"), 200, what="GetGroups")
    r.check(body["totalResults"] == 2 and body["itemsPerPage"] == 2, "GetGroups: 2 and 2")
    r.check(body["startIndex"] == 1 and body["schemas"] == [LIST_RESPONSE], "GetGroups: startIndex and schemas")
    r.check({g["id"] for g in listing(body)} == {g1, g2}, "GetGroups: both groups")
    group3 = {"schemas": [GROUP_SCHEMA], "externalId": UUID_LITERAL, "displayName": "GroupDisplayName3", "members": []}
    g3 = _group_created(r, group3, "PostGroup3", 0)
    put = {
        "schemas": [GROUP_SCHEMA],
        "id": g3,
        "displayName": "putName",
        "members": [{"value": u3, "display": "VP"}, {"value": u4, "display": "SenorVP"}],
    }
    for name, reply in (("PutGroup3", r.send("PUT", f"Groups/{g3}", put)), ("GetGroup3", None)):
        got = r.status(reply or r.send("GET", f"Groups/{g3}"), 200, what=name)
        r.check(got["id"] == g3 and got["displayName"] == "putName", f"{name}: id and displayName putName")
        r.check("externalId" not in got, f"{name}: the PUT dropped externalId")
        r.check(sorted(m["value"] for m in got["members"]) == sorted([u3, u4]), f"{name}: members 3 and 4")
    add = patch_body(
        {
            "name": "addMember",
            "op": "add",
            "path": "members",
            "value": [{"displayName": "{{displayName}}", "value": u4}],
        }
    )
    remove = patch_body({"op": "remove", "path": f'members[value eq "{u4}"]'})
    for name, body in (("PatchAddUser4Group1", add), ("PatchRemoveUser4Group1", remove), ("PatchAdd...Again", add)):
        r.check(r.send("PATCH", f"Groups/{g1}", body).status_code in (200, 204), f"{name}: 200 or 204")
    got = r.status(r.send("GET", f"Groups/{g1}"), 200, what="GetGroup1")
    r.check([m["value"] for m in got["members"]] == [u4], "GetGroup1: one member, user 4")
    reply = r.send("PATCH", f"Groups/{g1}", patch_body({"op": "remove", "path": "members"}))
    r.check(reply.status_code in (200, 204), "PatchRemoveAllUsersGroup1: 200 or 204")
    got = r.status(r.send("GET", f"Groups/{g1}"), 200, what="GetNoUsersGroup1")
    r.check(got.get("members") == [], "GetNoUsersGroup1: members present and empty")
    for name, path in (
        ("DeleteUser3", f"Users/{u3}"),
        ("DeleteUser4", f"Users/{u4}"),
        ("DeleteGroup1", f"Groups/{g1}"),
        ("DeleteGroup2", f"Groups/{g2}"),
        ("DeleteGroup3", f"Groups/{g3}"),
    ):
        r.status(r.send("DELETE", path), 204, what=name)


def _garbage_user(r: Replay, body: dict[str, Any], name: str, user_name: str, active: bool | None) -> str:
    created = r.status(r.send("POST", "Users", body), 201, what=name)
    r.check(isinstance(created.get("id"), str) and created["id"] != "", f"{name}: a string id")
    r.check(created["userName"] == user_name, f"{name}: userName {user_name}")
    if active is not None:
        r.check(created["active"] is active, f"{name}: active {active}")
    return str(created["id"])


def _refused(r: Replay, reply: Any, status: int, name: str) -> None:
    r.check(not reply.is_success, f"{name}: not OK")
    r.error(reply, status, name, numeric=True)
    if status == 400:
        detail = reply.json().get("detail", "")
        r.differs(detail != "" and "Traceback" not in detail, f"{name}: the reference server's detail", DETAIL_TEXT)


def test_user_and_group_tests_with_garbage(replay: Any) -> None:
    r: Replay = replay("Playwright UserAndGroupTestsWithGarbage")
    # Order 1
    om = _garbage_user(r, omalley(), "PostUserOMalley", "OMalley", True)
    emp1 = _garbage_user(
        r, garbage_user("emp1", "Employee", active="True"), "PostUserEmp1WithStringActive", "emp1", True
    )
    # Order 2
    body = r.status(r.send("GET", "Users"), 200, what="GetUsers")
    r.check(body["totalResults"] == 2 and {u["id"] for u in listing(body)} == {om, emp1}, "GetUsers: the two users")
    # Order 3
    emp2 = _garbage_user(r, garbage_user("emp2", "Employee"), "PostUserEmp2", "emp2", None)
    emp3 = _garbage_user(r, garbage_user("emp3", "Employee"), "PostUserEmp3", "emp3", None)
    noname = garbage_user("x", "Employee")
    del noname["userName"]
    _refused(r, r.send("POST", "Users", noname), 400, "PostUserNoName")
    junk = '{"acve": tre, "adadfdresses": [{"coudftry": "Beruda", "type": "work"}, {"country": null, les": []'
    _refused(r, r.send("POST", "Users", raw=junk), 400, "PostUserJunk")
    nouname = put_omalley(om)
    nouname["userame"] = nouname.pop("userName")
    _refused(r, r.send("PUT", f"Users/{om}", nouname), 400, "PutOMalleyNoUserName")
    typo = put_omalley(om)
    typo["adreses"] = typo.pop("addresses")
    got = r.status(r.send("PUT", f"Users/{om}", typo), 200, what="PutOMalleyTypo")
    r.check("Addresses" not in got, "PutOMalleyTypo: no Addresses")
    enterprise = garbage_user("enterprise", "Employee", **{ENTERPRISE: {"Department": "some department"}})
    enterprise["schemas"] = [USER_SCHEMA, ENTERPRISE]
    ent = _garbage_user(r, enterprise, "PostEnterpriseUser", "enterprise", True)
    group = {"displayName": "Group 1", "externalId": "015489ea-9410-4306-b583-9f002b2446f7", "schemas": [GROUP_SCHEMA]}
    created = r.status(r.send("POST", "Groups", group), 201, what="PostGroup")
    r.check(isinstance(created.get("id"), str) and created["id"] != "", "PostGroup: a string id")
    g1 = created["id"]
    # Order 4
    _refused(r, r.send("POST", "Users", garbage_user("emp3", "Employee")), 409, "PostUserEmp3Exists")
    for name, path, value in (
        ("PatchUserOMalleyUsername", "userName", "newusername"),
        ("PatchUserOMalleyActive", "active", False),
    ):
        reply = r.send("PATCH", f"Users/{om}", patch_body({"op": "Replace", "path": path, "value": value}))
        r.check(reply.status_code in (200, 204), f"{name}: 200 or 204")
    for junk_id in ("string id 1", "string id 2"):
        body = {
            "id": g1,
            "Operations": [{"op": "add", "path": "members", "value": junk_id}],
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        }
        reply = r.send("PATCH", f"Groups/{g1}", body)
        r.differs(
            reply.status_code == 400 and reply.json().get("scimType") == "invalidValue",
            f"PatchGroupAddJunkUsers {junk_id!r}: 200 or 204",
            "RFC 7643 §4.2: a member's value is the id of a resource of this service; 'string id 1' names none, "
            "so it is 400 invalidValue (members must be users of the directory, docs/reference/entra-wire.md §1.6)",
        )
    # Order 5
    got = r.status(r.send("GET", f"Users/{om}"), 200, what="CheckUserOMalleyPatch")
    r.check(got["id"] == om and got["userName"] == "newusername", "CheckUserOMalleyPatch: userName")
    r.check(got["active"] is False, "CheckUserOMalleyPatch: active false")
    got = r.status(r.send("GET", f"Groups/{g1}"), 200, what="GetGroup")
    r.check(got["displayName"] == "Group 1", "GetGroup: displayName")
    r.differs(
        got.get("members") == [],
        "GetGroup: members 'string id 1', 'string id 2'",
        "the junk members were refused above (RFC 7643 §4.2), so the group has none",
    )
    got = r.status(r.send("GET", f"Groups/{g1}?excludedAttributes=members"), 200, what="GetGroupExcludeMembers")
    r.check(got["displayName"] == "Group 1", "GetGroupExcludeMembers: displayName")
    r.check("members" not in got, "GetGroupExcludeMembers: members excluded")
    # Order 6
    got = r.status(r.send("PUT", f"Users/{om}", put_omalley(om)), 200, what="PutUserOMalley")
    r.check(got["userName"] == "OMalley" and got["active"] is False, "PutUserOMalley: userName and active")
    r.check(len(got["addresses"]) == 2 and got["addresses"][0]["country"] == "Germany", "PutUserOMalley: addresses")
    everyone = {om, emp1, emp2, emp3, ent}
    body = r.status(r.send("GET", "Users?startIndex=1&count=2"), 200, what="GetUsersPaginate")
    r.check(body["totalResults"] == 5 and body["itemsPerPage"] == 2, "GetUsersPaginate: 5 in all, 2 per page")
    r.check(body["startIndex"] == 1 and len(listing(body)) == 2, "GetUsersPaginate: startIndex 1, 2 Resources")
    r.check({u["id"] for u in listing(body)} <= everyone, "GetUsersPaginate: known ids")
    body = r.status(r.send("GET", "Users?attributes=userName,emails"), 200, what="GetUsersAttributes")
    r.check(body["totalResults"] == 5 and {u["id"] for u in listing(body)} == everyone, "GetUsersAttributes: all 5")
    _refused(r, r.send("POST", "Users", garbage_user("emp3", "Employee")), 409, "PostUserEmp3Again")
    filters = (
        (
            "FilterEqAndValue",
            "name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)",
            {emp1, emp2, emp3, ent},
        ),
        ("FilterStartsWith", "userName sw O", {om}),
        ("FilterGreaterThan", "meta.Created gt 2015-10-10T14:38:21.8617979-07:00", everyone),
    )
    for name, text, expected in filters:
        # The tool accepts 200 with the right users, or 400 invalidFilter; this service supports all three.
        body = r.status(r.http.get("Users", params={"filter": text}), 200, what=name)
        r.check(body["totalResults"] == len(expected), f"{name}: totalResults {len(expected)}")
        r.check({u["id"] for u in listing(body)} == expected, f"{name}: the expected users")
    put = {
        "id": g1,
        "displayName": "Tiffany Ortiz",
        "externalId": "6c6b54c2-fa81-4234-ad4f-420ec6808049",
        "schemas": [GROUP_SCHEMA],
    }
    got = r.status(r.send("PUT", f"Groups/{g1}", put), 200, what="PutGroup")
    r.check(got["displayName"] == "Tiffany Ortiz", "PutGroup: displayName")
    for user_id in sorted(everyone):
        r.status(r.send("DELETE", f"Users/{user_id}"), 204, what="DeleteUser…")
    r.status(r.send("DELETE", f"Groups/{g1}"), 204, what="DeleteGroup1Garbage")
