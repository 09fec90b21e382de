"""The PATCH engine as the tests call it: a reference user and group, and a body builder."""

from __future__ import annotations

import copy
import json
from typing import Any

from scim.protocol.patch import PatchResult, apply_patch
from scim.protocol.schema import ENTERPRISE_SCHEMA, PATCH_OP

ENT = ENTERPRISE_SCHEMA

USER: dict[str, Any] = {
    "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "active": True,
    "displayName": "Before",
    "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
    "emails": [{"primary": True, "type": "work", "value": "old@testuser.com"}],
}
GROUP: dict[str, Any] = {"displayName": "displayName", "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"}
WORK = {"primary": True, "type": "work", "value": "old@testuser.com"}
ADMIN = {"value": "Admin", "display": "Admin", "primary": True}


def user(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(USER)
    for name, value in changes.items():
        key = ENT if name == "ent" else name
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def envelope(*operations: Any) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def run(data: dict[str, Any], body: Any, resource_type: str = "User", role_mode: str = "single") -> PatchResult:
    if isinstance(body, str):
        body = json.loads(body)
    return apply_patch(data, body, resource_type=resource_type, role_mode=role_mode)  # type: ignore[arg-type]
