"""group_json writes a large group's body without a dict per member; it must say exactly what render_group says."""

from __future__ import annotations

import json

import pytest

from scim.model import Resource
from scim.protocol.render import group_json, render_group

BASE = "https://scim.example/scim/v2"


@pytest.mark.parametrize("size", [0, 1, 999, 1000, 2_345])
def test_group_json_is_render_group_byte_for_byte(size: int) -> None:
    members = [f'u{n}-é"\\/' for n in range(size)]  # characters JSON must escape, and non-ASCII
    group = Resource("g/1", {"displayName": 'Ops "é"', "externalId": "x"}, "c", "m", 'W/"1"', members)
    expected = json.dumps(render_group(group, BASE), ensure_ascii=False, separators=(",", ":")).encode()
    assert group_json(group, BASE) == expected
    assert [m["value"] for m in json.loads(group_json(group, BASE))["members"]] == members


def test_a_stored_lone_surrogate_is_escaped_not_a_failure() -> None:
    group = Resource("g1", {"displayName": "bad\ud800name"}, "c", "m", 'W/"1"', ["u1"])
    assert group_json(group, BASE) == json.dumps(render_group(group, BASE), separators=(",", ":")).encode()
