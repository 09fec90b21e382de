"""Bad input through the triggers: each is answered with the right SCIM error (RFC 7644 §3.12), never a 5xx, and
never with a Python exception name or traceback in the body.
"""

from __future__ import annotations

from typing import Any

import pytest

from scim.app import App
from scim.protocol.schema import PATCH_OP, USER_SCHEMA
from tests.contract.entra import GOOD_USER, GROUPS, USERS, assert_error, dumps, op, patch, stored_user
from tests.support.app import Client

# Bodies -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "scim_type", "fragments"),
    [
        pytest.param(b'{"userName": "x",', None, 400, "invalidSyntax", ["not valid JSON", "line 1"], id="malformed"),
        pytest.param(b"{'userName': 'x'}", None, 400, "invalidSyntax", ["not valid JSON"], id="single quotes"),
        pytest.param(b'{"userName": "x"} trailing', None, 400, "invalidSyntax", ["not valid JSON"], id="trailing"),
        pytest.param(b"", None, 400, "invalidSyntax", ["empty"], id="empty body"),
        pytest.param(b"   \n\t ", None, 400, "invalidSyntax", ["empty"], id="whitespace body"),
        pytest.param(b'{"userName": "\xff\xfe"}', None, 400, "invalidSyntax", ["UTF-8"], id="not UTF-8"),
        pytest.param(b"[" * 1000 + b"]" * 1000, None, 400, "invalidSyntax", ["nests deeper"], id="array 1000 deep"),
        pytest.param(
            b'{"userName": "x", "a": ' + b'{"a": ' * 1000 + b"1" + b"}" * 1001,
            None,
            400,
            "invalidSyntax",
            ["nests deeper"],
            id="object 1000 deep",
        ),
        pytest.param(
            b'{"userName": "x", "a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            None,
            400,
            "invalidSyntax",
            ["nests deeper"],
            id="array 100000 deep",
        ),
        pytest.param(b'[{"userName": "x"}]', None, 400, "invalidSyntax", ["JSON object"], id="JSON array"),
        pytest.param(b'"userName"', None, 400, "invalidSyntax", ["JSON object"], id="JSON string"),
        pytest.param(b"42", None, 400, "invalidSyntax", ["JSON object"], id="JSON number"),
        pytest.param(b"null", None, 400, "invalidSyntax", ["JSON object"], id="JSON null"),
        pytest.param(b'{"userName": "x"}', "text/plain", 415, None, ["application/scim+json"], id="text/plain"),
        pytest.param(b'{"userName": "x"}', "application/xml", 415, None, ["'application/xml'"], id="xml"),
        pytest.param(
            b"userName=x", "application/x-www-form-urlencoded", 415, None, ["application/scim+json"], id="form"
        ),
    ],
)
@pytest.mark.parametrize(
    ("method", "where"),
    [("POST", "users"), ("PUT", "user"), ("PATCH", "user"), ("POST", "groups"), ("PATCH", "group")],
)
async def test_unreadable_bodies(
    client: Client,
    app: App,
    target: dict[str, str],
    method: str,
    where: str,
    raw: bytes,
    content_type: str | None,
    status: int,
    scim_type: str | None,
    fragments: list[str],
) -> None:
    url = {
        "users": USERS,
        "user": f"{USERS}/{target['user']}",
        "groups": GROUPS,
        "group": f"{GROUPS}/{target['group']}",
    }[where]
    headers = {"content-type": content_type} if content_type else None
    before = await app.store.get_user("dev", target["user"])
    reply = await client.request(method, url, raw=raw, headers=headers)
    assert_error(reply, status, scim_type, *fragments)
    assert await app.store.get_user("dev", target["user"]) == before


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
async def test_nan_and_infinity_are_not_json(client: Client, app: App, literal: bytes) -> None:
    reply = await client.request("POST", USERS, raw=b'{"userName": ' + literal + b"}")
    assert_error(reply, 400, "invalidSyntax", "JSON")
    page = await app.store.query_users("dev", lookup=None, match=None, start_index=1, count=10)
    assert page.total == 0


async def test_body_over_the_size_limit_is_413(client: Client, app: App) -> None:
    limit = app.settings.max_body_bytes
    body = dumps({**GOOD_USER, "displayName": "x" * limit})
    assert len(body) > limit
    assert_error(await client.request("POST", USERS, raw=body), 413, None, str(limit))
    assert_error(await client.request("POST", USERS, raw=b" " * (limit + 1)), 413, None, "limit")


async def test_body_at_the_size_limit_is_read(client: Client, app: App) -> None:
    limit = app.settings.max_body_bytes
    body = dumps(GOOD_USER)
    reply = await client.request("POST", USERS, raw=body + b" " * (limit - len(body)))
    assert reply.status == 201, reply.body


@pytest.mark.parametrize(
    "content_type",
    ["application/scim+json", "application/json", "application/json; charset=utf-8", "APPLICATION/SCIM+JSON", ""],
)
async def test_accepted_content_types(client: Client, content_type: str) -> None:
    reply = await client.request("POST", USERS, raw=dumps(GOOD_USER), headers={"content-type": content_type})
    assert reply.status == 201, reply.body


# Wrong types and values ---------------------------------------------------------------------------------------

LONG = "x" * 8193


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        pytest.param({"schemas": [USER_SCHEMA]}, ["userName is required"], id="no userName (Postman)"),
        pytest.param({**GOOD_USER, "userName": None}, ["userName is required"], id="userName null"),
        pytest.param({**GOOD_USER, "userName": ""}, ["userName is required"], id="userName empty"),
        pytest.param({**GOOD_USER, "userName": "   "}, ["userName is required"], id="userName blank"),
        pytest.param({**GOOD_USER, "userName": ["a", "b"]}, ["userName must be a string"], id="userName a list"),
        pytest.param({**GOOD_USER, "userName": {"v": 1}}, ["userName must be a string"], id="userName an object"),
        pytest.param({**GOOD_USER, "userName": True}, ["userName must be a string"], id="userName a boolean"),
        pytest.param({**GOOD_USER, "userName": LONG}, ["8193", "8192"], id="userName over 8192 characters"),
        pytest.param({**GOOD_USER, "active": "maybe"}, ["active must be true or false", "maybe"], id="active maybe"),
        pytest.param({**GOOD_USER, "active": 1}, ["active must be true or false"], id="active a number"),
        pytest.param({**GOOD_USER, "active": [True]}, ["active must be true or false"], id="active a list"),
        pytest.param({**GOOD_USER, "emails": "a@b.c"}, ["emails must be an object"], id="emails a string"),
        pytest.param({**GOOD_USER, "emails": [1, 2]}, ["emails must be an object"], id="emails of numbers"),
        pytest.param(
            {**GOOD_USER, "emails": [{"value": "a@b.c", "primary": True}, {"value": "d@e.f", "primary": "True"}]},
            ["more than one", "primary"],
            id="two primary emails",
        ),
        pytest.param(
            {**GOOD_USER, "emails": [{"value": "a@b.c", "primary": "yes"}]},
            ["emails.primary must be true or false"],
            id="email primary yes",
        ),
        pytest.param(
            {**GOOD_USER, "emails": [{"value": ["a@b.c"]}]}, ["emails.value must be a string"], id="email value a list"
        ),
        pytest.param(
            {**GOOD_USER, "phoneNumbers": [{"value": str(i)} for i in range(101)]},
            ["101 values", "limit is 100"],
            id="101 phone numbers",
        ),
        pytest.param({**GOOD_USER, "name": "John Smith"}, ["name must be an object"], id="name a string"),
        pytest.param(
            {**GOOD_USER, "name": {"givenName": {"x": 1}}}, ["name.givenName must be a string"], id="givenName object"
        ),
        pytest.param(
            {**GOOD_USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": "Finance"},
            ["must be an object"],
            id="enterprise extension a string",
        ),
        pytest.param({**GOOD_USER, "externalId": {"id": 1}}, ["externalId must be a string"], id="externalId object"),
        pytest.param({**GOOD_USER, "displayName": "d" * 100_000}, ["100000", "8192"], id="displayName 100k chars"),
        pytest.param({**GOOD_USER, "roles": [{"value": ""}]}, ["non-empty"], id="role with empty value"),
        pytest.param({**GOOD_USER, "roles": "Admin Role"}, ["'Admin Role'"], id="role name with spaces (strict)"),
    ],
)
async def test_post_user_wrong_types_are_invalid_value(
    client: Client, app: App, body: dict[str, Any], fragments: list[str]
) -> None:
    assert_error(await client.post(USERS, body), 400, "invalidValue", *fragments)
    page = await app.store.query_users("dev", lookup=None, match=None, start_index=1, count=10)
    assert page.total == 0


async def test_user_name_as_a_number_is_kept_as_its_text(client: Client, app: App) -> None:
    """A number where a string belongs is taken as its text on POST and PATCH alike (patch_values, resources)."""
    reply = await client.post(USERS, {**GOOD_USER, "userName": 12345})
    assert reply.status == 201, reply.body
    assert reply.json["userName"] == "12345"
    assert (await stored_user(app, reply.json["id"])).data["userName"] == "12345"


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        pytest.param(
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]},
            ["displayName is required"],
            id="no displayName",
        ),
        pytest.param({"displayName": ["FinanceTeam"]}, ["displayName must be a string"], id="displayName a list"),
        pytest.param({"displayName": "X", "members": [5]}, ["member"], id="member a number"),
        pytest.param({"displayName": "X", "members": [{"value": ""}]}, ["member"], id="member with empty value"),
        pytest.param({"displayName": "X", "members": [{"display": "a"}]}, ["member"], id="member without value"),
    ],
)
async def test_post_group_wrong_types_are_invalid_value(
    client: Client, body: dict[str, Any], fragments: list[str]
) -> None:
    assert_error(await client.post(GROUPS, body), 400, "invalidValue", *fragments)


# PATCH ----------------------------------------------------------------------------------------------------------

E = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.mark.parametrize(
    ("body", "status", "scim_type", "fragments"),
    [
        pytest.param({"schemas": [PATCH_OP]}, 400, "invalidSyntax", ['"Operations"'], id="no Operations"),
        pytest.param(
            {"schemas": [PATCH_OP], "Operations": []}, 400, "invalidSyntax", ["non-empty"], id="empty Operations"
        ),
        pytest.param(
            {"schemas": [PATCH_OP], "Operations": {"op": "add"}},
            400,
            "invalidSyntax",
            ["list"],
            id="Operations an object",
        ),
        pytest.param(
            {"Operations": [op("add", "title", "x")]}, 400, "invalidSyntax", ["schemas", PATCH_OP], id="no schemas"
        ),
        pytest.param(
            {"schemas": [USER_SCHEMA], "Operations": [op("add", "title", "x")]},
            400,
            "invalidSyntax",
            [PATCH_OP],
            id="wrong schema",
        ),
        pytest.param(patch(*[op("add", "title", "x")] * 1001), 400, "tooMany", ["at most 1000"], id="1001 operations"),
        pytest.param(patch("add"), 400, "invalidSyntax", ["Each operation must be an object"], id="operation a string"),  # type: ignore[arg-type]
        pytest.param(patch(op("merge", "title", "x")), 400, "invalidSyntax", ['"op" must be', "'merge'"], id="bad op"),
        pytest.param(patch({"path": "title", "value": "x"}), 400, "invalidSyntax", ['"op" must be'], id="op missing"),
        pytest.param(patch(op(3, "title", "x")), 400, "invalidSyntax", ['"op" must be'], id="op a number"),  # type: ignore[arg-type]
        pytest.param(patch(op("add", "title")), 400, "invalidValue", ["value"], id="add without value"),
        pytest.param(patch(op("replace", "title")), 400, "invalidValue", ["value"], id="replace without value"),
        pytest.param(patch(op("replace")), 400, "invalidValue", ["object value"], id="replace without path or value"),
        pytest.param(
            patch(op("add", None, "x")), 400, "invalidValue", ["object value"], id="path-less add of a string"
        ),
        pytest.param(patch(op("remove")), 400, "noTarget", ["path"], id="remove without path"),
        pytest.param(patch(op("replace", "id", "x")), 400, "mutability", ["id is read-only"], id="path id"),
        pytest.param(patch(op("replace", "meta", {"created": "x"})), 400, "mutability", ["meta"], id="path meta"),
        pytest.param(patch(op("replace", "meta.created", "x")), 400, "mutability", ["meta"], id="path meta.created"),
        pytest.param(patch(op("replace", "schemas", ["x"])), 400, "mutability", ["schemas"], id="path schemas"),
        pytest.param(patch(op("add", "groups", [{"value": "g"}])), 400, "mutability", ["groups"], id="path groups"),
        pytest.param(
            patch(op("add", "members", [{"value": "g"}])), 400, "mutability", ["members"], id="members on a user"
        ),
        pytest.param(
            patch(op("remove", "userName")), 400, "mutability", ["userName is required"], id="remove userName"
        ),
        pytest.param(
            patch(op("replace", "favouriteColour", "green")),
            400,
            "invalidPath",
            ["'favouriteColour'"],
            id="unknown attribute",
        ),
        pytest.param(
            patch(op("replace", "name.nickname", "x")), 400, "invalidPath", ["'nickname'"], id="unknown sub-attribute"
        ),
        pytest.param(
            patch(op("replace", "userName.first", "x")),
            400,
            "invalidPath",
            ["simple attribute"],
            id="sub of a simple attribute",
        ),
        pytest.param(
            patch(op("replace", 'emails[type eq "work".value', "x")),
            400,
            "invalidPath",
            ["never closed"],
            id="unclosed bracket",
        ),
        pytest.param(
            patch(op("replace", 'emails[type zz "work"].value', "x")),
            400,
            "invalidFilter",
            ["operator"],
            id="bad filter in path",
        ),
        pytest.param(patch(op("replace", "emails]", "x")), 400, "invalidPath", ["']'"], id="stray bracket"),
        pytest.param(patch(op("replace", 5, "x")), 400, "invalidPath", ["path"], id="path a number"),  # type: ignore[arg-type]
        pytest.param(
            patch(op("replace", "urn:ietf:params:scim:schemas:core:2.0:Group:displayName", "x")),
            400,
            "invalidPath",
            ["Group"],
            id="foreign schema",
        ),
        pytest.param(
            patch(op("replace", f"{E}:favouriteColour", "x")),
            400,
            "invalidPath",
            ["'favouriteColour'"],
            id="unknown enterprise attribute",
        ),
        pytest.param(
            patch(op("replace", "a" * 2000, "x")), 400, "invalidPath", ["longer than"], id="2000-character path"
        ),
        pytest.param(
            patch(op("replace", "active", "maybe")),
            400,
            "invalidValue",
            ["active must be true or false"],
            id="active maybe",
        ),
        pytest.param(
            patch(op("replace", "userName", ["a"])),
            400,
            "invalidValue",
            ["userName must be a string"],
            id="userName a list",
        ),
        pytest.param(
            patch(op("replace", "userName", "u" * 9000)),
            400,
            "invalidValue",
            ["9000", "8192"],
            id="userName 9000 chars",
        ),
        pytest.param(patch(op("replace", "name", "John")), 400, "invalidValue", ["name"], id="name a string"),
        pytest.param(patch(op("add", "emails", "x@y.z")), 400, "invalidValue", ["emails"], id="emails a string"),
        pytest.param(
            patch(op("add", "emails", [{"value": "a", "colour": "red"}])),
            400,
            "invalidValue",
            ["'colour'"],
            id="unknown email sub-attribute",
        ),
        pytest.param(patch(op("add", f"{E}:manager", 42)), 400, "invalidValue", ["manager"], id="manager a number"),
        pytest.param(
            patch(op("add", f"{E}:manager", [{"value": "a"}, {"value": "b"}])),
            400,
            "invalidValue",
            ["one value"],
            id="two managers",
        ),
        pytest.param(
            patch(op("replace", 'emails[type eq "home"]', {"value": "x", "primary": "maybe"})),
            400,
            "invalidValue",
            ["primary"],
            id="email primary maybe",
        ),
        pytest.param(
            patch(op("replace", 'emails[type eq "work" or type eq "home"].value', "x")),
            400,
            "noTarget",
            ["emails"],
            id="no value matches an or filter",
        ),
        pytest.param(
            patch(op("add", "title", "ok"), op("add", "nope", "x")),
            400,
            "invalidPath",
            ["Operations[1]"],
            id="second operation bad",
        ),
    ],
)
async def test_bad_user_patches(
    client: Client, app: App, target: dict[str, str], body: Any, status: int, scim_type: str, fragments: list[str]
) -> None:
    before = await app.store.get_user("dev", target["user"])
    reply = await client.patch(f"{USERS}/{target['user']}", body)
    assert_error(reply, status, scim_type, *fragments)
    assert await app.store.get_user("dev", target["user"]) == before  # nothing half-applied


@pytest.mark.parametrize(
    ("operation", "scim_type", "fragments"),
    [
        pytest.param(
            op("add", 'members[value eq "x"]', [{"value": "x"}]),
            "invalidPath",
            ["filter"],
            id="add with a member filter",
        ),
        pytest.param(
            op("remove", 'members[display eq "x"]'), "invalidPath", ["only name ids"], id="member filter on display"
        ),
        pytest.param(op("add", "members"), "invalidValue", ["value"], id="add members without value"),
        pytest.param(op("add", "members", [{"value": 5}]), "invalidValue", ["member"], id="member id a number"),
        pytest.param(op("add", "members.value", "x"), "mutability", ["members"], id="members sub-attribute"),
        pytest.param(
            op("replace", "displayName", "Finance Team"), "invalidValue", ["contains spaces"], id="rename with spaces"
        ),
        pytest.param(op("replace", "userName", "x"), "invalidPath", ["'userName'"], id="user attribute on a group"),
        pytest.param(op("replace", "id", "x"), "mutability", ["id"], id="group id"),
    ],
)
async def test_bad_group_patches(
    client: Client, app: App, target: dict[str, str], operation: dict[str, Any], scim_type: str, fragments: list[str]
) -> None:
    reply = await client.patch(f"{GROUPS}/{target['group']}", patch(operation))
    assert_error(reply, 400, scim_type, *fragments)
    group = await app.store.get_group("dev", target["group"], with_members=True)
    assert group is not None and group.data == {"displayName": "FinanceTeam"} and group.members == []
