"""The Entra corpus for /Users: create, read, delete, soft delete, uniqueness, ETags and PUT, through the triggers
(docs/reference/entra-wire.md §1.1, §1.3, §1.4, §3.5, §6); each case is named after its section there.

After each request the test checks the response and what the store holds (read back through GET or app.store).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from scim.app import App, install_app
from scim.service.admin import AdminService
from scim.service.directories import AdminError
from tests.contract.entra import (
    ABSENT,
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
    op,
    patch,
    pick,
    stored_user,
    user_body,
)
from tests.support.app import CLIENT_ID, Client, make_app

USER = "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"


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


@pytest.fixture
async def unique_client() -> AsyncIterator[tuple[App, Client]]:
    """The dev directory with externalId unique (`scimctl directory create --external-id unique`)."""
    app = await make_app(unique_external_id=True)
    install_app(app)
    token, _ = await app.tokens.issue(CLIENT_ID, "dev", ttl=3600)
    yield app, Client(token)
    install_app(None)
    await app.close()


async def test_shared_external_id_is_the_default(client: Client, app: App) -> None:
    """README "externalId": Microsoft's reference tests create users sharing one externalId and expect 201;
    a filter on it finds them all."""
    ids = [(await create_user(client, f"u{i}@contoso.com", externalId="same"))["id"] for i in range(3)]
    reply = await client.get(f'{USERS}?filter=externalId eq "same"')
    assert reply.status == 200
    assert sorted(r["id"] for r in reply.json["Resources"]) == sorted(ids)
    moved = await client.patch(f"{USERS}/{ids[0]}", patch(op("replace", "externalId", "other")))
    assert moved.status == 204
    assert (await client.get(f'{USERS}?filter=externalId eq "same"')).json["totalResults"] == 2


@pytest.mark.parametrize(
    ("second", "attribute"),
    [
        pytest.param({"externalId": "other"}, "userName", id="§1.1 duplicate userName is 409 (S1, S9)"),
        pytest.param(
            {"userName": USER.upper(), "externalId": "other"},
            "userName",
            id="§8.6 duplicate userName differing in case is 409",
        ),
        pytest.param(
            {"userName": "someone-else"}, "externalId", id="§8.6 duplicate externalId is 409 where it is unique"
        ),
    ],
)
async def test_duplicate_user_is_409_uniqueness(
    unique_client: tuple[App, Client], second: dict[str, Any], attribute: str
) -> None:
    app, client = unique_client
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


async def test_external_id_change_onto_a_taken_one_is_409(unique_client: tuple[App, Client]) -> None:
    app, client = unique_client
    first = await create_user(client, "first@contoso.com", externalId="ext-1")
    second = await create_user(client, "second@contoso.com", externalId="ext-2")
    reply = await client.patch(f"{USERS}/{second['id']}", patch(op("Replace", "externalId", "ext-1")))
    assert_error(reply, 409, "uniqueness", "externalId", "'ext-1'")
    assert (await stored_user(app, second["id"])).data["externalId"] == "ext-2"
    assert (await stored_user(app, first["id"])).data["externalId"] == "ext-1"


async def test_get_unknown_user_is_404_scim_error(client: Client) -> None:
    """§1.1 "Get by id": 404 with a SCIM error body."""
    reply = await client.get(f"{USERS}/23B51B0E5D7AE9110A49411D")
    assert_error(reply, 404, None, "23B51B0E5D7AE9110A49411D", "does not exist")


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


async def test_external_id_uniqueness_is_chosen_before_the_first_user(client: Client, admin: AdminService) -> None:
    """Users written under one rule have (or lack) externalId index entries, so the rule cannot change under them."""
    await admin.set_policy("dev", policy=None, role_mode=None, unique_external_id=True)
    await admin.set_policy("dev", policy=None, role_mode=None, unique_external_id=False)
    await create_user(client, "first@contoso.com", externalId="ext-1")
    with pytest.raises(AdminError, match="before the first user"):
        await admin.set_policy("dev", policy=None, role_mode=None, unique_external_id=True)
    assert (await admin.set_policy("dev", policy="normalize", role_mode=None)).unique_external_id is False
