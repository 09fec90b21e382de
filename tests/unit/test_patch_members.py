"""PATCH engine: group member changes and group replaces."""

from __future__ import annotations

from typing import Any

import pytest

from scim.model import MemberChange
from tests.support.patch import GROUP, envelope, run

# Groups --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operations", "expected"),
    [
        pytest.param(
            [{"op": "add", "path": "members", "value": [{"value": "a"}, "b", {"value": "a"}]}],
            MemberChange(add=["a", "b"]),
            id="several per op, duplicates once",
        ),
        pytest.param(
            [{"op": "replace", "path": "members", "value": [{"value": "a"}]}],
            MemberChange(add=["a"], remove_all=True),
            id="replace empties then adds",
        ),
        pytest.param(
            [{"op": "replace", "path": "members", "value": None}], MemberChange(remove_all=True), id="replace with null"
        ),
        pytest.param(
            [{"op": "remove", "path": "members", "value": []}],
            MemberChange(),
            id="remove of an empty list removes nobody",
        ),
        pytest.param(
            [
                {"op": "add", "path": "members", "value": [{"value": "a"}]},
                {"op": "remove", "path": "members", "value": [{"value": "a"}]},
            ],
            MemberChange(remove=["a"]),
            id="add then remove",
        ),
        pytest.param(
            [
                {"op": "remove", "path": "members", "value": [{"value": "a"}]},
                {"op": "add", "path": "members", "value": [{"value": "a"}]},
            ],
            MemberChange(add=["a"]),
            id="remove then add",
        ),
        pytest.param(
            [
                {"op": "add", "path": "members", "value": ["a"]},
                {"op": "remove", "path": "members"},
                {"op": "add", "path": "members", "value": ["b"]},
            ],
            MemberChange(add=["b"], remove_all=True),
            id="remove all in the middle",
        ),
        pytest.param(
            [{"op": "remove", "path": 'members[value eq "a" or value eq "b"]'}],
            MemberChange(remove=["a", "b"]),
            id="filter with or",
        ),
        pytest.param(
            [{"op": "replace", "value": {"displayName": "G2", "members": [{"value": "a"}]}}],
            MemberChange(add=["a"], remove_all=True),
            id="path-less replace with members",
        ),
        pytest.param(
            [{"op": "add", "value": {"members": [{"value": "a", "$ref": None}]}}],
            MemberChange(add=["a"]),
            id="path-less add of members",
        ),
    ],
)
def test_member_changes(operations: list[dict[str, Any]], expected: MemberChange) -> None:
    result = run(GROUP, envelope(*operations), "Group")
    assert result.members == expected
    assert not set(result.members.add) & set(result.members.remove)


def test_ten_thousand_members_in_one_operation() -> None:
    ids = [f"m{i}" for i in range(10_000)]
    body = envelope(
        {"op": "add", "path": "members", "value": [{"value": i} for i in ids]},
        {"op": "remove", "path": "members", "value": ids[:5_000]},
    )
    assert run(GROUP, body, "Group").members == MemberChange(add=ids[5_000:], remove=ids[:5_000])


def test_group_pathless_replace_of_everything() -> None:
    body = envelope({"op": "replace", "value": {"displayName": "G2", "externalId": "e2", "members": []}})
    result = run(GROUP, body, "Group")
    assert result.data == {"displayName": "G2", "externalId": "e2"}
    assert result.members == MemberChange(remove_all=True)
