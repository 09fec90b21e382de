"""Helpers for the Entra corpus: PatchOp bodies, the reference's request bodies, and response assertions."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from scim.app import App
from scim.model import Resource
from scim.protocol.schema import ENTERPRISE_SCHEMA, ERROR_SCHEMA, GROUP_SCHEMA, LIST_RESPONSE, PATCH_OP, USER_SCHEMA
from tests.support.app import Client, Reply

ENT = ENTERPRISE_SCHEMA
ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
TYPO_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"  # S1 example 2 (missing colon)
USERS = "/scim/v2/Users"
GROUPS = "/scim/v2/Groups"
GOOD_USER = {"schemas": [USER_SCHEMA], "userName": "someone@contoso.com"}
_NO_VALUE: Any = object()
ABSENT: Any = object()  # what pick() returns for a path the document does not have
# What must never reach a response body: Python exception names or traceback lines.
_LEAK = re.compile(r"Traceback|File \"|\b[A-Z][A-Za-z]+(Error|Exception)\b|\bline \d+, in\b")

__all__ = [
    "ABSENT",
    "ADSCIM_GROUP",
    "ENT",
    "GROUPS",
    "GROUP_SCHEMA",
    "LIST_RESPONSE",
    "TYPO_ENTERPRISE",
    "USERS",
    "USER_SCHEMA",
]


def op(name: str, path: str | None = None, value: Any = _NO_VALUE) -> dict[str, Any]:
    """One PATCH operation; ``path`` and ``value`` are left out when not given (not sent as null)."""
    out: dict[str, Any] = {"op": name}
    if path is not None:
        out["path"] = path
    if value is not _NO_VALUE:
        out["value"] = value
    return out


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def user_body(user_name: str, **extra: Any) -> dict[str, Any]:
    """The S1 "Create user" POST body (docs/reference/entra-wire.md §1.1 step 2), with overrides."""
    body: dict[str, Any] = {
        "schemas": [USER_SCHEMA, ENT],
        "externalId": f"ext-{user_name}",
        "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": f"{user_name}@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
    }
    body.update(extra)
    return body


def filter_url(base: str, text: str, *, encoding: str = "plain", extra: str = "") -> str:
    """``base?filter=text`` with spaces as sent: plain, ``+`` (S14 SCIMReferenceCode #63) or ``%20``."""
    if encoding == "plus":
        encoded = quote(text, safe="").replace("%20", "+")
    elif encoding == "pct":
        encoded = quote(text, safe="")
    else:
        encoded = text.replace("%", "%25").replace("#", "%23").replace("&", "%26")  # URL syntax, not spaces
    return f"{base}?{extra + '&' if extra else ''}filter={encoded}"


async def create_user(client: Client, user_name: str, **extra: Any) -> dict[str, Any]:
    reply = await client.post(USERS, user_body(user_name, **extra))
    assert reply.status == 201, reply.body
    doc: dict[str, Any] = reply.json
    return doc


async def create_plain_user(client: Client, user_name: str) -> str:
    """A minimal user (no externalId clash between tests); returns its id."""
    reply = await client.post(USERS, {"schemas": [USER_SCHEMA], "userName": user_name})
    assert reply.status == 201, reply.body
    user_id: str = reply.json["id"]
    return user_id


async def stored_user(app: App, user_id: str) -> Resource:
    found = await app.store.get_user("dev", user_id)
    assert found is not None, f"user {user_id} is not in the store"
    return found


async def stored_group(app: App, group_id: str) -> Resource:
    found = await app.store.get_group("dev", group_id, with_members=True)
    assert found is not None, f"group {group_id} is not in the store"
    return found


def assert_no_leak(reply: Reply) -> None:
    """No 5xx (but /Me's 501, which RFC 7644 §3.11 asks for), and nothing that looks like a traceback in the body."""
    assert reply.status < 500 or reply.status == 501, reply.body
    text = reply.body.decode("utf-8", "replace")
    assert not _LEAK.search(text), text


def assert_error(reply: Reply, status: int, scim_type: str | None, *fragments: str) -> dict[str, Any]:
    """A RFC 7644 §3.12 error: status (also as a string in the body), scimType, and a detail naming what to fix."""
    assert reply.status == status, reply.body
    assert reply.headers.get("Content-Type", "").startswith("application/scim+json"), reply.headers
    doc: dict[str, Any] = reply.json
    assert doc["schemas"] == [ERROR_SCHEMA]
    assert doc["status"] == str(status)
    assert doc.get("scimType") == scim_type, doc
    assert isinstance(doc.get("detail"), str) and len(doc["detail"]) > 10, doc
    for fragment in fragments:
        assert fragment.lower() in doc["detail"].lower(), (fragment, doc["detail"])
    assert_no_leak(reply)
    return doc


def assert_list(reply: Reply, total: int, *, start: int = 1, items: int | None = None) -> list[dict[str, Any]]:
    """A ListResponse: every query answer is one, a miss 200 with totalResults 0 (docs/reference/entra-wire.md §1.0)."""
    assert reply.status == 200, reply.body
    assert reply.headers.get("Content-Type", "").startswith("application/scim+json")
    doc = reply.json
    assert doc["schemas"] == [LIST_RESPONSE]
    assert doc["totalResults"] == total, doc
    assert doc["startIndex"] == start
    resources: list[dict[str, Any]] = doc["Resources"]
    assert doc["itemsPerPage"] == len(resources)
    if items is not None:
        assert len(resources) == items, doc
    for resource in resources:
        assert resource["id"], resource  # every returned resource carries id (docs/reference/entra-wire.md §1.0)
    return resources


def no_path_keys(data: Any) -> bool:
    """True when no stored key looks like a PATCH path (S15: the path string stored as a literal key)."""
    if isinstance(data, dict):
        return all(("[" not in k and "." not in k.split(":")[-1]) and no_path_keys(v) for k, v in data.items())
    if isinstance(data, list):
        return all(no_path_keys(v) for v in data)
    return True


def dumps(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def pick(doc: Any, path: str) -> Any:
    """``a.b.c`` inside a rendered resource; ``<enterprise URN>.x`` reads the enterprise extension."""
    if path.startswith(ENT + "."):
        doc, path = doc.get(ENT, {}), path[len(ENT) + 1 :]
    for part in path.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return ABSENT
        doc = doc[part]
    return doc


def fill(template: Any, ids: dict[str, str]) -> Any:
    """Replace ``{boss}``-style placeholders in every string of a body (keys and values) with real ids."""
    if isinstance(template, str):
        for name, value in ids.items():
            template = template.replace("{" + name + "}", value)
        return template
    if isinstance(template, dict):
        return {fill(k, ids): fill(v, ids) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, ids) for v in template]
    return template


CATALOG = "FinanceTeam"


async def members_of(app: App, group_id: str) -> set[str]:
    return set((await stored_group(app, group_id)).members or [])


def group_body(name: str, **extra: Any) -> dict[str, Any]:
    """The S1 "Create group" POST body (docs/reference/entra-wire.md §1.5 step 2) with Microsoft's extra schema URI."""
    body: dict[str, Any] = {
        "schemas": [GROUP_SCHEMA, ADSCIM_GROUP],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": name,
        "meta": {"resourceType": "Group"},
    }
    body.update(extra)
    return body
