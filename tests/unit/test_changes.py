"""The event schema's pure parts: which events a write makes, how big they may get, and queue names."""

from __future__ import annotations

import json
import re

import pytest

from scim.protocol import changes as ev
from scim.protocol.changes import queue_name

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def kinds(changes: list[ev.Change]) -> list[tuple[str, list[str]]]:
    return [(c.type, c.attributes) for c in changes]


def test_changed_attributes_name_extension_attributes_by_urn() -> None:
    old = {"userName": "a", "title": "x", ENTERPRISE: {"department": "Ops", "employeeNumber": "1"}}
    new = {"userName": "a", "nickName": "n", ENTERPRISE: {"department": "Fin", "employeeNumber": "1"}}
    assert ev.changed_attributes(old, new) == ["nickName", "title", f"{ENTERPRISE}:department"]


def test_a_user_write_splits_into_one_event_per_kind() -> None:
    old = {"userName": "a", "active": True, "roles": [{"value": "A"}, {"value": "B"}]}
    new = {"userName": "b", "active": False, "roles": [{"value": "B"}, {"value": "C"}]}
    changes = ev.user_replaced("u", old, new, values=True)
    assert kinds(changes) == [
        ("user.disabled", ["active"]),
        ("role.granted", ["roles"]),
        ("role.revoked", ["roles"]),
        ("user.updated", ["userName"]),
    ]
    assert [c.values for c in changes] == [{"active": False}, {"roles": ["C"]}, {"roles": ["A"]}, {"userName": "b"}]
    # A write that changes nothing visible is still a committed write: one event keeps the sequence gap-free.
    assert kinds(ev.user_replaced("u", new, new, values=False)) == [("user.updated", [])]


def test_a_group_write_names_renames_members_and_the_rest() -> None:
    changes = ev.group_updated(
        "g", {"displayName": "A"}, {"displayName": "B", "externalId": "x"}, ["u1"], ["u2"], values=False
    )
    assert kinds(changes) == [
        ("group.renamed", ["displayName"]),
        ("member.added", ["members"]),
        ("member.removed", ["members"]),
        ("group.updated", ["externalId"]),
    ]
    assert [c.values for c in changes] == [None] * 4
    assert kinds(ev.group_updated("g", {"displayName": "A"}, None, [], [], values=False)) == [("group.updated", [])]


def test_large_member_changes_split_into_events_that_fit_a_queue_message() -> None:
    ids = [f"{n:08d}-0000-4000-8000-000000000000" for n in range(1234)]
    changes = ev.member_changes("g", ids, [])
    assert [len(c.members or []) for c in changes] == [500, 500, 234]
    assert [m for c in changes for m in c.members or []] == ids
    for change in changes:
        assert len(ev.encode(ev.document(change, "dev", 1)).encode()) < 32 * 1024
    long_ids = ["x" * 400 for _ in range(120)]
    assert all(
        sum(len(m) for m in c.members or []) <= ev.MEMBER_CHARS_PER_EVENT for c in ev.member_changes("g", long_ids, [])
    )


def test_values_too_large_for_a_message_are_left_out_and_say_so() -> None:
    change = ev.Change("user.updated", "User", "u", ["description"], values={"description": "x" * 20_000})
    doc = ev.document(change, "dev", 2)
    assert "values" not in doc and doc["valuesOmitted"] is True
    assert json.loads(ev.encode(doc))["sequence"] == 2


@pytest.mark.parametrize(
    "directory",
    ["dev", "contoso-prod", "Contoso", "a--b", "-x", "dir_with_underscores", "ç", "x" * 200, "9"],
)
def test_queue_names_follow_azures_rules_and_never_collide(directory: str) -> None:
    name = queue_name("scim", directory)
    assert 3 <= len(name) <= 63 and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name), name
    assert queue_name("scim", directory.upper() + "Z") != name


def test_plain_directory_ids_keep_readable_queue_names() -> None:
    assert queue_name("scim", "contoso") == "scim-changes-contoso"
    assert queue_name("scim", "Contoso") != queue_name("scim", "contoso")
    assert queue_name("Prefix1", "dev") == "prefix1-changes-dev"


@pytest.mark.parametrize("prefix", ["scim", "a-much-longer-table-prefix"])
def test_queue_names_are_injective_even_over_ids_that_spell_another_ids_queue(prefix: str) -> None:
    """Every hashed queue name, taken as a directory id, maps to a queue of its own (`Acme` and
    `acme-37036cd8f974` shared one queue, so a consumer of the second read the first's events)."""
    ids = ["Acme", "acme", "ACME", "contoso-prod", "Contoso_Prod", "ç", "x" * 200, "dev-0123456789ab", "a--b"]
    spelled = [queue_name(prefix, d).removeprefix(f"{prefix}-changes-") for d in ids]
    rounds = ids + spelled + [queue_name(prefix, d).removeprefix(f"{prefix}-changes-") for d in spelled]
    assert "acme-37036cd8f974" in spelled
    names = {d: queue_name(prefix, d) for d in dict.fromkeys(rounds)}
    assert len(set(names.values())) == len(names), names
    assert queue_name(prefix, "contoso-prod") == f"{prefix}-changes-contoso-prod"  # plain ids keep their name
