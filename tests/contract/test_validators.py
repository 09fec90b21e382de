"""What Microsoft's validators rely on (README "Microsoft's validators"), through the registered triggers: the
User `groups` attribute, POST .search (RFC 7644 §3.4.3), echoed read-only values, sub-attribute paths as POST keys,
dangling managers."""

from __future__ import annotations

from typing import Any

import pytest

from scim.app import App
from scim.service.admin import AdminService
from scim.store.check import check_directory
from tests.contract.entra import ENT, GROUPS, USERS, assert_error, create_plain_user, op, patch, stored_user
from tests.support.app import Client

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BASE = "http://127.0.0.1:7071/scim/v2"


class StoreCalls:
    """Counts the store's user_groups calls (the groups attribute costs at most one per request)."""

    def __init__(self, app: App) -> None:
        self.calls = 0
        store: Any = app.store
        original = store.user_groups

        async def spy(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return await original(*args, **kwargs)

        store.user_groups = spy


@pytest.fixture
async def membership(client: Client, admin: AdminService) -> dict[str, str]:
    ann = await create_plain_user(client, "ann@contoso.com")
    bob = await create_plain_user(client, "bob@contoso.com")
    finance = (await admin.add_group("dev", "FinanceTeam")).id
    audit = (await admin.add_group("dev", "Audit")).id
    for group in (finance, audit):
        reply = await client.patch(f"{GROUPS}/{group}", patch(op("add", "members", [{"value": ann}])))
        assert reply.status == 204, reply.body
    return {"ann": ann, "bob": bob, "finance": finance, "audit": audit}


async def test_user_groups_attribute_on_get_and_lists(client: Client, app: App, membership: dict[str, str]) -> None:
    calls = StoreCalls(app)
    doc = (await client.get(f"{USERS}/{membership['ann']}")).json
    expected = sorted(
        [
            {"value": membership["finance"], "display": "FinanceTeam", "type": "direct"},
            {"value": membership["audit"], "display": "Audit", "type": "direct"},
        ],
        key=lambda g: g["value"],
    )
    for group in expected:
        group["$ref"] = f"{BASE}/Groups/{group['value']}"
    assert doc["groups"] == expected
    assert calls.calls == 1
    page = (await client.get(USERS)).json["Resources"]
    assert {u["userName"]: u.get("groups") for u in page} == {"ann@contoso.com": expected, "bob@contoso.com": None}
    assert calls.calls == 2  # one query for the whole page


@pytest.mark.parametrize("query", ["excludedAttributes=groups", "attributes=userName"])
async def test_user_groups_are_not_read_when_the_response_drops_them(
    client: Client, app: App, membership: dict[str, str], query: str
) -> None:
    calls = StoreCalls(app)
    assert "groups" not in (await client.get(f"{USERS}/{membership['ann']}?{query}")).json
    assert all("groups" not in u for u in (await client.get(f"{USERS}?{query}")).json["Resources"])
    assert calls.calls == 0


async def test_groups_attribute_is_read_only(client: Client, membership: dict[str, str]) -> None:
    reply = await client.patch(f"{USERS}/{membership['bob']}", patch(op("add", "groups", [{"value": "x"}])))
    assert_error(reply, 400, "mutability", "read-only")


async def test_search_endpoints_filter_page_and_project(client: Client, membership: dict[str, str]) -> None:
    body = {"schemas": [SEARCH], "filter": 'userName sw "a"', "attributes": ["userName"], "count": 10}
    reply = await client.post(f"{USERS}/.search", body)
    assert reply.status == 200, reply.body
    assert [(u["userName"], sorted(u)) for u in reply.json["Resources"]] == [
        ("ann@contoso.com", ["id", "meta", "schemas", "userName"])
    ]
    groups = await client.post(f"{GROUPS}/.search", {"schemas": [SEARCH], "excludedAttributes": "members"})
    assert groups.json["totalResults"] == 2 and all("members" not in g for g in groups.json["Resources"])
    # Root search: users first, then groups, one page across both (RFC 7644 §3.4.3).
    root = await client.post("/scim/v2/.search", {"schemas": [SEARCH], "startIndex": 2, "count": 2})
    assert root.status == 200, root.body
    assert root.json["totalResults"] == 4 and root.json["startIndex"] == 2
    kinds = [r["meta"]["resourceType"] for r in root.json["Resources"]]
    assert kinds == ["User", "Group"]


@pytest.mark.parametrize(
    ("url", "body", "status", "scim_type"),
    [
        pytest.param(f"{USERS}/.search", [], 400, "invalidSyntax", id="not an object"),
        pytest.param(f"{USERS}/.search", {"schemas": ["urn:x"]}, 400, "invalidSyntax", id="wrong schema"),
        pytest.param(f"{USERS}/.search", {"filter": 'userName eq "x'}, 400, "invalidFilter", id="bad filter"),
        pytest.param(f"{USERS}/.search", {"count": "ten"}, 400, "invalidValue", id="count not a number"),
        pytest.param(f"{USERS}/.search", {"attributes": [1]}, 400, "invalidValue", id="attributes not names"),
        pytest.param("/scim/v2/.search", {"filter": 5}, 400, "invalidValue", id="root: filter not a string"),
    ],
)
async def test_bad_search_requests_are_scim_errors(
    client: Client, url: str, body: Any, status: int, scim_type: str
) -> None:
    assert_error(await client.post(url, body), status, scim_type)


async def test_search_needs_post_and_a_token(client: Client) -> None:
    assert (await client.get(f"{USERS}/.search")).status == 405
    assert (await client.get("/scim/v2/.search")).status == 405
    assert (await Client(None).post("/scim/v2/.search", {})).status == 401


async def test_echoed_read_only_values_are_ignored_and_a_different_id_is_mutability(
    client: Client, app: App, membership: dict[str, str]
) -> None:
    ann, finance = membership["ann"], membership["finance"]
    body = {"id": ann, "userName": "ann@contoso.com", "meta": {"resourceType": "User"}, "title": "Lead"}
    assert (await client.put(f"{USERS}/{ann}", body)).status == 200
    assert_error(await client.put(f"{USERS}/{ann}", {**body, "id": membership["bob"]}), 400, "mutability", "id")
    same = patch(op("replace", None, {"id": finance, "schemas": ["urn:x"], "meta": {}, "externalId": "e1"}))
    assert (await client.patch(f"{GROUPS}/{finance}", same)).status == 204
    assert (await client.patch(f"{USERS}/{ann}", patch(op("replace", "id", ann)))).status == 204
    other = patch(op("replace", None, {"id": "someone-else"}))
    assert_error(await client.patch(f"{GROUPS}/{finance}", other), 400, "mutability", "id")
    assert (await stored_user(app, ann)).data["title"] == "Lead"


async def test_sub_attribute_paths_as_post_keys(client: Client, admin: AdminService) -> None:
    await admin.add_role("dev", "Auditor")
    body = {
        "userName": "paths@contoso.com",
        'roles[primary eq "True"].display': "Auditors",
        'roles[primary eq "True"].value': "Auditor",
        'emails[type eq "work"].value': "p@contoso.com",
        "name.givenName": "Pat",
        "title": None,
    }
    reply = await client.post(USERS, body)
    assert reply.status == 201, reply.body
    assert reply.json["roles"] == [{"primary": True, "display": "Auditors", "value": "Auditor"}]
    assert reply.json["emails"] == [{"type": "work", "value": "p@contoso.com"}]
    assert reply.json["name"] == {"givenName": "Pat"}
    bad = await client.post(USERS, {"userName": "x@contoso.com", 'roles[primary eq "True"].value': "Nope"})
    assert_error(bad, 400, "invalidValue", "Nope")
    broken = await client.post(USERS, {"userName": "y@contoso.com", "emails[type eq].value": "x"})
    assert broken.status == 400, broken.body
    assert broken.json["detail"].startswith("emails[type eq].value: ")


async def test_partial_role_is_kept_and_matched_only_by_its_value(client: Client, app: App) -> None:
    reply = await client.post(
        USERS, {"userName": "partial@contoso.com", "roles": [{"display": "X", "primary": "True"}]}
    )
    assert reply.status == 201, reply.body
    assert reply.json["roles"] == [{"display": "X", "primary": True}]
    refused = await client.patch(f"{USERS}/{reply.json['id']}", patch(op("add", 'roles[primary eq "True"].value', "Z")))
    assert_error(refused, 400, "invalidValue", "'Z'")
    assert (await stored_user(app, reply.json["id"])).data["roles"] == [{"display": "X", "primary": True}]


async def test_check_lists_dangling_managers(client: Client, app: App) -> None:
    boss = await create_plain_user(client, "boss@contoso.com")
    for name, manager in (("a@contoso.com", "SuzzyQ"), ("b@contoso.com", boss)):
        reply = await client.post(USERS, {"userName": name, ENT: {"manager": {"value": manager}}})
        assert reply.status == 201, reply.body
    dangling = reply.json["id"]
    report = await check_directory(app.store, "dev", repair=True)
    assert len(report.dangling_managers) == 1 and "'SuzzyQ'" in report.dangling_managers[0]
    assert report.consistent and report.repaired == 0  # not an inconsistency; --repair leaves it
    await client.delete(f"{USERS}/{boss}")
    report = await check_directory(app.store, "dev", repair=False)
    assert len(report.dangling_managers) == 2 and any(dangling in line for line in report.dangling_managers)


async def test_a_manager_that_names_no_user_is_rendered_as_sent(client: Client) -> None:
    """RFC 7643 §4.3: $ref is the manager's URI; "SuzzyQ" (the reference tests' manager) has none to point at."""
    boss = await create_plain_user(client, "boss@contoso.com")
    managed = {}
    for name, manager in (("a@contoso.com", "SuzzyQ"), ("b@contoso.com", boss)):
        reply = await client.post(USERS, {"userName": name, ENT: {"manager": {"value": manager}}})
        assert reply.status == 201, reply.body
        managed[manager] = reply.json["id"]
        assert reply.json[ENT]["manager"] == _rendered(manager, boss), "POST"
    for manager, uid in managed.items():
        url = f"{USERS}/{uid}"
        assert (await client.get(url)).json[ENT]["manager"] == _rendered(manager, boss), "GET"
        name = "a@contoso.com" if manager == "SuzzyQ" else "b@contoso.com"
        put = await client.put(url, {"userName": name, ENT: {"manager": {"value": manager}}})
        assert put.json[ENT]["manager"] == _rendered(manager, boss), "PUT"
        patched = await client.patch(f"{url}?attributes={ENT}:manager", patch(op("replace", "title", "x")))
        assert patched.json[ENT]["manager"] == _rendered(manager, boss), "PATCH with attributes"
    listed = (await client.get(f'{USERS}?filter=userName sw "a@"')).json["Resources"]
    assert listed[0][ENT]["manager"] == {"value": "SuzzyQ"}, "a list"
    await client.delete(f"{USERS}/{boss}")
    assert (await client.get(f"{USERS}/{managed[boss]}")).json[ENT]["manager"] == {"value": boss}, "a deleted manager"


def _rendered(manager: str, boss: str) -> dict[str, str]:
    return {"value": boss, "$ref": f"{BASE}/Users/{boss}"} if manager == boss else {"value": manager}
