"""PATCH engine: operation syntax, booleans, multi-valued and complex attributes, path-less values, nulls, manager."""

from __future__ import annotations

from typing import Any

import pytest

from scim.protocol.schema import PATCH_OP
from tests.support.patch import ENT, USER, WORK, envelope, run, user

# Envelope and operation syntax -------------------------------------------------------------------------------


def test_envelope_is_case_insensitive_and_ignores_other_schemas() -> None:
    body = {
        "SCHEMAS": ["http://schemas.microsoft.com/x", PATCH_OP.upper()],
        "OPERATIONS": [
            {"Op": "ADD", "Path": "NICKNAME", "Value": "Babs"},
            {"op": "rEpLaCe", "path": "title", "value": "T"},
        ],
    }
    assert run(USER, body).data == user(nickName="Babs", title="T")


# Booleans ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"), [(True, True), (False, False), ("True", True), ("false", False), ("TRUE", True)]
)
def test_boolean_strings(given: Any, stored: bool) -> None:
    assert (
        run(user(active=not stored), envelope({"op": "replace", "path": "active", "value": given})).data["active"]
        is stored
    )
    body = envelope({"op": "add", "path": "emails", "value": [{"value": "h@x", "type": "home", "primary": given}]})
    assert run(USER, body).data["emails"][-1]["primary"] is stored


# Multi-valued attributes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "operation", "emails"),
    [
        pytest.param(
            [WORK],
            {"op": "add", "path": 'emails[type eq "home"].value', "value": "h@x"},
            [WORK, {"type": "home", "value": "h@x"}],
            id="upsert on add",
        ),
        pytest.param(
            [],
            {"op": "Add", "path": 'emails[type eq "work"].value', "value": "w@x"},
            [{"type": "work", "value": "w@x"}],
            id="upsert into an empty list",
        ),
        pytest.param(
            [WORK],
            {"op": "add", "path": 'emails[type eq "work" and primary eq true].value', "value": "n@x"},
            [{"primary": True, "type": "work", "value": "n@x"}],
            id="and filter selects",
        ),
        pytest.param(
            [WORK],
            {"op": "add", "path": 'emails[type eq "other"].Value', "value": "o@x"},
            [WORK, {"type": "other", "value": "o@x"}],
            id="capitalised sub-attribute",
        ),
        pytest.param(
            [WORK],
            {"op": "replace", "path": "emails", "value": [{"value": "n@x", "type": "home"}]},
            [{"value": "n@x", "type": "home"}],
            id="replace replaces the list",
        ),
        pytest.param(
            [WORK],
            {"op": "add", "path": "emails", "value": [{"value": "n@x", "type": "work"}]},
            [{"value": "n@x", "type": "work"}],
            id="add with an existing type replaces that value",
        ),
        pytest.param(
            [WORK],
            {"op": "add", "path": "emails", "value": {"value": "OLD@testuser.com", "type": "home"}},
            [WORK, {"value": "OLD@testuser.com", "type": "home"}],
            id="add one object appends",
        ),
        pytest.param(
            [WORK],
            {"op": "add", "path": "emails", "value": [{"value": "old@testuser.com", "display": "D"}]},
            [{**WORK, "display": "D"}],
            id="add with an existing value merges",
        ),
        pytest.param(
            [WORK],
            {"op": "add", "path": "emails", "value": [{"value": "h@x", "type": "home", "primary": "True"}]},
            [{**WORK, "primary": False}, {"value": "h@x", "type": "home", "primary": True}],
            id="a new primary clears the old one",
        ),
        pytest.param(
            [WORK, {"type": "home", "value": "h@x"}],
            {"op": "replace", "path": 'emails[type eq "home"].primary', "value": "true"},
            [{**WORK, "primary": False}, {"type": "home", "value": "h@x", "primary": True}],
            id="primary through a filter path clears the old one",
        ),
        pytest.param(
            [WORK],
            {"op": "replace", "path": 'emails[type eq "work"]', "value": {"value": "r@x"}},
            [{"type": "work", "value": "r@x"}],
            id="filter replace without sub keeps the filter's fields",
        ),
        pytest.param(
            [WORK],
            {"op": "add", "path": 'emails[type eq "work"]', "value": {"display": "D"}},
            [{**WORK, "display": "D"}],
            id="filter add without sub merges",
        ),
        pytest.param(
            [WORK, {"type": "home", "value": "h@x"}],
            {"op": "remove", "path": 'emails[type eq "work"]'},
            [{"type": "home", "value": "h@x"}],
            id="remove by filter",
        ),
        pytest.param(
            [WORK],
            {"op": "remove", "path": 'emails[type eq "work"].value'},
            None,
            id="removing the value removes the hollow element",
        ),
        pytest.param(
            [WORK],
            {"op": "remove", "path": 'emails[type eq "work"].primary'},
            [{"type": "work", "value": "old@testuser.com"}],
            id="remove a sub-attribute",
        ),
        pytest.param(
            [WORK],
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": None},
            None,
            id="null through a filter path removes",
        ),
        pytest.param([WORK], {"op": "remove", "path": 'emails[type eq "home"]'}, [WORK], id="remove with no match"),
        pytest.param(
            [WORK, {"type": "home", "value": "h@x"}],
            {"op": "remove", "path": "emails", "value": [{"value": "h@x"}]},
            [WORK],
            id="remove with a value list removes only those",
        ),
        pytest.param([WORK], {"op": "remove", "path": "emails"}, None, id="remove the attribute"),
        pytest.param([WORK], {"op": "replace", "path": "emails", "value": None}, None, id="replace with null"),
        pytest.param(
            [WORK],
            {"op": "replace", "path": "emails.display", "value": "D"},
            [{**WORK, "display": "D"}],
            id="sub-attribute without a filter targets every value",
        ),
    ],
)
def test_emails(start: list[dict[str, Any]], operation: dict[str, Any], emails: list[dict[str, Any]] | None) -> None:
    data = run(user(emails=start or None), envelope(operation)).data
    assert data.get("emails") == emails


def test_all_null_values_are_dropped() -> None:
    body = envelope(
        {"op": "add", "path": "emails", "value": [{"value": None, "type": None}, {"value": "h@x", "display": None}]}
    )
    assert run(USER, body).data["emails"] == [WORK, {"value": "h@x"}]


def test_addresses_upsert_and_remove_one_part() -> None:
    body = envelope(
        {"op": "Add", "path": 'addresses[type eq "work"].postalCode', "value": "98052"},
        {"op": "Add", "path": 'addresses[type eq "other"].Formatted', "value": "1 Way"},
        {"op": "Replace", "path": 'addresses[type eq "work"].country', "value": "US"},
        {"op": "Remove", "path": 'addresses[type eq "work"].postalCode'},
    )
    assert run(USER, body).data["addresses"] == [
        {"type": "work", "country": "US"},
        {"type": "other", "formatted": "1 Way"},
    ]


def test_phone_numbers_are_stored_as_sent() -> None:
    body = envelope({"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 (425) 555-0100"})
    assert run(USER, body).data["phoneNumbers"] == [{"type": "mobile", "value": "+1 (425) 555-0100"}]


# Path-less values ---------------------------------------------------------------------------------------------


def test_pathless_keys_of_every_form() -> None:
    body = envelope(
        {
            "op": "replace",
            "value": {
                "schemas": ["ignored"],
                "meta": {"resourceType": "ignored"},
                "userName": "u2",
                "name.givenName": "G",
                "Name": {"middleName": "M"},
                f"{ENT}:department": "Dept",
                ENT: {"costCenter": "CC", "manager": {"value": "m1", "$ref": None}},
                "urn:ietf:params:scim:schemas:core:2.0:User": {"title": "Boss"},
                "urn:ietf:params:scim:schemas:core:2.0:User:nickName": "N",
                'emails[type eq "home"].value': "h@x",
            },
        }
    )
    data = run(USER, body).data
    assert data["userName"] == "u2"
    assert data["name"] == {**USER["name"], "givenName": "G", "middleName": "M"}
    assert data[ENT] == {"department": "Dept", "costCenter": "CC", "manager": {"value": "m1"}}
    assert (data["title"], data["nickName"]) == ("Boss", "N")
    assert data["emails"] == [WORK, {"type": "home", "value": "h@x"}]
    assert "schemas" not in data and "meta" not in data
    assert set(data) == {*USER, "title", "nickName", ENT}  # never a path string as a key (§1.2c)


def test_pathless_add_appends_to_lists() -> None:
    body = envelope({"op": "add", "value": {"emails": [{"value": "h@x", "type": "home"}], "nickName": "B"}})
    assert run(USER, body).data == user(emails=[WORK, {"value": "h@x", "type": "home"}], nickName="B")


def test_path_naming_the_enterprise_schema() -> None:
    added = run(USER, envelope({"op": "add", "path": ENT, "value": {"department": "D", "division": "V"}})).data
    assert added[ENT] == {"department": "D", "division": "V"}
    assert run(added, envelope({"op": "remove", "path": ENT})).data == USER


def test_complex_name_merges_and_null_removes() -> None:
    merged = run(USER, envelope({"op": "replace", "path": "name", "value": {"givenName": "G", "formatted": None}})).data
    assert merged["name"] == {"familyName": "familyName", "givenName": "G"}
    assert "name" not in run(USER, envelope({"op": "replace", "path": "name", "value": None})).data
    assert "name" not in run(USER, envelope({"op": "remove", "path": "name"})).data
    emptied = run(user(name={"givenName": "g"}), envelope({"op": "remove", "path": "name.givenName"})).data
    assert "name" not in emptied
    unmatched = run(USER, envelope({"op": "remove", "path": 'name[givenName eq "nobody"].familyName'}))
    assert unmatched.changed is False
    matched = run(USER, envelope({"op": "remove", "path": 'name[givenName eq "GIVENNAME"].familyName'})).data
    assert matched["name"] == {"formatted": "givenName familyName", "givenName": "givenName"}


# Nulls, removes and custom extensions --------------------------------------------------------------------------


def test_null_and_remove_of_single_valued() -> None:
    assert "displayName" not in run(USER, envelope({"op": "replace", "path": "displayName", "value": None})).data
    assert "displayName" not in run(USER, envelope({"op": "add", "path": "displayName", "value": None})).data
    missing = run(USER, envelope({"op": "remove", "path": "nickName"}, {"op": "remove", "path": f"{ENT}:manager"}))
    assert missing.data == USER
    assert missing.changed is False


def test_custom_extension_attributes() -> None:
    urn = "urn:acme:params:scim:1.0:User"
    first = run(USER, envelope({"op": "add", "path": f"{urn}:badgeColor", "value": "red"})).data
    assert first[urn] == {"badgeColor": "red"}
    second = run(first, envelope({"op": "replace", "value": {urn.upper(): {"BADGECOLOR": "blue", "floor": 3}}})).data
    assert second[urn] == {"badgeColor": "blue", "floor": "3"}  # numbers as text, as POST stores them
    third = run(second, envelope({"op": "replace", "path": f"{urn}:floor", "value": None})).data
    assert third[urn] == {"badgeColor": "blue"}
    assert urn not in run(first, envelope({"op": "remove", "path": f"{urn}:badgeColor"})).data
    assert urn not in run(first, envelope({"op": "remove", "path": urn})).data


def test_password_is_never_stored() -> None:
    result = run(USER, envelope({"op": "replace", "path": "password", "value": "hunter2"}))
    assert "password" not in result.data
    assert result.changed is False


# Manager -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "manager"),
    [
        ({"op": "add", "path": "manager", "value": "id-1"}, {"value": "id-1"}),
        (
            {"op": "add", "path": "manager", "value": {"value": "id-1", "$ref": "https://x/Users/id-1"}},
            {"value": "id-1"},
        ),
        ({"op": "add", "path": "manager", "value": [{"value": "id-1", "$ref": None}]}, {"value": "id-1"}),
        ({"op": "replace", "path": f"{ENT}:manager.value", "value": "id-1"}, {"value": "id-1"}),
        ({"op": "replace", "path": f"{ENT}:manager.$ref", "value": "https://x"}, {"value": "old"}),
        ({"op": "replace", "path": 'manager[value eq "old"].value', "value": "id-1"}, {"value": "id-1"}),
        ({"op": "replace", "path": "manager", "value": {"value": ""}}, None),
        ({"op": "replace", "path": "manager", "value": []}, None),
        ({"op": "replace", "path": "manager", "value": None}, None),
        ({"op": "remove", "path": "manager"}, None),
        ({"op": "remove", "path": f"{ENT}:manager.value"}, None),
    ],
)
def test_manager_shapes(operation: dict[str, Any], manager: dict[str, str] | None) -> None:
    data = run(user(ent={"manager": {"value": "old"}, "department": "D"}), envelope(operation)).data
    assert data[ENT].get("manager") == manager
