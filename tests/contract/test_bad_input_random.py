"""Property-style bad input: seeded random JSON bodies, PATCH operations, filters and raw bytes never yield a 5xx,
never leak a Python exception, always answer errors as SCIM errors, and never store data that breaks a later read.

hypothesis is not installed; ``random.Random`` with fixed seeds keeps every run identical and every failure
reproducible from the printed case.
"""

from __future__ import annotations

import json
import random
from typing import Any
from urllib.parse import quote

import pytest

from scim.protocol.schema import ENTERPRISE_SCHEMA, GROUP_SCHEMA, PATCH_OP, USER_SCHEMA
from tests.contract.entra import GROUPS, USERS, assert_no_leak
from tests.support.app import Client, Reply
from tests.support.contract import AppFactory

ALLOWED = {200, 201, 204, 400, 404, 409, 412, 413, 415}
KEYS = [
    "schemas", "userName", "externalId", "active", "emails", "name", "givenName", "familyName", "formatted",
    "roles", "entitlements", "members", "displayName", "value", "type", "primary", "display", "$ref",
    "Operations", "op", "path", "manager", ENTERPRISE_SCHEMA, "meta", "id", "phoneNumbers", "addresses",
    "nickName", "title", "department", "employeeNumber", "urn:acme:ext:1.0:User", "x509Certificates", "groups",
    "urn:ietf:params:scim:schemas:core:2.0:User:password", "urn:ietf:params:scim:schemas:core:2.0:User:id",
    "urn:ietf:params:scim:schemas:core:2.0:Group:id", "\ud800",
]  # fmt: skip
STRINGS = [
    "", " ", "True", "False", "true", "maybe", "Admin", "FinanceTeam", "Finance Team", "Administração",
    '{"id": "x", "value": "Admin", "displayName": "Admin"}', '{"value": 5}', "{", "[", "null", "work", "other",
    'emails[type eq "work"].value', 'members[value eq "x"]', "manager", f"{ENTERPRISE_SCHEMA}:manager",
    "urn:", "urn:x", "a" * 300, "\u0000", "\ud7ff", "😀", "%00", "../..", "<script>", "eq", "and", "()",
    # Lone surrogates, invisible and control characters, fullwidth twins, log-line forgeries.
    "\ud800", "a\udfffb", "\u200b", "\u00ad", "\uff41lice", " padded ", "x\n12:00:01 200 forged", "\x1b[31m",
]  # fmt: skip
PATHS = [
    "userName", "active", "displayName", "name.givenName", "NAME.FAMILYNAME", 'emails[type eq "work"].value',
    'addresses[type eq "work"].postalCode', 'phoneNumbers[type eq "mobile"].value', "emails", "roles",
    'roles[primary eq "True"].value', "entitlements", "members", 'members[value eq "{id}"]', "manager",
    f"{ENTERPRISE_SCHEMA}:manager", f"{ENTERPRISE_SCHEMA}:department", ENTERPRISE_SCHEMA, 'manager[value eq "x"]',
    "externalId", "urn:acme:ext:1.0:User:badge", "id", "meta", "schemas", "groups", "x509Certificates",
    "urn:ietf:params:scim:schemas:core:2.0:User:password", "urn:ietf:params:scim:schemas:core:2.0:User:id",
    "urn:ietf:params:scim:schemas:core:2.0:Group:id",
]  # fmt: skip
OPS = ["add", "Add", "ADD", "replace", "Replace", "remove", "Remove"]
BAD_OPS = ["merge", "", None, 5, ["add"]]
FILTER_WORDS = [
    "userName", "displayName", "emails", "emails.value", "active", "members", "manager", "meta.lastModified",
    "eq", "ne", "co", "sw", "gt", "pr", "and", "or", "not", "(", ")", "[", "]", '"x"', '"Admin"', "true", "null",
    "5", "-1.5e3", '"', "type", '"work"', ".value", "zz", "urn:ietf:params:scim:schemas:core:2.0:User:userName",
]  # fmt: skip


def scalar(rng: random.Random, ids: list[str]) -> Any:
    roll = rng.random()
    if roll < 0.1:
        return None
    if roll < 0.2:
        return rng.choice([True, False])
    if roll < 0.3:
        return rng.choice([0, 1, -1, 2**63, 10**30, 1.5, -0.0, 1e300])
    if roll < 0.4 and ids:
        return rng.choice(ids)
    if roll < 0.5:
        return "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randrange(0, 12)))
    return rng.choice(STRINGS)


def value(rng: random.Random, ids: list[str], depth: int = 0) -> Any:
    roll = rng.random()
    if depth >= 4 or roll < 0.45:
        return scalar(rng, ids)
    if roll < 0.7:
        return [value(rng, ids, depth + 1) for _ in range(rng.randrange(0, 4))]
    return {rng.choice(KEYS): value(rng, ids, depth + 1) for _ in range(rng.randrange(0, 5))}


def user_body(rng: random.Random, ids: list[str]) -> Any:
    base: dict[str, Any] = {
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "userName": f"fuzz-{rng.randrange(10**9)}@contoso.com",
        "externalId": str(rng.randrange(10**9)),
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": "a@contoso.com"}],
        "name": {"givenName": "g", "familyName": "f"},
        "roles": [{"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}],
        ENTERPRISE_SCHEMA: {"department": "d", "manager": {"value": rng.choice(ids) if ids else "x"}},
    }
    return mutate(rng, base, ids)


def group_body(rng: random.Random, ids: list[str]) -> Any:
    base = {
        "schemas": [GROUP_SCHEMA],
        "displayName": rng.choice(["FinanceTeam", "Marketing", f"G{rng.randrange(10**6)}"]),
        "members": [{"value": i, "$ref": None} for i in rng.sample(ids, min(len(ids), 2))],
    }
    return mutate(rng, base, ids)


def patch_body(rng: random.Random, ids: list[str]) -> Any:
    operations: list[Any] = []
    for _ in range(rng.randrange(1, 4)):
        operation: dict[str, Any] = {"op": rng.choice(OPS if rng.random() < 0.9 else BAD_OPS)}
        if rng.random() < 0.85:
            path = rng.choice(PATHS).replace("{id}", rng.choice(ids) if ids else "x")
            if rng.random() < 0.15:
                cut = rng.randrange(len(path) + 1)
                path = path[:cut] + rng.choice(['"', "[", "]", ".", ":", " ", "eq"]) + path[cut:]
            operation["path"] = path
        if rng.random() < 0.85:
            operation["value"] = scalar(rng, ids) if rng.random() < 0.5 else value(rng, ids)
        operations.append(operation)
    body = {"schemas": [PATCH_OP], "Operations": operations}
    return mutate(rng, body, ids) if rng.random() < 0.2 else body


def mutate(rng: random.Random, doc: Any, ids: list[str]) -> Any:
    """Replace, delete or retype a few random nodes of a valid body."""
    for _ in range(rng.randrange(0, 4)):
        holder, key = _random_slot(rng, doc)
        if holder is None:
            return value(rng, ids)
        if rng.random() < 0.3 and isinstance(holder, dict):
            holder.pop(key, None)
        else:
            holder[key] = value(rng, ids)
    return doc


def _random_slot(rng: random.Random, doc: Any) -> tuple[Any, Any]:
    slots: list[tuple[Any, Any]] = [(None, None)]
    stack = [doc]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            slots.append((node, key))
            stack.append(child)
    return rng.choice(slots)


def check(reply: Reply, case: str) -> None:
    """The properties every answer has, whatever was sent."""
    assert reply.status in ALLOWED, (reply.status, reply.body[:500], case)
    assert_no_leak(reply)
    if reply.status >= 400:
        doc = reply.json
        assert doc["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"], case
        assert doc["status"] == str(reply.status), case
        assert isinstance(doc["detail"], str) and doc["detail"], case
    elif reply.body:
        doc = reply.json
        for resource in doc.get("Resources", [doc]):
            assert resource["id"], case


async def setup(make_client: AppFactory, policy: str) -> tuple[Client, list[str], list[str]]:
    _, client = await make_client(policy, "multiple", roles=("Admin", "User"), groups=("FinanceTeam",))
    users = []
    for i in range(3):
        reply = await client.post(USERS, {"schemas": [USER_SCHEMA], "userName": f"seed{i}@contoso.com"})
        users.append(reply.json["id"])
    group = await client.get(f'{GROUPS}?filter=displayName eq "FinanceTeam"&excludedAttributes=members')
    return client, users, [group.json["Resources"][0]["id"]]


async def reads_still_work(client: Client, case: str) -> None:
    """Whatever was stored renders, filters and pages afterwards (no poisoned data)."""
    listing = await client.get(f"{USERS}?count=1000")
    check(listing, case)
    for resource in listing.json["Resources"]:
        check(await client.get(f"{USERS}/{resource['id']}"), case)
    groups = await client.get(f"{GROUPS}?count=1000")
    check(groups, case)
    for text in (
        'userName eq "seed0@contoso.com"',
        'emails[type eq "work"].value eq "a@contoso.com"',
        "active eq true",
        'manager eq "x"',
        'roles[value eq "Admin"]',
        "name.givenName pr",
        'displayName co "a"',
    ):
        check(await client.get(f"{USERS}?filter={quote(text)}"), case)
        check(await client.get(f"{GROUPS}?filter={quote(text)}&excludedAttributes=members"), case)


@pytest.mark.parametrize(("policy", "seed"), [("strict", 20240601), ("create", 7), ("normalize", 1234)])
async def test_random_bodies_never_yield_5xx(make_client: AppFactory, policy: str, seed: int) -> None:
    rng = random.Random(seed)
    client, users, groups = await setup(make_client, policy)
    for n in range(300):
        target = rng.randrange(6)
        if target == 0:
            method, url, body = "POST", USERS, user_body(rng, users)
        elif target == 1:
            method, url, body = "PUT", f"{USERS}/{rng.choice(users)}", user_body(rng, users)
        elif target == 2:
            method, url, body = "PATCH", f"{USERS}/{rng.choice(users)}", patch_body(rng, users)
        elif target == 3:
            method, url, body = "POST", GROUPS, group_body(rng, users)
        elif target == 4:
            method, url, body = "PUT", f"{GROUPS}/{rng.choice(groups)}", group_body(rng, users)
        else:
            method, url, body = "PATCH", f"{GROUPS}/{rng.choice(groups)}", patch_body(rng, users)
        case = f"#{n} seed {seed}: {method} {url} {json.dumps(body)[:400]}"
        reply = await client.request(method, url, body=body)
        check(reply, case)
        if reply.status == 201:
            (users if url == USERS else groups).append(reply.json["id"])
        if n % 50 == 49:
            await reads_still_work(client, case)
    await reads_still_work(client, f"end of seed {seed}")


@pytest.mark.parametrize("seed", [1, 2])
async def test_random_filters_are_200_or_invalid_filter(make_client: AppFactory, seed: int) -> None:
    rng = random.Random(seed)
    client, _, _ = await setup(make_client, "strict")
    for n in range(300):
        text = " ".join(rng.choice(FILTER_WORDS) for _ in range(rng.randrange(1, 9)))
        reply = await client.get(f"{rng.choice([USERS, GROUPS])}?filter={quote(text)}")
        check(reply, f"#{n} filter {text!r}")
        assert reply.status == 200 or reply.json.get("scimType") == "invalidFilter", (text, reply.body)


async def test_random_bytes_never_yield_5xx(make_client: AppFactory) -> None:
    rng = random.Random(99)
    client, users, _ = await setup(make_client, "strict")
    fragments = [b"{", b"}", b"[", b"]", b'"', b":", b",", b"userName", b"null", b"\\u0000", b"\xff", b"1e9", b" "]
    for n in range(200):
        raw = b"".join(rng.choice(fragments) for _ in range(rng.randrange(0, 30)))
        if rng.random() < 0.3:
            raw = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64)))
        method, url = rng.choice([("POST", USERS), ("PATCH", f"{USERS}/{users[0]}"), ("POST", GROUPS)])
        check(await client.request(method, url, raw=raw), f"#{n} {method} {url} {raw!r}")
