"""scim/protocol/sets.py: every v1 change type becomes its RFC 9967 event, with the RFC 8417 claims around it."""

from __future__ import annotations

from typing import Any

import pytest

from scim.protocol import changes as ev
from scim.protocol import sets
from tests.support.feed import EVERY_TYPE

BASE = "https://scim.example.com/scim/v2"
OLD = {"userName": "ana@x.test", "active": True, "roles": [{"value": "A"}]}
NEW = {"userName": "ana@x.test", "active": False, "displayName": "Ana", "roles": [{"value": "B"}]}


def docs(changes: list[ev.Change]) -> list[dict[str, Any]]:
    return [ev.document(c, "contoso", 2) | {"version": 'W/"2"'} for c in changes]


def events(changes: list[ev.Change]) -> list[tuple[str, dict[str, Any]]]:
    return [sets.event(d, BASE) for d in docs(changes)]


def test_every_v1_type_maps_to_an_rfc_9967_event() -> None:
    made: dict[str, str] = {}
    for values in (False, True):
        batch = [
            *ev.user_created("u1", OLD, values=values),
            *ev.user_replaced("u1", OLD, NEW, values=values),
            *ev.user_replaced("u1", NEW, OLD, values=values),
            *ev.user_deleted("u1", OLD),
            *ev.group_created("g1", {"displayName": "Ops"}, ["u1"], values=values),
            *ev.group_updated(
                "g1", {"displayName": "Ops"}, {"displayName": "Ops2", "externalId": "x"}, ["u1"], ["u2"], values=values
            ),
            *ev.group_deleted("g1"),
        ]
        for change, (uri, _) in zip(batch, events(batch), strict=True):
            made[f"{change.type}/{values}"] = uri.removeprefix(sets.PREFIX)
    assert {c.split("/")[0] for c in made} == EVERY_TYPE
    assert made["user.created/False"] == "prov:create:notice" and made["user.created/True"] == "prov:create:full"
    assert made["user.updated/False"] == "prov:patch:notice" and made["user.updated/True"] == "prov:patch:full"
    assert made["user.disabled/False"] == made["user.disabled/True"] == "prov:deactivate"
    assert made["user.enabled/False"] == "prov:activate"
    assert made["role.granted/False"] == "prov:patch:notice" and made["role.revoked/True"] == "prov:patch:full"
    assert made["member.added/False"] == made["member.removed/False"] == "prov:patch:full"  # the ids are known
    assert made["user.deleted/False"] == made["group.deleted/True"] == "prov:delete"


def test_payloads_carry_ref_version_and_the_attributes_or_a_patch() -> None:
    ((_, notice),) = events(ev.user_created("u1", OLD, values=False))
    assert notice == {"ref": f"{BASE}/Users/u1", "version": 'W/"2"', "attributes": ["active", "roles", "userName"]}
    ((_, full),) = events(ev.user_created("u1", OLD, values=True))
    assert full["data"] == OLD
    member = events(ev.member_changes("g1", ["u1", "u2"], ["u3"]))
    assert member[0][1]["data"]["Operations"] == [
        {"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}
    ]
    assert member[1][1]["data"]["Operations"] == [{"op": "remove", "path": 'members[value eq "u3"]'}]
    updated = events(ev.user_replaced("u1", {"userName": "a", "title": "x"}, {"userName": "b"}, values=True))
    ops = updated[0][1]["data"]["Operations"]
    assert ops == [{"op": "remove", "path": "title"}, {"op": "replace", "path": "userName", "value": "b"}]


def test_claims_are_rfc_8417_with_the_v1_id_as_jti() -> None:
    doc = docs(ev.group_deleted("g1"))[0]
    claims = sets.claims(doc, issuer="https://scim.example.com", base_url=BASE, txn=sets.transaction("ob|1|a"))
    assert claims["jti"] == doc["id"] and claims["iss"] == "https://scim.example.com"
    assert claims["aud"] == "urn:scim-entra-functions:consumers:contoso"
    assert claims["sub_id"] == {"format": "scim", "uri": "/Groups/g1"}
    assert claims["events"] == {sets.DELETE: {"ref": f"{BASE}/Groups/g1", "version": 'W/"2"'}}
    assert claims["iat"] == claims["toe"] and isinstance(claims["iat"], int)
    assert sets.transaction("ob|1|a") == claims["txn"] != sets.transaction("ob|1|b")


def test_an_unknown_type_is_refused_and_log_keys_sort_by_time() -> None:
    doc = docs(ev.group_deleted("g1"))[0] | {"type": "group.exploded"}
    with pytest.raises(ValueError, match=r"group\.exploded"):
        sets.event(doc, BASE)
    assert sets.log_key(9, "b") < sets.log_key(10, "a") and sets.key_at(1e-8) < sets.log_key(10, "a")
