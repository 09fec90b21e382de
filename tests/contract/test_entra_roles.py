"""The Entra corpus for app roles: every body of docs/reference/entra-wire.md §4, the senhasegura `entitlements` mapping
(§7), and the catalog name policies (strict, normalize, create) with their exact error details.

role_mode `single` is SingleAppRoleAssignment (§4.1: an Add sets the one primary role); `multiple` is
AppRoleAssignmentsComplex (§4.2: Add appends); a replace is AssertiveAppRoleAssignmentsComplex (§4.3: the whole set).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from scim.app import App
from scim.model import effective_roles
from scim.service.admin import AdminService
from tests.contract.entra import USER_SCHEMA, USERS, assert_error, op, patch, stored_user
from tests.support.app import Client
from tests.support.contract import AppFactory

AAD = "WindowsAzureActiveDirectoryRole"
CATALOG = ("Admin", "User", "Test", "25", "SuperAdmin", "Administracao")


def stringified(value: str, display: str, role_id: str = "06b07648-ecfe-589f-9d2f-6325724a46ee") -> dict[str, str]:
    """§4.1 PATCH: the role travels as a JSON *string* inside ``value``."""
    return {"value": json.dumps({"id": role_id, "value": value, "displayName": display})}


def user(name: str = "alias@contoso.OnMicrosoft.com", /, **extra: Any) -> dict[str, Any]:
    """The §4.1/§4.2 POST body without roles."""
    body: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "externalId": "alias",
        "userName": name,
        "active": True,
        "displayName": "First Name Last Name",
        "meta": {"resourceType": "User"},
    }
    body.update(extra)
    return body


async def roles_of(app: App, user_id: str) -> list[dict[str, Any]]:
    """The effective role set: roles and entitlements together (each kept as the attribute it was sent as)."""
    return effective_roles((await stored_user(app, user_id)).data)


async def catalog(app: App) -> set[str]:
    return {role.value for role in await app.store.list_roles("dev")}


# POST ---------------------------------------------------------------------------------------------------------

POST_CASES = [
    pytest.param(
        "single",
        {"roles": [{"primary": True, "type": AAD, "value": "Admin"}]},
        [{"primary": True, "type": AAD, "value": "Admin"}],
        id="§4.1 SingleAppRoleAssignment POST",
    ),
    pytest.param(
        "multiple",
        {
            "roles": [
                {"primary": False, "type": AAD, "displayName": "Admin", "value": "Admin"},
                {"primary": False, "type": AAD, "displayName": "User", "value": "User"},
            ]
        },
        [
            {"primary": False, "type": AAD, "display": "Admin", "value": "Admin"},
            {"primary": False, "type": AAD, "display": "User", "value": "User"},
        ],
        id="§4.2 AppRoleAssignmentsComplex POST (displayName read as display)",
    ),
    pytest.param(
        "single",
        {"roles": [{"primary": "True", "type": AAD, "value": "Admin"}]},
        [{"primary": True, "type": AAD, "value": "Admin"}],
        id="§6.3 roles[].primary sent as a string is emitted as a boolean",
    ),
    pytest.param(
        "single",
        {"entitlements": [{"primary": True, "type": AAD, "value": "Admin"}]},
        [{"primary": True, "type": AAD, "value": "Admin"}],
        id="§7 senhasegura mapping: entitlements on POST are the roles",
    ),
    pytest.param(
        "single",
        {"roles": [json.dumps({"id": "x", "value": "25", "displayName": "Role1234"})]},
        [{"value": "25", "display": "Role1234"}],
        id="§4.1 stringified role JSON on POST",
    ),
    pytest.param(
        "single",
        {"roles": [{"value": "Admin"}, {"value": "Admin", "primary": True}]},
        [{"value": "Admin", "primary": True}],
        id="§4 the same role twice is kept once, primary",
    ),
]


@pytest.mark.parametrize(("mode", "extra", "expected"), POST_CASES)
async def test_post_user_with_roles(
    make_client: AppFactory, mode: str, extra: dict[str, Any], expected: list[dict[str, Any]]
) -> None:
    app, client = await make_client("strict", mode, roles=CATALOG)
    reply = await client.post(USERS, user(**extra))
    assert reply.status == 201, reply.body
    sent_as, other = ("entitlements", "roles") if "entitlements" in extra else ("roles", "entitlements")
    assert reply.json[sent_as] == expected
    assert other not in reply.json  # each reads back as the attribute it was sent as (scim2-tester checks it)
    assert await roles_of(app, reply.json["id"]) == expected
    assert (await client.get(f"{USERS}/{reply.json['id']}")).json[sent_as] == expected


async def test_post_with_roles_and_entitlements_keeps_both(make_client: AppFactory) -> None:
    app, client = await make_client("strict", "multiple", roles=CATALOG)
    reply = await client.post(USERS, user(roles=[{"value": "Admin"}], entitlements=[{"value": "User"}]))
    assert reply.status == 201, reply.body
    assert sorted(r["value"] for r in await roles_of(app, reply.json["id"])) == ["Admin", "User"]


# PATCH --------------------------------------------------------------------------------------------------------

PATCH_CASES = [
    pytest.param(
        "single",
        [],
        [op("Add", "roles", [stringified("25", "Role1234")])],
        [{"value": "25", "display": "Role1234", "primary": True}],
        id="§4.1 PATCH Add with the stringified role JSON",
    ),
    pytest.param(
        "single",
        [{"primary": True, "type": AAD, "value": "Admin"}],
        [op("Add", "roles", [stringified("User", "User")])],
        [{"value": "User", "display": "User", "primary": True}],
        id="§4.1 single: Add of one role replaces the role",
    ),
    pytest.param(
        "single",
        [{"primary": True, "type": AAD, "value": "Admin"}],
        [op("Replace", 'roles[primary eq "True"].value', "User")],
        [{"primary": True, "type": AAD, "value": "User"}],
        id="§4.1 single: roles[primary eq True].value target",
    ),
    pytest.param(
        "single",
        [],
        [
            op("Add", 'roles[primary eq "True"].value', "Admin"),
            op("Add", 'roles[primary eq "True"].display', "Administrator"),
            op("Add", 'roles[primary eq "True"].type', AAD),
        ],
        [{"primary": True, "value": "Admin", "display": "Administrator", "type": AAD}],
        id="§4.1 single: value, display and type targets upsert the primary role",
    ),
    pytest.param(
        "single",
        [],
        [op("Add", 'roles[primary eq "True"].value', json.dumps({"id": "x", "value": "25", "displayName": "R"}))],
        [{"primary": True, "value": "25", "display": "R"}],
        id="§4.1 single: stringified JSON on the roles[primary eq True].value target",
    ),
    pytest.param(
        "multiple",
        [{"primary": False, "type": AAD, "value": "Test"}],
        [op("Add", "roles", [stringified("Admin", "Admin"), stringified("User", "User", "06b07648-ecfe-599f")])],
        [
            {"primary": False, "type": AAD, "value": "Test"},
            {"value": "Admin", "display": "Admin"},
            {"value": "User", "display": "User"},
        ],
        id="§4.2 multiple: PATCH Add of two stringified roles appends",
    ),
    pytest.param(
        "multiple",
        [{"primary": False, "type": AAD, "value": "Admin"}],
        [op("Add", "roles", [stringified("User", "User")])],
        [{"primary": False, "type": AAD, "value": "Admin"}, {"value": "User", "display": "User"}],
        id="§4.2 multiple: Add of one role appends",
    ),
    pytest.param(
        "multiple",
        [{"value": "Admin"}, {"value": "User"}, {"value": "25"}],
        [
            op(
                "replace",
                "roles",
                [
                    {"primary": False, "type": AAD, "display": "User", "value": "User"},
                    {"primary": False, "type": AAD, "display": "Test", "value": "Test"},
                ],
            )
        ],
        [
            {"primary": False, "type": AAD, "display": "User", "value": "User"},
            {"primary": False, "type": AAD, "display": "Test", "value": "Test"},
        ],
        id="§4.3 Assertive replace of the whole set with display keys",
    ),
    pytest.param(
        "single",
        [{"value": "Admin", "primary": True}],
        [op("replace", "roles", [{"primary": False, "type": AAD, "display": "Test", "value": "Test"}])],
        [{"primary": False, "type": AAD, "display": "Test", "value": "Test"}],
        id="§4.3 Assertive replace under role_mode single is still the whole set",
    ),
    pytest.param(
        "multiple",
        [{"value": "Admin"}, {"value": "User"}],
        [op("Remove", "roles", [{"value": "Admin"}])],
        [{"value": "User"}],
        id="§4 Remove with a value list removes only those roles",
    ),
    pytest.param(
        "multiple",
        [{"value": "Admin"}, {"value": "User"}],
        [op("remove", 'roles[value eq "User"]')],
        [{"value": "Admin"}],
        id="§4 remove with a filter path",
    ),
    pytest.param(
        "multiple",
        [{"value": "Admin"}, {"value": "User"}],
        [op("remove", "roles")],
        [],
        id="§4 remove roles without a value removes all",
    ),
    pytest.param(
        "single",
        [],
        [op("Add", "entitlements", [stringified("Admin", "Admin")])],
        [{"value": "Admin", "display": "Admin", "primary": True}],
        id="§7 senhasegura mapping: PATCH Add on entitlements",
    ),
    pytest.param(
        "single",
        [{"value": "Admin", "primary": True}],
        [op("Add", "entitlements", [{"primary": True, "type": AAD, "value": "User"}])],
        [{"value": "User", "type": AAD, "primary": True}],
        id="§7 senhasegura mapping: entitlements Add replaces the single role",
    ),
    pytest.param(
        "single",
        [{"value": "Admin", "primary": True}],
        [op("Replace", 'entitlements[primary eq "True"].value', "User")],
        [{"value": "User", "primary": True}],
        id="§7 senhasegura mapping: entitlements[primary eq True].value",
    ),
    pytest.param(
        "multiple",
        [{"value": "Admin"}],
        [op("replace", None, {"entitlements": [{"value": "User"}, {"value": "Test"}]})],
        [{"value": "User"}, {"value": "Test"}],
        id="§2.4.4 path-less replace of entitlements",
    ),
    pytest.param(
        "single",
        [],
        [op("add", "roles", [{"value": "Admin", "display": "Admin", "primary": "True", "type": AAD}])],
        [{"value": "Admin", "display": "Admin", "primary": True, "type": AAD}],
        id="§4 aadOptscim062020: PATCH sent in the POST format",
    ),
]


@pytest.mark.parametrize(("mode", "before", "operations", "expected"), PATCH_CASES)
async def test_patch_roles(
    make_client: AppFactory,
    mode: str,
    before: list[dict[str, Any]],
    operations: list[dict[str, Any]],
    expected: list[dict[str, Any]],
) -> None:
    app, client = await make_client("strict", mode, roles=CATALOG)
    # The senhasegura mapping (§7) sends entitlements throughout, so its users were created with them too.
    attribute = "entitlements" if "entitlements" in json.dumps(operations) else "roles"
    created = await client.post(USERS, user(**{attribute: before}) if before else user())
    assert created.status == 201, created.body
    url = f"{USERS}/{created.json['id']}"
    reply = await client.patch(url, patch(*operations))
    assert reply.status == 204, reply.body
    assert reply.headers["ETag"] != created.headers["ETag"]
    assert await roles_of(app, created.json["id"]) == expected
    doc = (await client.get(url)).json
    assert effective_roles(doc) == expected
    assert all(isinstance(r.get("primary", False), bool) for r in [*doc.get("roles", []), *doc.get("entitlements", [])])


async def test_roles_already_held_are_not_rechecked(make_client: AppFactory) -> None:
    """A role later removed from the catalog does not block unrelated updates of its holders."""
    app, client = await make_client("strict", "multiple", roles=("Admin", "Legacy"))
    created = await client.post(USERS, user(roles=[{"value": "Legacy"}]))
    await app.store.delete_role("dev", "Legacy")
    reply = await client.patch(f"{USERS}/{created.json['id']}", patch(op("Add", "roles", [{"value": "Admin"}])))
    assert reply.status == 204, reply.body
    assert [r["value"] for r in await roles_of(app, created.json["id"])] == ["Legacy", "Admin"]


# Name policies -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "role", "fragments"),
    [
        pytest.param(
            "strict",
            "Super Admin",
            ["'Super Admin'", "naming rule", "contains spaces", "closest existing role is 'SuperAdmin'"],
            id="§7 strict: a role with spaces is refused, naming the closest role",
        ),
        pytest.param(
            "strict",
            "Administração",
            ["'Administração'", "accents", "closest existing role is 'Administracao'"],
            id="§7 strict: a role with accents is refused",
        ),
        pytest.param(
            "strict",
            "Auditor",
            ["'Auditor'", "no role with exactly that name exists", "scimctl role add"],
            id="§7 strict: a role not in the catalog is refused",
        ),
        pytest.param(
            "strict",
            "admin",
            ["'admin'", "no role with exactly that name exists", "closest existing role is 'Admin'"],
            id="§7 strict: a role differing only in case is refused",
        ),
        pytest.param(
            "normalize",
            "Auditor",
            ["'Auditor'", "no role matches it, even ignoring case", "scimctl role add"],
            id="§7 normalize: a role folding to nothing in the catalog is refused",
        ),
    ],
)
@pytest.mark.parametrize("how", ["POST", "PATCH stringified", "PATCH Assertive", "PATCH primary target"])
async def test_role_refusals_name_value_rule_and_closest(
    make_client: AppFactory, policy: str, role: str, fragments: list[str], how: str
) -> None:
    app, client = await make_client(policy, "multiple", roles=CATALOG)
    if how == "POST":
        reply = await client.post(USERS, user(roles=[{"primary": True, "type": AAD, "value": role}]))
        assert_error(reply, 400, "invalidValue", *fragments, "rename it in entra", "scimctl")
        page = await app.store.query_users("dev", lookup=None, match=None, start_index=1, count=10)
        assert page.total == 0
        return
    created = await client.post(USERS, user(roles=[{"value": "Admin"}]))
    body = {
        "PATCH stringified": patch(op("Add", "roles", [stringified(role, role)])),
        "PATCH Assertive": patch(
            op("replace", "roles", [{"primary": False, "type": AAD, "display": role, "value": role}])
        ),
        "PATCH primary target": patch(op("Replace", 'roles[primary eq "True"].value', role)),
    }[how]
    reply = await client.patch(f"{USERS}/{created.json['id']}", body)
    assert_error(reply, 400, "invalidValue", *fragments)
    assert await roles_of(app, created.json["id"]) == [{"value": "Admin"}]
    assert await catalog(app) == set(CATALOG)


async def test_strict_role_refusal_exact_detail(make_client: AppFactory) -> None:
    """The whole detail Entra's provisioning log shows: the value, the rule, the closest role and the fix."""
    _, client = await make_client("strict", "single", roles=CATALOG)
    reply = await client.post(USERS, user(roles=[{"primary": True, "type": AAD, "value": "Super Admin"}]))
    assert_error(reply, 400, "invalidValue")
    assert reply.json["detail"] == (
        "The role 'Super Admin' was refused: it breaks the naming rule (it contains spaces)."
        " The closest existing role is 'SuperAdmin'. Rename it in Entra to 'SuperAdmin', or ask the directory"
        " admin to set the directory's policy to normalize (scimctl directory set-policy), which matches it to"
        " 'SuperAdmin'."
    )


async def test_strict_role_refusal_in_an_empty_catalog_says_so(client: Client) -> None:
    reply = await client.post(USERS, user(roles=[{"value": "Admin"}]))
    assert_error(reply, 400, "invalidValue", "'Admin'", "has no roles yet")


@pytest.mark.parametrize(
    ("policy", "sent", "stored", "catalog_after"),
    [
        pytest.param("normalize", "Super Admin", "SuperAdmin", set(CATALOG), id="§7 normalize: spaces fold away"),
        pytest.param("normalize", "administração", "Administracao", set(CATALOG), id="§7 normalize: accents and case"),
        pytest.param("normalize", "ADMIN", "Admin", set(CATALOG), id="§7 normalize: case folds"),
        pytest.param("create", "Super Admin", "SuperAdmin", set(CATALOG), id="§7 create: folds onto an existing role"),
        pytest.param("create", "Auditor", "Auditor", {*CATALOG, "Auditor"}, id="§7 create: a missing role is created"),
        pytest.param("create", "Admin", "Admin", set(CATALOG), id="§7 create: an exact match creates nothing"),
    ],
)
@pytest.mark.parametrize("how", ["POST", "PATCH stringified", "PATCH entitlements"])
async def test_role_policies_that_accept(
    make_client: AppFactory, policy: str, sent: str, stored: str, catalog_after: set[str], how: str
) -> None:
    app, client = await make_client(policy, "single", roles=CATALOG)
    if how == "POST":
        reply = await client.post(USERS, user(roles=[{"primary": True, "type": AAD, "value": sent}]))
        assert reply.status == 201, reply.body
        user_id = reply.json["id"]
    else:
        user_id = (await client.post(USERS, user())).json["id"]
        path = "roles" if how == "PATCH stringified" else "entitlements"
        reply = await client.patch(f"{USERS}/{user_id}", patch(op("Add", path, [stringified(sent, sent)])))
        assert reply.status == 204, reply.body
    assert [r["value"] for r in await roles_of(app, user_id)] == [stored]
    assert [r["value"] for r in effective_roles((await client.get(f"{USERS}/{user_id}")).json)] == [stored]
    assert await catalog(app) == catalog_after


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        pytest.param({"value": "{not json"}, "JSON string", id="§4.1 stringified role that is not JSON"),
        pytest.param({"value": '{"id": "x"}'}, "non-empty", id="§4.1 stringified role without a value"),
        pytest.param({"value": ""}, "non-empty", id="§4 empty role value"),
        pytest.param(42, "object", id="§4 role that is a number"),
    ],
)
async def test_malformed_roles_are_invalid_value(make_client: AppFactory, value: Any, fragment: str) -> None:
    app, client = await make_client("strict", "single", roles=CATALOG)
    user_id = (await client.post(USERS, user())).json["id"]
    reply = await client.patch(f"{USERS}/{user_id}", patch(op("Add", "roles", [value])))
    assert_error(reply, 400, "invalidValue", fragment)
    assert await roles_of(app, user_id) == []


async def test_a_primary_role_and_a_primary_entitlement_stay_apart(client: Client, app: App) -> None:
    await AdminService(app.store, app.clients, app.tokens).add_role("dev", "Auditor")
    await AdminService(app.store, app.clients, app.tokens).add_role("dev", "Viewer")
    body = {
        "userName": "two.primaries@contoso.com",
        "roles": [{"value": "Auditor", "primary": True}],
        "entitlements": [{"value": "Viewer", "primary": True}],
    }
    reply = await client.post("/scim/v2/Users", body)
    assert reply.status == 201, reply.body
    # RFC 7643 §2.4's one primary holds per attribute: each attribute is kept as sent.
    assert reply.json["roles"] == [{"value": "Auditor", "primary": True}]
    assert reply.json["entitlements"] == [{"value": "Viewer", "primary": True}]
    assert [r["value"] for r in effective_roles(reply.json)] == ["Auditor", "Viewer"]


async def test_a_patch_of_the_enterprise_extension_ignores_an_echoed_schemas_key(client: Client, app: App) -> None:
    user = (await client.post("/scim/v2/Users", {"userName": "ext.schemas@contoso.com"})).json
    ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": ext, "value": {"schemas": [ext], "department": "Audit"}}],
    }
    reply = await client.patch(f"/scim/v2/Users/{user['id']}", body)
    assert reply.status == 204, reply.body
    assert (await app.store.get_user("dev", user["id"])).data[ext] == {"department": "Audit"}  # type: ignore[union-attr]
