"""PATCH engine: every malformed operation answers the right SCIM error, naming the operation, echoing no value."""

from __future__ import annotations

from typing import Any

import pytest

from scim.errors import (
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    ScimError,
    TooMany,
)
from scim.protocol.schema import PATCH_OP
from tests.support.patch import ENT, GROUP, USER, envelope, run

# Errors ----------------------------------------------------------------------------------------------------------

BIG = [{"value": f"m{i}"} for i in range(10_001)]


@pytest.mark.parametrize(
    ("resource_type", "body", "error", "fragment"),
    [
        ("User", [], InvalidSyntax, "Send a PatchOp JSON object"),
        ("User", {"Operations": [{"op": "add", "path": "nickName", "value": "x"}]}, InvalidSyntax, PATCH_OP),
        (
            "User",
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "Operations": []},
            InvalidSyntax,
            PATCH_OP,
        ),
        ("User", {"schemas": [PATCH_OP]}, InvalidSyntax, "non-empty list"),
        ("User", {"schemas": [PATCH_OP], "Operations": []}, InvalidSyntax, "non-empty list"),
        ("User", {"schemas": [PATCH_OP], "Operations": {"op": "add"}}, InvalidSyntax, "non-empty list"),
        ("User", envelope(*[{"op": "remove", "path": "nickName"}] * 1001), TooMany, "at most 1000"),
        ("User", envelope("add"), InvalidSyntax, "must be an object"),
        ("User", envelope({"op": "copy", "path": "nickName"}), InvalidSyntax, "'copy'"),
        ("User", envelope({"path": "nickName", "value": "x"}), InvalidSyntax, '"op" must be'),
        ("User", envelope({"op": "remove"}), NoTarget, 'remove needs a "path"'),
        ("User", envelope({"op": "replace", "path": 5, "value": "x"}), InvalidPath, "must be a string"),
        (
            "User",
            envelope({"op": "replace", "path": "active", "value": "yes"}),
            InvalidValue,
            "active must be true or false; got 'yes'",
        ),
        (
            "User",
            envelope({"op": "replace", "path": "active", "value": 1}),
            InvalidValue,
            "active must be true or false; got a number",
        ),
        ("User", envelope({"op": "replace", "path": "nickname2", "value": "x"}), InvalidPath, "'nickname2'"),
        ("User", envelope({"op": "replace", "value": {"nickname2": "x"}}), InvalidPath, "'nickname2'"),
        (
            "User",
            envelope({"op": "replace", "path": "displayName", "value": {"a": 1}}),
            InvalidValue,
            "displayName must be a string; got an object",
        ),
        ("User", envelope({"op": "replace", "path": "userName", "value": "x" * 8193}), InvalidValue, "limit is 8192"),
        ("User", envelope({"op": "replace", "path": "id", "value": "x"}), Mutability, "id is read-only"),
        ("User", envelope({"op": "replace", "value": {"id": "x"}}), Mutability, "id is read-only"),
        ("User", envelope({"op": "replace", "path": "meta", "value": {}}), Mutability, "meta is read-only"),
        (
            "User",
            envelope({"op": "add", "path": "groups", "value": [{"value": "g"}]}),
            Mutability,
            "groups is read-only",
        ),
        (
            "User",
            envelope({"op": "add", "path": "members", "value": [{"value": "g"}]}),
            Mutability,
            "members is read-only",
        ),
        ("User", envelope({"op": "remove", "path": "userName"}), Mutability, "userName is required"),
        ("User", envelope({"op": "replace", "path": "userName", "value": None}), Mutability, "userName is required"),
        ("Group", envelope({"op": "remove", "path": "displayName"}), Mutability, "displayName is required"),
        (
            "User",
            envelope({"op": "replace", "path": f"{ENT}:manager.displayName", "value": "x"}),
            Mutability,
            "manager.displayName",
        ),
        (
            "User",
            envelope({"op": "remove", "path": "urn:ietf:params:scim:schemas:core:2.0:User"}),
            Mutability,
            "core schema",
        ),
        (
            "Group",
            envelope({"op": "replace", "path": 'members[value eq "a"].display', "value": "x"}),
            Mutability,
            "members.display",
        ),
        (
            "Group",
            envelope({"op": "add", "path": 'members[value eq "a"]', "value": [{"value": "a"}]}),
            InvalidPath,
            "To add members",
        ),
        ("Group", envelope({"op": "remove", "path": 'members[display eq "a"]'}), InvalidPath, "members filter"),
        ("Group", envelope({"op": "add", "path": "members"}), InvalidValue, "needs a value"),
        ("Group", envelope({"op": "add", "path": "members", "value": [{"value": ""}]}), InvalidValue, "Each member"),
        ("Group", envelope({"op": "add", "path": "members", "value": [{"display": "x"}]}), InvalidValue, "Each member"),
        ("Group", envelope({"op": "add", "path": "members", "value": BIG}), InvalidValue, "10000"),
        ("User", envelope({"op": "replace", "value": "x"}), InvalidValue, "need an object value"),
        ("User", envelope({"op": "replace", "value": {"": "x"}}), InvalidPath, "attribute name"),
        ("User", envelope({"op": "replace", "path": "nickName", "value": True}), InvalidValue, "got a boolean"),
        (
            "Group",
            envelope({"op": "replace", "path": ENT, "value": {"department": "x"}}),
            InvalidPath,
            "a Group does not",
        ),
        (
            "User",
            envelope({"op": "replace", "path": 'emails[type ne "work"].value', "value": "x"}),
            NoTarget,
            "cannot describe",
        ),
        (
            "User",
            envelope({"op": "add", "path": 'emails[type eq "a" or type eq "b"].value', "value": "x"}),
            NoTarget,
            "cannot describe",
        ),
        (
            "User",
            envelope({"op": "add", "path": 'emails[type eqq "a"].value', "value": "x"}),
            InvalidFilter,
            "position",
        ),
        (
            "User",
            envelope({"op": "add", "path": "emails", "value": [{"value": "x", "kind": "work"}]}),
            InvalidValue,
            "no sub-attribute 'kind'",
        ),
        ("User", envelope({"op": "add", "path": "emails", "value": ["x@y"]}), InvalidValue, "must be objects"),
        ("User", envelope({"op": "add", "path": "emails", "value": BIG}), InvalidValue, "at most 100 values"),
        (
            "User",
            envelope(
                {
                    "op": "replace",
                    "path": "emails",
                    "value": [{"value": "a", "primary": True}, {"value": "b", "primary": "True"}],
                }
            ),
            InvalidValue,
            "primary",
        ),
        ("User", envelope({"op": "add", "path": "roles", "value": [{"value": 7.5j}]}), InvalidValue, "non-empty"),
        (
            "User",
            envelope({"op": "add", "path": "roles", "value": [{"value": "{not json"}]}),
            InvalidValue,
            "JSON string",
        ),
        ("User", envelope({"op": "add", "path": "roles", "value": [7]}), InvalidValue, "got a number"),
        ("User", envelope({"op": "add", "path": "roles", "value": BIG}), InvalidValue, "at most 100 values"),
        (
            "User",
            envelope({"op": "add", "path": "manager", "value": [{"value": "a"}, {"value": "b"}]}),
            InvalidValue,
            "one value",
        ),
        ("User", envelope({"op": "add", "path": "manager", "value": 5}), InvalidValue, "manager must be"),
        (
            "User",
            envelope({"op": "add", "path": 'manager[value eq "nobody"].value', "value": "x"}),
            NoTarget,
            "manager",
        ),
        (
            "User",
            envelope({"op": "add", "path": 'name[givenName eq "nobody"].familyName', "value": "x"}),
            NoTarget,
            "name",
        ),
        (
            "User",
            envelope({"op": "add", "path": "urn:acme:1.0:User:x[a eq 1]", "value": "x"}),
            InvalidPath,
            "simple string",
        ),
        ("User", envelope({"op": "add", "path": "urn:acme:1.0:User:x.y", "value": "x"}), InvalidPath, "simple string"),
        (
            "User",
            envelope({"op": "add", "path": "urn:acme:1.0:User:x", "value": ["a"]}),
            InvalidValue,
            "x must be a string",
        ),
    ],
)
def test_errors(resource_type: str, body: Any, error: type[ScimError], fragment: str) -> None:
    with pytest.raises(error) as caught:
        run(USER if resource_type == "User" else GROUP, body, resource_type)
    assert caught.value.scim_type == error.scim_type
    assert fragment in caught.value.detail


def test_error_names_the_operation() -> None:
    body = envelope(
        {"op": "replace", "path": "nickName", "value": "ok"}, {"op": "replace", "path": "active", "value": "maybe"}
    )
    with pytest.raises(InvalidValue) as caught:
        run(USER, body)
    assert caught.value.detail.startswith("Operations[1]: active must be true or false")
    assert str(caught.value) == caught.value.detail


def test_error_details_do_not_echo_values() -> None:
    with pytest.raises(InvalidValue) as caught:
        run(USER, envelope({"op": "replace", "path": "displayName", "value": ["secret-ish@example.com"]}))
    assert "secret-ish" not in caught.value.detail
