"""PATCH engine: roles and entitlements, in both role modes."""

from __future__ import annotations

from typing import Any

import pytest

from scim.protocol.patch_values import normalize_roles
from tests.support.patch import ADMIN, envelope, run, user

# Roles -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "operation", "mode", "roles"),
    [
        pytest.param(
            [ADMIN],
            {"op": "Add", "path": "roles", "value": [{"value": "User"}]},
            "single",
            [{"value": "User", "primary": True}],
            id="single: add sets the only role",
        ),
        pytest.param(
            [ADMIN],
            {"op": "Add", "path": "roles", "value": [{"value": "User"}]},
            "multiple",
            [ADMIN, {"value": "User"}],
            id="multiple: add appends",
        ),
        pytest.param(
            [ADMIN],
            {"op": "Add", "path": "roles", "value": [{"value": "User"}, {"value": "Admin"}]},
            "single",
            [ADMIN, {"value": "User"}],
            id="several roles append even in single mode",
        ),
        pytest.param(
            [ADMIN],
            {"op": "add", "path": "entitlements", "value": [{"value": "Ops"}]},
            "single",
            [ADMIN],
            id="entitlements are kept apart from roles",
        ),
        pytest.param(
            [],
            {"op": "add", "path": 'roles[primary eq "True"].display', "value": "Admins"},
            "single",
            [{"primary": True, "display": "Admins"}],
            id="a role's display before its value is a partial role",
        ),
        pytest.param(
            [],
            {"op": "add", "path": 'roles[primary eq "True"].value', "value": "Admin"},
            "single",
            [{"primary": True, "value": "Admin"}],
            id="primary role value creates the primary role",
        ),
        pytest.param(
            [ADMIN, {"value": "User"}],
            {"op": "replace", "path": 'roles[primary eq "True"].value', "value": "Ops"},
            "single",
            [{**ADMIN, "value": "Ops"}, {"value": "User"}],
            id="primary role value replaces its value",
        ),
        pytest.param(
            [ADMIN],
            {
                "op": "replace",
                "path": 'roles[primary eq "True"].value',
                "value": '{"id":"1","value":"25","displayName":"Role1234"}',
            },
            "single",
            [{"value": "25", "display": "Role1234", "primary": True}],
            id="primary role value as stringified JSON",
        ),
        pytest.param(
            [ADMIN, {"value": "User"}],
            {"op": "replace", "path": 'roles[primary eq "True"].value', "value": "User"},
            "single",
            [{**ADMIN, "value": "User"}],
            id="duplicate values collapse to one role",
        ),
        pytest.param(
            [ADMIN],
            {"op": "replace", "path": 'roles[primary eq "True"].display', "value": "Administrator"},
            "single",
            [{**ADMIN, "display": "Administrator"}],
            id="primary role display",
        ),
        pytest.param(
            [ADMIN, {"value": "User"}],
            {"op": "remove", "path": "roles", "value": [{"value": '{"id":"1","value":"User"}'}]},
            "multiple",
            [ADMIN],
            id="remove with a value list removes those roles",
        ),
        pytest.param(
            [ADMIN, {"value": "User"}],
            {"op": "remove", "path": 'roles[value eq "Admin"]'},
            "multiple",
            [{"value": "User"}],
            id="remove with a filter",
        ),
        pytest.param(
            [{"value": "User"}, ADMIN],
            {"op": "replace", "path": 'roles[primary eq "True"].value', "value": "User"},
            "single",
            [{"value": "User", "primary": True}],
            id="a duplicate's primary flag survives",
        ),
        pytest.param(
            [ADMIN],
            {"op": "replace", "path": 'roles[value eq "Admin"]', "value": {"value": "Ops", "displayName": "Operators"}},
            "multiple",
            [{"value": "Ops", "display": "Operators"}],
            id="filter replace of a whole role",
        ),
        pytest.param([ADMIN], {"op": "remove", "path": "roles"}, "multiple", None, id="remove all roles"),
        pytest.param(
            [ADMIN], {"op": "replace", "path": "roles", "value": []}, "multiple", None, id="replace with none"
        ),
        pytest.param(
            [ADMIN],
            {"op": "replace", "value": {"roles": [{"value": "Ops", "primary": "True"}]}},
            "single",
            [{"value": "Ops", "primary": True}],
            id="path-less roles replace",
        ),
    ],
)
def test_roles(
    start: list[dict[str, Any]], operation: dict[str, Any], mode: str, roles: list[dict[str, Any]] | None
) -> None:
    assert run(user(roles=start or None), envelope(operation), role_mode=mode).data.get("roles") == roles


def test_normalize_roles_shapes() -> None:
    assert normalize_roles(None) == []
    assert normalize_roles("Admin") == [{"value": "Admin"}]
    assert normalize_roles('{"id": "x", "value": 25, "displayName": "Role"}') == [{"value": "25", "display": "Role"}]
    assert normalize_roles(
        [
            {"value": "A", "displayName": "Alpha", "primary": "True", "type": "T", "id": "assignment", "$ref": None},
            {"Value": "B", "Display": "Beta", "displayName": "ignored", "primary": False},
        ]
    ) == [
        {"value": "A", "display": "Alpha", "type": "T", "primary": True},
        {"value": "B", "display": "Beta", "primary": False},
    ]


# Single role mode ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["roles", "entitlements"])
def test_single_mode_add_with_primary_false_is_kept_as_sent(name: str) -> None:
    """scim2-tester's check_add_attribute adds one value with "primary": false and reads it back."""
    current = user(**{name: [{"value": "Old", "primary": True}]})
    body = envelope({"op": "add", "path": name, "value": [{"value": "New", "primary": False}]})
    assert run(current, body, role_mode="single").data[name] == [
        {"value": "Old", "primary": True},
        {"value": "New", "primary": False},
    ]


@pytest.mark.parametrize("primary", [True, "True", None])
def test_single_mode_add_without_primary_false_sets_the_one_primary_role(primary: Any) -> None:
    """SingleAppRoleAssignment's shapes (no flag, or primary) replace the role (Entra quirk, §4.1)."""
    value: dict[str, Any] = {"value": "New"} | ({} if primary is None else {"primary": primary})
    body = envelope({"op": "add", "path": "roles", "value": [value]})
    current = user(roles=[{"value": "Old", "primary": True}])
    assert run(current, body, role_mode="single").data["roles"] == [{"value": "New", "primary": True}]
