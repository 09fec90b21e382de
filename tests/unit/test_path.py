"""PATCH path parsing: every path shape of the Entra reference (§1.2, §2.4 item 3, §4.1) and the errors."""

from __future__ import annotations

import pytest

from scim.errors import InvalidFilter, InvalidPath, ScimError
from scim.protocol.filter import parse_filter
from scim.protocol.filter_ast import And, AttrPath, Compare, Or
from scim.protocol.path import PatchPath, definition, derive_element, filter_ids, known_schema, parse_path
from scim.protocol.schema import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_INDEX, USER_SCHEMA

ENT = ENTERPRISE_SCHEMA
WORK = Compare(AttrPath(None, "type", None), "eq", "work")


@pytest.mark.parametrize(
    ("text", "resource_type", "expected"),
    [
        ("userName", "User", PatchPath(None, "userName", None, None)),
        ("USERNAME", "User", PatchPath(None, "userName", None, None)),
        ("  active ", "User", PatchPath(None, "active", None, None)),
        ("name.familyName", "User", PatchPath(None, "name", None, "familyName")),
        ("Name.GivenName", "User", PatchPath(None, "name", None, "givenName")),
        ('emails[type eq "work"].value', "User", PatchPath(None, "emails", WORK, "value")),
        # S1 table: capitalised sub-attribute names.
        ('emails[type eq "other"].Value', "User", PatchPath(None, "emails", parse_filter('type eq "other"'), "value")),
        (
            'addresses[type eq "other"].Formatted',
            "User",
            PatchPath(None, "addresses", parse_filter('type eq "other"'), "formatted"),
        ),
        ('addresses[type eq "work"].postalCode', "User", PatchPath(None, "addresses", WORK, "postalCode")),
        (
            'phoneNumbers[type eq "mobile"].value',
            "User",
            PatchPath(None, "phoneNumbers", parse_filter('type eq "mobile"'), "value"),
        ),
        ('emails[type eq "work"]', "User", PatchPath(None, "emails", WORK, None)),
        (f"{ENT}:department", "User", PatchPath(ENT, "department", None, None)),
        (f"{ENT}:employeeNumber", "User", PatchPath(ENT, "employeeNumber", None, None)),
        (f"{ENT.upper()}:MANAGER", "User", PatchPath(ENT, "manager", None, None)),
        (f"{ENT}:manager.value", "User", PatchPath(ENT, "manager", None, "value")),
        (f"{ENT}.department", "User", PatchPath(ENT, "department", None, None)),  # 2018 dot notation (S2)
        ("manager", "User", PatchPath(ENT, "manager", None, None)),  # S1 "Example 5" has no URN
        (
            'manager[value eq "manager-id"]',
            "User",
            PatchPath(ENT, "manager", parse_filter('value eq "manager-id"'), None),
        ),
        (f"{USER_SCHEMA}:userName", "User", PatchPath(None, "userName", None, None)),
        (f"{USER_SCHEMA}:name.familyName", "User", PatchPath(None, "name", None, "familyName")),
        (
            'roles[primary eq "True"].value',
            "User",
            PatchPath(None, "roles", parse_filter('primary eq "True"'), "value"),
        ),
        (
            'roles[primary eq "True"].display',
            "User",
            PatchPath(None, "roles", parse_filter('primary eq "True"'), "display"),
        ),
        ("entitlements", "User", PatchPath(None, "entitlements", None, None)),
        ("members", "Group", PatchPath(None, "members", None, None)),
        (
            'members[value eq "7f4bc1a3"]',
            "Group",
            PatchPath(None, "members", parse_filter('value eq "7f4bc1a3"'), None),
        ),
        (f"{GROUP_SCHEMA}:displayName", "Group", PatchPath(None, "displayName", None, None)),
        ("externalId", "Group", PatchPath(None, "externalId", None, None)),
        # Custom extensions keep the spelling they were sent with.
        (
            "urn:acme:params:1.0:User:badgeColor",
            "User",
            PatchPath("urn:acme:params:1.0:User", "badgeColor", None, None),
        ),
        ("urn:acme:ext:2.0:User:Office.Floor", "User", PatchPath("urn:acme:ext:2.0:User", "Office", None, "Floor")),
        # A "]" inside a quoted filter value does not end the filter.
        ('emails[value eq "a]b"].type', "User", PatchPath(None, "emails", parse_filter('value eq "a]b"'), "type")),
        (
            'emails[value eq "a\\"]b"].type',
            "User",
            PatchPath(None, "emails", parse_filter('value eq "a\\"]b"'), "type"),
        ),
    ],
)
def test_parse_path(text: str, resource_type: str, expected: PatchPath) -> None:
    assert parse_path(text, resource_type) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "resource_type", "error", "fragment"),
    [
        ("", "User", InvalidPath, "empty"),
        ("   ", "User", InvalidPath, "empty"),
        ("nonsense", "User", InvalidPath, "'nonsense'"),
        ("name.nonsense", "User", InvalidPath, "'nonsense' of name"),
        ("userName.value", "User", InvalidPath, "simple attribute"),
        ('active[value eq "x"]', "User", InvalidPath, "simple attribute"),
        (f"{ENT}:nonsense", "User", InvalidPath, "enterprise extension"),
        (f"{ENT}", "User", InvalidPath, "no attribute"),
        (f"{ENT}:department", "Group", InvalidPath, "a Group does not have"),
        (f"{GROUP_SCHEMA}:displayName", "User", InvalidPath, "a User does not have"),
        (ENT, "Group", InvalidPath, "a Group does not have"),
        (f"{USER_SCHEMA}.userName", "Group", InvalidPath, "a Group does not have"),
        ("manager", "Group", InvalidPath, "'manager'"),
        ('emails[type eq "work"', "User", InvalidPath, "never closed"),
        ('emails[type eq "work"]x', "User", InvalidPath, "position 23"),
        ("emails..value", "User", InvalidPath, "position 8"),
        ("9lives", "User", InvalidPath, "position 1"),
        ('emails[type[x] eq "work"]', "User", InvalidPath, "Nested"),
        ("urn:x", "User", InvalidPath, "names no schema"),
        ("a" * 1001, "User", InvalidPath, "longer than 1000"),
        ('emails[type eqq "work"].value', "User", InvalidFilter, "position"),
    ],
)
def test_parse_path_errors(text: str, resource_type: str, error: type[ScimError], fragment: str) -> None:
    with pytest.raises(error) as caught:
        parse_path(text, resource_type)  # type: ignore[arg-type]
    assert fragment in caught.value.detail
    assert caught.value.scim_type == error.scim_type


def test_unknown_attribute_detail_is_bounded() -> None:
    with pytest.raises(InvalidPath) as caught:
        parse_path("x" * 500, "User")
    assert len(caught.value.detail) < 200


def test_known_schema() -> None:
    assert known_schema(ENT, "User") == (True, ENT)
    assert known_schema(USER_SCHEMA.lower(), "User") == (True, None)
    assert known_schema(ENT, "Group") == (False, None)
    assert known_schema(f"{ENT}:department", "User") == (False, None)


def test_definition_covers_read_only_names() -> None:
    assert definition(parse_path("meta", "User"), "User").mutability == "readOnly"  # type: ignore[union-attr]
    assert definition(parse_path("members", "User"), "User").mutability == "readOnly"  # type: ignore[union-attr]
    assert definition(parse_path("id", "Group"), "Group").mutability == "readOnly"  # type: ignore[union-attr]
    assert definition(parse_path("urn:acme:1.0:User:x", "User"), "User") is None


@pytest.mark.parametrize(
    ("attr", "text", "expected"),
    [
        ("emails", 'type eq "work"', {"type": "work"}),
        ("emails", 'TYPE eq "work" and primary eq true', {"type": "work", "primary": True}),
        ("roles", 'primary eq "True"', {"primary": True}),
        ("roles", 'primary eq "False" and value eq "Admin"', {"primary": False, "value": "Admin"}),
        ("emails", 'type eq "work" or type eq "home"', None),
        ("emails", 'type ne "work"', None),
        ("emails", "type pr", None),
        ("emails", 'not (type eq "work")', None),
        ("emails", 'nonsense eq "x"', None),
        ("emails", 'primary eq "maybe"', None),
        ("emails", "type eq 5", None),
        ("emails", 'type.x eq "work"', None),
    ],
)
def test_derive_element(attr: str, text: str, expected: dict[str, object] | None) -> None:
    assert derive_element(parse_filter(text), USER_INDEX[attr]) == expected


def test_filter_ids() -> None:
    assert filter_ids(parse_filter('value eq "a"')) == ["a"]
    assert filter_ids(parse_filter('value eq "a" or value eq "b" or VALUE eq "c"')) == ["a", "b", "c"]
    assert filter_ids(
        Or(Compare(AttrPath(None, "value", None), "eq", "x"), Compare(AttrPath(None, "value", None), "eq", "y"))
    ) == ["x", "y"]
    for text in ('value ne "a"', 'display eq "a"', 'value eq "a" and value eq "b"', "value pr"):
        with pytest.raises(InvalidPath, match="members filter"):
            filter_ids(parse_filter(text))
    with pytest.raises(InvalidPath):
        filter_ids(And(WORK, WORK))
