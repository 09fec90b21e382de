"""Hostile strings (README "Hostile input"): lone surrogates, URN-qualified core keys, huge integers,
and identifiers that only look different. Each is refused with a SCIM error or folded, never stored half-way.
"""

from __future__ import annotations

from typing import Any

import pytest

from scim.app import App, install_app
from scim.model import Resource
from scim.protocol.schema import GROUP_SCHEMA, USER_SCHEMA
from tests.contract.entra import GROUPS, USERS, assert_error, assert_list, filter_url, op, patch, stored_user
from tests.support.app import CLIENT_ID, Client, make_app

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


async def _users_in_store(app: App) -> int:
    page = await app.store.query_users("dev", lookup=None, match=None, start_index=1, count=10**6)
    return page.total


# Finding 1: only Unicode scalar values ---------------------------------------------------------------------

SURROGATE_BODIES = [
    pytest.param(b'{"userName": "a\\ud800b"}', "userName", id="userName"),
    pytest.param(b'{"userName": "ok@x", "displayName": "\\udfff"}', "displayName", id="displayName"),
    pytest.param(b'{"userName": "ok@x", "name": {"givenName": "\\ud83d"}}', "name.givenName", id="sub-attribute"),
    pytest.param(b'{"userName": "ok@x", "emails": [{"value": "\\udc00@x"}]}', "emails[0].value", id="in a list"),
    pytest.param(b'{"userName": "ok@x", "\\ud800": "x"}', "a key", id="as a key"),
]


@pytest.mark.parametrize(("raw", "named"), SURROGATE_BODIES)
async def test_lone_surrogates_in_a_post_are_refused_and_nothing_is_stored(
    client: Client, app: App, raw: bytes, named: str
) -> None:
    reply = await client.post(USERS, raw=raw)
    assert_error(reply, 400, "invalidValue", named, "surrogate")
    assert await _users_in_store(app) == 0
    listing = await client.get(USERS)
    assert_list(listing, 0)


async def test_a_surrogate_pair_is_one_character_and_accepted(client: Client, app: App) -> None:
    reply = await client.post(USERS, raw=b'{"userName": "smile\\ud83d\\ude00@x"}')
    assert reply.status == 201, reply.body
    assert reply.json["userName"] == "smile\U0001f600@x"


async def test_lone_surrogates_in_patch_values_and_group_names_are_refused(client: Client, app: App) -> None:
    created = await client.post(USERS, {"schemas": [USER_SCHEMA], "userName": "target@x"})
    user_id = created.json["id"]
    raw = (
        b'{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],'
        b'"Operations":[{"op":"replace","path":"displayName","value":"\\ud800"}]}'
    )
    reply = await client.patch(f"{USERS}/{user_id}", raw=raw)
    assert_error(reply, 400, "invalidValue", "Operations[0].value", "surrogate")
    assert "displayName" not in (await stored_user(app, user_id)).data
    group = await client.post(GROUPS, raw=b'{"schemas":["' + GROUP_SCHEMA.encode() + b'"],"displayName":"G\\udbff"}')
    assert_error(group, 400, "invalidValue", "displayName", "surrogate")
    assert (await client.get(f"{USERS}/{user_id}")).status == 200


async def test_a_surrogate_stored_before_the_check_does_not_poison_reads(client: Client, app: App) -> None:
    """One such user made GET by id, every list and the userName filter answer 500."""
    await app.store.create_user(
        "dev", Resource(id="legacy", data={"userName": "old\ud800@x"}, created="", last_modified="")
    )
    assert (await client.get(f"{USERS}/legacy")).json["userName"] == "old\ud800@x"
    assert_list(await client.get(USERS), 1)
    assert_list(await client.get(filter_url(USERS, 'userName eq "nobody@x"')), 0)


async def test_a_lone_surrogate_in_a_filter_is_invalid_filter(client: Client) -> None:
    reply = await client.get(filter_url(USERS, 'userName eq "\\ud800"'))
    assert_error(reply, 400, "invalidFilter", "surrogate")


# Finding 5 (the JSON number part) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [b"1" * 4300, b"1" * 5000, b"-" + b"9" * 4400, b"1e400", b"-1e999"],
    ids=["4300 digits", "5000 digits", "negative 4400 digits", "1e400", "-1e999"],
)
async def test_numbers_python_cannot_hold_are_invalid_syntax(client: Client, app: App, number: bytes) -> None:
    reply = await client.post(USERS, raw=b'{"userName": "n@x", "title": ' + number + b"}")
    assert_error(reply, 400, "invalidSyntax", "number")
    assert await _users_in_store(app) == 0


# Finding 2: URN-qualified core keys follow the same rules as plain ones ----------------------------------


async def test_a_urn_qualified_password_is_never_stored_or_returned(client: Client, app: App) -> None:
    body = {"schemas": [USER_SCHEMA], "userName": "pw@x", f"{CORE_USER}:password": "hunter2"}
    reply = await client.post(USERS, body)
    assert reply.status == 201, reply.body
    assert "hunter2" not in reply.body.decode()
    stored = await stored_user(app, reply.json["id"])
    assert "hunter2" not in repr(stored.data)
    put = await client.put(f"{USERS}/{reply.json['id']}", {**body, f"{CORE_USER.lower()}:PASSWORD": "hunter3"})
    assert put.status == 200, put.body
    assert "hunter3" not in put.body.decode() and "hunter3" not in repr((await stored_user(app, reply.json["id"])).data)


@pytest.mark.parametrize("key", [f"{CORE_USER}:id", f"{CORE_USER.upper()}:ID", f"{CORE_USER}:meta"])
async def test_a_urn_qualified_id_cannot_change_the_rendered_id(client: Client, app: App, key: str) -> None:
    other = await client.post(USERS, {"schemas": [USER_SCHEMA], "userName": "other@x"})
    mine = await client.post(USERS, {"schemas": [USER_SCHEMA], "userName": "mine@x", key: other.json["id"]})
    assert mine.status == 201, mine.body
    assert mine.json["id"] != other.json["id"]
    put = await client.put(f"{USERS}/{mine.json['id']}", {"userName": "mine@x", key: other.json["id"]})
    if key.lower().endswith(":id"):
        # An echoed id naming another resource is 400 mutability (README "Microsoft's validators"); its own is fine.
        assert_error(put, 400, "mutability", "id")
        put = await client.put(f"{USERS}/{mine.json['id']}", {"userName": "mine@x", key: mine.json["id"]})
    assert put.status == 200, put.body
    assert put.json["id"] == mine.json["id"]
    assert (await client.get(f"{USERS}/{mine.json['id']}")).json["id"] == mine.json["id"]
    assert "id" not in (await stored_user(app, mine.json["id"])).data


async def test_a_urn_qualified_group_id_cannot_change_the_rendered_id(client: Client, admin: Any) -> None:
    first = await admin.add_group("dev", "FinanceTeam")
    second = await admin.add_group("dev", "HumanResources")
    body = {"schemas": [GROUP_SCHEMA], "displayName": "FinanceTeam", f"{CORE_GROUP}:id": second.id}
    assert_error(await client.put(f"{GROUPS}/{first.id}", body), 400, "mutability", "id")
    put = await client.put(f"{GROUPS}/{first.id}", {**body, f"{CORE_GROUP}:id": first.id})
    assert put.status == 200, put.body
    assert put.json["id"] == first.id
    assert (await client.get(f"{GROUPS}/{first.id}")).json["id"] == first.id


async def test_a_urn_qualified_key_of_the_other_resource_type_is_ignored(client: Client, app: App) -> None:
    reply = await client.post(USERS, {"userName": "x@x", f"{CORE_GROUP}:displayName": "Sneaky"})
    assert reply.status == 201, reply.body
    assert "displayName" not in (await stored_user(app, reply.json["id"])).data


async def test_a_urn_qualified_password_in_a_pathless_patch_is_not_stored(client: Client, app: App) -> None:
    created = await client.post(USERS, {"userName": "p@x"})
    user_id = created.json["id"]
    reply = await client.patch(f"{USERS}/{user_id}", patch(op("replace", None, {f"{CORE_USER}:password": "pw1"})))
    assert reply.status == 204, reply.body
    assert "pw1" not in repr((await stored_user(app, user_id)).data)
    reply = await client.patch(f"{USERS}/{user_id}", patch(op("replace", f"{CORE_USER}:id", "other")))
    assert_error(reply, 400, "mutability", "id")


# Finding 6: identifiers compare in one normalised form --------------------------------------------------

SAME_AS_ALICE = [
    pytest.param("ALICE@contoso.com", id="case"),
    pytest.param("\uff41lice@contoso.com", id="fullwidth"),
    pytest.param(" alice@contoso.com", id="leading space"),
    pytest.param("alice@contoso.com ", id="trailing space"),
]


@pytest.mark.parametrize("twin", SAME_AS_ALICE)
async def test_user_names_that_fold_alike_are_one_user(client: Client, twin: str) -> None:
    assert (await client.post(USERS, {"userName": "alice@contoso.com"})).status == 201
    assert_error(await client.post(USERS, {"userName": twin}), 409, "uniqueness")
    found = await client.get(filter_url(USERS, f'userName eq "{twin.strip()}"'))
    assert_list(found, 1)


async def test_nfc_and_nfd_user_names_are_one_user(client: Client) -> None:
    assert (await client.post(USERS, {"userName": "jos\u00e9@contoso.com"})).status == 201
    assert_error(await client.post(USERS, {"userName": "jose\u0301@contoso.com"}), 409, "uniqueness")


@pytest.mark.parametrize(
    ("name", "what"),
    [
        pytest.param("al\u200bice@contoso.com", "U+200B", id="zero-width space"),
        pytest.param("al\u00adice@contoso.com", "U+00AD", id="soft hyphen"),
        pytest.param("alice\x00@contoso.com", "U+0000", id="NUL"),
        pytest.param("alice\n@contoso.com", "U+000A", id="newline"),
        pytest.param("alice\x1b[31m@contoso.com", "U+001B", id="ANSI escape"),
    ],
)
async def test_user_names_with_invisible_or_control_characters_are_refused(
    client: Client, app: App, name: str, what: str
) -> None:
    reply = await client.post(USERS, {"userName": name})
    assert_error(reply, 400, "invalidValue", "userName", what)
    assert await _users_in_store(app) == 0


async def test_external_ids_fold_width_and_form_but_keep_case() -> None:
    # Uniqueness applies where the directory makes externalId unique (README "externalId: shared by default").
    app = await make_app(unique_external_id=True)
    install_app(app)
    token, _ = await app.tokens.issue(CLIENT_ID, "dev", ttl=3600)
    client = Client(token)
    assert (await client.post(USERS, {"userName": "a@x", "externalId": "Ext-1"})).status == 201
    assert_error(await client.post(USERS, {"userName": "b@x", "externalId": "\uff25xt-1"}), 409, "uniqueness")
    assert_error(await client.post(USERS, {"userName": "c@x", "externalId": "Ext-1\n"}), 400, "invalidValue")
    # RFC 7643 §3.1: externalId is caseExact, so another case is another value.
    assert (await client.post(USERS, {"userName": "d@x", "externalId": "ext-1"})).status == 201
    install_app(None)
    await app.close()


async def test_a_patch_cannot_smuggle_a_control_character_into_user_name(client: Client, app: App) -> None:
    created = await client.post(USERS, {"userName": "clean@x"})
    reply = await client.patch(f"{USERS}/{created.json['id']}", patch(op("replace", "userName", "clean@x\r\nX: y")))
    assert_error(reply, 400, "invalidValue", "userName")
    assert (await stored_user(app, created.json["id"])).data["userName"] == "clean@x"


async def test_group_names_fold_alike_under_create(make_client: Any) -> None:
    _, client = await make_client("create")
    assert (await client.post(GROUPS, {"schemas": [GROUP_SCHEMA], "displayName": "Finance Team"})).status == 201
    twin = await client.post(GROUPS, {"schemas": [GROUP_SCHEMA], "displayName": "  \uff26inance   Team "})
    assert twin.status == 409, twin.body
    bad = await client.post(GROUPS, {"schemas": [GROUP_SCHEMA], "displayName": "Fin\u200bance"})
    assert_error(bad, 400, "invalidValue", "displayName")
