"""Replay of the Logic App "SCIM direct compliance" tests (AzureAD/SCIMReferenceCode,
Microsoft.SCIM.LogicAppValidationTemplate/StandardLogicApp: SCIMTests_Workflow.json and the Initialization
workflow that builds its bodies from the provisioning schema).

The attribute list is Entra's default target schema for a non-gallery SCIM app (the mapping the Initialization
workflow reads), plus the primary-role targets an admin adds with "Edit attribute list" (docs/reference/entra-wire.md
§4.1). The tests the workflow runs against Entra itself (create in Entra, wait for a cycle) need a tenant and are
not replayed; SCIMTests_Workflow's direct HTTP tests are, each check as the workflow makes it:
Schema_Discoverability, SCIM_Null_Update (verbose and non-verbose PATCH), SCIM_User_Create, SCIM_User_Update,
SCIM_Group_Create, SCIM_Group_Update, Validate_Credentials, SCIM_User_Pagination, SCIM_Group_Pagination and
SCIM_Update_Manager. The workflow accepts 200 or 204 for every PATCH, so no check here departs from it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.replay import ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA, Replay, listing, patch_body
from tests.support.host import StartHost

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WORK = '[type eq "work"]'
PRIMARY_ROLE = 'roles[primary eq "True"]'
# Entra's default user mapping for a non-gallery SCIM app (its target attribute names).
USER_TARGETS = [
    "userName",
    "active",
    "displayName",
    "title",
    f"emails{WORK}.value",
    "preferredLanguage",
    "name.givenName",
    "name.familyName",
    "name.formatted",
    *(f"addresses{WORK}.{p}" for p in ("formatted", "streetAddress", "locality", "region", "postalCode", "country")),
    f"phoneNumbers{WORK}.value",
    'phoneNumbers[type eq "mobile"].value',
    'phoneNumbers[type eq "fax"].value',
    "externalId",
    f"{ENTERPRISE}:employeeNumber",
    f"{ENTERPRISE}:department",
    f"{ENTERPRISE}:manager",
]
ROLE_TARGETS = [f"{PRIMARY_ROLE}.display", f"{PRIMARY_ROLE}.type", f"{PRIMARY_ROLE}.value"]
GROUP_TARGETS = ["displayName", "externalId", "members"]
_FILTERED = re.compile(r'^(\w+)\[(\w+) eq "([^"]*)"\]\.(\w+)$')


@pytest.fixture(params=["memory", pytest.param("tables", marks=pytest.mark.azurite)])
def replay(request: pytest.FixtureRequest) -> Iterator[Replay]:
    start: StartHost = request.getfixturevalue("start_host" if request.param == "memory" else "start_tables_host")
    r = Replay("Logic App SCIMTests", start("create"))
    yield r
    print(r.summary())
    r.close()


def rand() -> str:
    return uuid.uuid4().hex[:12].upper()


def value_for(target: str) -> Any:
    """The generated value for a target: what the Initialization workflow puts in its bodies."""
    if target == "active":
        return True
    if target == "userName":
        return f"{rand().lower()}@contoso.example"
    if target.endswith(".type") and target.startswith("roles"):
        return "WindowsAzureActiveDirectoryRole"
    if target.endswith("manager"):
        return rand()  # a manager id that names no user: the workflow sends such strings
    return rand()


def put_path(body: dict[str, Any], target: str, value: Any) -> None:
    """Place one flattened target into a SCIM body: plain, dotted, value-filtered or URN-qualified."""
    if target.startswith("urn:"):
        urn, _, name = target.rpartition(":")
        body.setdefault(urn, {})[name] = {"value": value} if name == "manager" else value
        return
    filtered = _FILTERED.match(target)
    if filtered:
        attr, key, wanted, sub = filtered.groups()
        items = body.setdefault(attr, [])
        element = next((e for e in items if str(e.get(key)) == wanted), None)
        if element is None:
            element = {key: wanted}
            items.append(element)
        element[sub] = value
    elif "." in target:
        attr, sub = target.split(".", 1)
        body.setdefault(attr, {})[sub] = value
    else:
        body[target] = value


def read_path(doc: dict[str, Any], target: str) -> Any:
    """The value a target names in a GET response, as the workflow's verification reads it."""
    if target.startswith("urn:"):
        urn, _, name = target.rpartition(":")
        found = (doc.get(urn) or {}).get(name)
        return found.get("value") if isinstance(found, dict) else found
    filtered = _FILTERED.match(target)
    if filtered:
        attr, key, wanted, sub = filtered.groups()
        matches = [e for e in doc.get(attr) or [] if str(e.get(key)).lower() == wanted.lower()]
        return matches[0].get(sub) if matches else None
    if "." in target:
        attr, sub = target.split(".", 1)
        return (doc.get(attr) or {}).get(sub)
    return doc.get(target)


def user_body(targets: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [USER_SCHEMA, ENTERPRISE]}
    for target in targets:
        put_path(body, target, value_for(target))
    return body


def flatten(schema: dict[str, Any], prefix: str = "") -> set[str]:
    """Attribute names as the workflow flattens /Schemas: ``emails[type eq "work"].value``, ``name.givenName``."""
    names: set[str] = set()
    for attribute in schema.get("attributes", []):
        name, subs = attribute["name"], attribute.get("subAttributes") or []
        if name in ("manager", "members") or not subs:
            names.add(prefix + name)
            continue
        kinds = next((s.get("canonicalValues") or [] for s in subs if s["name"] == "type"), [])
        for sub in subs:
            names.add(f"{prefix}{name}.{sub['name']}")
            for kind in kinds:
                names.add(f'{prefix}{name}[type eq "{kind}"].{sub["name"]}')
            if name == "roles":
                names.add(f'{prefix}{name}[primary eq "True"].{sub["name"]}')
    return names


def _flattened_count(attributes: list[dict[str, Any]]) -> tuple[int, dict[str, int]]:
    """Flatten_User_Attrs_Loop / Flatten_Group_Attrs_Loop of SCIMTests_Workflow.json, step by step: manager and
    members count 1; a multi-valued complex attribute counts its sub-attributes other than type and primary, times
    the canonical values of its type when it has some; a single complex one counts its sub-attributes that are
    neither complex nor reference; a simple one counts 1 unless its type is reference."""
    total, each = 0, {}
    for attribute in attributes:
        subs = attribute.get("subAttributes") or []
        if attribute.get("name") in ("manager", "members"):
            n = 1
        elif attribute.get("type") == "complex" and attribute.get("multiValued") is True:
            kind = [s for s in subs if s.get("name") == "type"]
            filterable = [s for s in subs if s.get("name") not in ("type", "primary")]
            canonical = (kind[0].get("canonicalValues") or []) if kind else []
            n = len(canonical) * len(filterable) if canonical else len(filterable)
        elif attribute.get("type") == "complex":
            n = len([s for s in subs if s.get("type") not in ("complex", "reference")])
        else:
            n = 0 if attribute.get("type") == "reference" else 1
        each[str(attribute.get("name"))] = n
        total += n
    return total, each


def test_schema_discoverability_counts_as_the_workflow_does(replay: Replay) -> None:
    """Compose_Schema_Discoverability_Summary: PASSED when /Schemas answers 200 with Resources and the flattened
    attribute counts of the User (core union enterprise, found by exact id) and Group schemas are at least the
    mapping's target attribute counts. Attributes typed `reference` are never counted (profileUrl among them), and
    need not be: the check compares counts, and the other attributes leave a wide margin."""
    r = replay
    reply = r.send("GET", "Schemas")
    body = r.status(reply, 200, what="SCIM_Get_Schemas")
    resources = body.get("Resources") or []
    first = {s.get("id"): s for s in reversed(resources)}  # Filter_*_Schema then first(): exact, case-sensitive ids
    user_attrs = (first.get(USER_SCHEMA) or {}).get("attributes", []) + (first.get(ENTERPRISE) or {}).get(
        "attributes", []
    )
    users, counted = _flattened_count(user_attrs)
    groups, _ = _flattened_count((first.get(GROUP_SCHEMA) or {}).get("attributes", []))
    targets, group_targets = len(USER_TARGETS + ROLE_TARGETS), len(GROUP_TARGETS)
    print(f"Schema_Discoverability: user {users} >= {targets}, group {groups} >= {group_targets}")
    r.check(reply.status_code == 200 and len(resources) > 0, "Schema_Discoverability: 200 with schemas")
    r.check(users >= targets, f"userAttrCountCheckPassed: {users} >= {targets}")
    r.check(groups >= group_targets, f"groupAttrCountCheckPassed: {groups} >= {group_targets}")
    r.check(counted.get("profileUrl") == 0, "profileUrl is served, typed reference, and not counted")
    # Even a mapping that targets every simple attribute the service serves, profileUrl included, passes.
    every = [a["name"] for a in user_attrs if a.get("type") != "complex"]
    r.check(users >= len(every) + targets, f"a mapping of every simple attribute too ({len(every) + targets})")


def test_schema_discoverability(replay: Replay) -> None:
    r = replay
    body = r.status(r.send("GET", "Schemas"), 200, what="SCIM_Get_Schemas")
    resources = {s["id"]: s for s in body.get("Resources", [])}
    r.check(bool(resources), "Schema_Discoverability: Resources array")
    r.check(USER_SCHEMA in resources, "Filter_User_Schema: the core User schema")
    r.check(GROUP_SCHEMA in resources, "Filter_Group_Schema: the Group schema (group provisioning is mandatory)")
    users = flatten(resources[USER_SCHEMA])
    for urn, schema in resources.items():
        if urn not in (USER_SCHEMA, GROUP_SCHEMA):
            users |= flatten(schema, prefix=f"{urn}:")
    found = {n.lower() for n in users}
    for target in USER_TARGETS + ROLE_TARGETS:
        r.check(target.lower() in found, f"Schema_Discoverability: user attribute {target} is discoverable")
    groups = {n.lower() for n in flatten(resources[GROUP_SCHEMA])}
    for target in GROUP_TARGETS:
        r.check(target.lower() in groups, f"Schema_Discoverability: group attribute {target} is discoverable")


@pytest.mark.parametrize("verbose", [True, False], ids=["verbose", "non-verbose"])
def test_scim_null_update(replay: Replay, verbose: bool) -> None:
    r = replay
    body = user_body(USER_TARGETS + ROLE_TARGETS)
    created = r.status(r.send("POST", "Users", body), 200, 201, what="SCIM_Null_Update: create")
    user_id = created["id"]
    targets = USER_TARGETS + ROLE_TARGETS
    optional = [t for t in targets if t not in ("userName", "active") and not t.endswith(":manager")]
    for phase, value in (("Phase 1 (empty strings)", ""), ("Phase 2 (nulls)", None)):
        ops: list[dict[str, Any]] = [{"op": "replace", "path": t, "value": value} for t in optional]
        if not verbose:  # isVerbosePatchSupported false: filtered paths apart, the rest in one path-less replace
            ops = [o for o in ops if "[" in o["path"]]
            ops.append({"op": "replace", "value": {t: value for t in optional if "[" not in t}})
        reply = r.send("PATCH", f"Users/{user_id}", patch_body(*ops))
        r.check(reply.status_code in (200, 204), f"SCIM_Null_Update {phase}: PATCH 200 or 204: {reply.text[:300]}")
        doc = r.status(r.send("GET", f"Users/{user_id}"), 200, 204, what=f"SCIM_Null_Update {phase}: GET")
        for target in optional:
            actual = read_path(doc, target)
            r.check(actual in ("", None), f"SCIM_Null_Update {phase}: {target} is null or empty, got {actual!r}")


def test_scim_user_create_and_update(replay: Replay) -> None:
    r = replay
    body = user_body(USER_TARGETS + ROLE_TARGETS)
    created = r.status(r.send("POST", "Users", body), 200, 201, what="SCIM_User_Create")
    r.check(bool(created.get("id")), "SCIM_User_Create: a non-empty id")
    r.check(created.get("userName") == body["userName"], "SCIM_User_Create: userName round trip")
    user_id = created["id"]
    # Eligible: single-valued simple targets, not groups/roles/id/schemas/meta/active (the workflow's rule).
    eligible = [t for t in USER_TARGETS if "[" not in t and t != "active" and not t.endswith(":manager")]
    sent = {t: value_for(t) for t in eligible}
    reply = r.send(
        "PATCH", f"Users/{user_id}", patch_body(*({"op": "replace", "path": t, "value": v} for t, v in sent.items()))
    )
    r.check(reply.status_code in (200, 204), f"SCIM_User_Update: PATCH 200 or 204: {reply.text[:300]}")
    doc = r.status(r.send("GET", f"Users/{user_id}"), 200, 204, what="SCIM_User_Update: GET")
    for target, value in sent.items():
        r.check(read_path(doc, target) == value, f"SCIM_User_Update: {target} matches")
    # The primary role built field by field, one PATCH each, display before the value (this once was a 500).
    fresh = r.status(r.send("POST", "Users", user_body(["userName"])), 201, what="SCIM_User_Update: a user")
    for target in ROLE_TARGETS:
        value = value_for(target)
        reply = r.send("PATCH", f"Users/{fresh['id']}", patch_body({"op": "add", "path": target, "value": value}))
        r.check(reply.status_code in (200, 204), f"SCIM_User_Update: add {target}: {reply.text[:300]}")
        doc = r.status(r.send("GET", f"Users/{fresh['id']}"), 200, what=f"SCIM_User_Update: GET after {target}")
        r.check(read_path(doc, target) == value, f"SCIM_User_Update: {target} matches")
        r.check(read_path(doc, f"{PRIMARY_ROLE}.primary") is True, "SCIM_User_Update: primary is a boolean true")


def test_scim_group_create_and_update(replay: Replay) -> None:
    r = replay
    body = {"schemas": [GROUP_SCHEMA], "displayName": f"Group{rand()}", "externalId": str(uuid.uuid4())}
    created = r.status(r.send("POST", "Groups", body), 200, 201, what="SCIM_Group_Create")
    r.check(bool(created.get("id")), "SCIM_Group_Create: a non-empty id")
    r.check(created.get("displayName") == body["displayName"], "SCIM_Group_Create: displayName round trip")
    sent = {"displayName": f"Group{rand()}", "externalId": str(uuid.uuid4())}
    ops = [{"op": "replace", "path": k, "value": v} for k, v in sent.items()]
    reply = r.send("PATCH", f"Groups/{created['id']}", patch_body(*ops))
    r.check(reply.status_code in (200, 204), f"SCIM_Group_Update: PATCH 200 or 204: {reply.text[:300]}")
    doc = r.status(r.send("GET", f"Groups/{created['id']}"), 200, 204, what="SCIM_Group_Update: GET")
    for key, value in sent.items():
        r.check(doc.get(key) == value, f"SCIM_Group_Update: {key} matches")


def test_validate_credentials(replay: Replay) -> None:
    r = replay
    form = {"grant_type": "client_credentials", "client_id": r.host.client_id, "client_secret": r.host.client_secret}
    reply = httpx.post(r.host.token_url, data=form, timeout=10)
    r.check(reply.is_success, f"Validate_Credentials: token endpoint 2xx: {reply.status_code}")
    token = reply.json()
    r.check(bool(token.get("access_token")), "Validate_Credentials: an access_token")
    r.check(60 * 60 <= int(token.get("expires_in", 0)) <= 360 * 60, "Validate_Credentials: valid 60-360 minutes")
    users = httpx.get(f"{r.host.scim_url}/Users", headers={"Authorization": f"Bearer {token['access_token']}"})
    r.check(users.is_success, "Validate_Credentials: SCIM answers 2xx with the token")


@pytest.mark.parametrize("kind", ["Users", "Groups"])
def test_scim_pagination(replay: Replay, kind: str) -> None:
    r = replay
    test = f"SCIM_{kind[:-1]}_Pagination"
    created: list[str] = []
    while len(created) < 11:  # "ensures at least 11 exist, creating throwaway ones if needed"
        body = user_body(["userName"]) if kind == "Users" else {"schemas": [GROUP_SCHEMA], "displayName": rand()}
        created.append(r.status(r.send("POST", kind, body), 201, what=f"{test}: create")["id"])
    pages, page, seen = 0, 0, []
    while True:
        body = r.status(r.send("GET", f"{kind}?startIndex={page * 5 + 1}&count=5"), 200, what=f"{test}: page {page}")
        r.check(body["startIndex"] == page * 5 + 1, f"{test}: page {page} startIndex {page * 5 + 1}")
        pages += 1
        seen += [item["id"] for item in listing(body)]
        if page * 5 + 5 >= body["totalResults"]:
            break
        page += 1
    r.check(pages >= 2, f"{test}: at least 2 pages")
    r.check(sorted(seen) == sorted(created), f"{test}: every resource once across the pages")  # the product's own
    for resource_id in created:
        r.status(r.send("DELETE", f"{kind}/{resource_id}"), 204, what=f"{test}: clean up")


def test_scim_update_manager(replay: Replay) -> None:
    r = replay
    ids = [r.status(r.send("POST", "Users", user_body(["userName"])), 201, what="create")["id"] for _ in range(3)]
    user, first, second = ids
    path = f"{ENTERPRISE}:manager"
    for name, op, value, expected in (
        ("set (Add)", "Add", first, first),
        ("change (Replace)", "Replace", second, second),
        ("remove (Replace with empty)", "Replace", "", None),
    ):
        reply = r.send("PATCH", f"Users/{user}", patch_body({"op": op, "path": path, "value": value}))
        r.check(reply.status_code in (200, 204), f"SCIM_Update_Manager {name}: 200 or 204: {reply.text[:300]}")
        doc = r.status(r.send("GET", f"Users/{user}"), 200, what=f"SCIM_Update_Manager {name}: GET")
        r.check(read_path(doc, path) == expected, f"SCIM_Update_Manager {name}: manager is {expected!r}")
