"""A replay of an Entra initial provisioning cycle over HTTP (docs/reference/entra-wire.md §1, §3.5, §5), async httpx.

Token (HTTP Basic and form body), Test Connection, match-then-create users with roles, match catalog groups
with excludedAttributes=members, add several members per operation, disable one user with the string
"False", delete another, then check the final directory over HTTP. The directory's catalog (roles and
user groups) exists before the cycle and the name policy is strict, as an admin would set it up. On Table
Storage the server restarts between the phases and nothing may be lost.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.support.host import SCIMCTL, Host, StartHost

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ROLES = ["PamAdmin", "PamAuditor"]
GROUPS = ["PAM_Admins", "PAM_Auditors"]


@dataclass(frozen=True)
class Person:
    alias: str
    role: str
    groups: tuple[str, ...]

    @property
    def upn(self) -> str:
        return f"{self.alias}@contoso.onmicrosoft.com"


PEOPLE = [
    Person("alice", "PamAdmin", ("PAM_Admins",)),
    Person("bob", "PamAuditor", ("PAM_Auditors",)),
    Person("carol", "PamAdmin", ("PAM_Admins", "PAM_Auditors")),
    Person("dave", "PamAuditor", ("PAM_Auditors",)),  # disabled in phase two
    Person("erin", "PamAdmin", ("PAM_Admins",)),  # deleted in phase two
]
DISABLED, DELETED = "dave", "erin"


@dataclass
class Cycle:
    """What the provisioning job has cached: target ids by alias and group name (§1.0: Entra keeps the id)."""

    users: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)


def user_body(person: Person) -> dict[str, Any]:
    """The POST Entra sends with the default mapping and SingleAppRoleAssignment (§1.1, §4.1)."""
    return {
        "schemas": [USER, ENTERPRISE],
        "externalId": person.alias,
        "userName": person.upn,
        "active": True,
        "displayName": person.alias.title(),
        "emails": [{"primary": True, "type": "work", "value": person.upn}],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": f"{person.alias.title()} Contoso",
            "familyName": "Contoso",
            "givenName": person.alias.title(),
        },
        ENTERPRISE: {"department": "Security"},
        "roles": [{"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": person.role}],
    }


async def token_basic(http: httpx.AsyncClient, host: Host) -> str:
    """Client credentials in an HTTP Basic header (RFC 6749 §2.3.1, the form Entra's OAuth mode may use)."""
    response = await http.post(
        host.token_url, data={"grant_type": "client_credentials"}, auth=(host.client_id, host.client_secret)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"].lower() == "bearer" and body["expires_in"] > 0
    return str(body["access_token"])


async def token_form(http: httpx.AsyncClient, host: Host) -> str:
    """Client credentials in the form body (§3.2; the senhasegura curl of §7)."""
    response = await http.post(
        host.token_url,
        data={"grant_type": "client_credentials", "client_id": host.client_id, "client_secret": host.client_secret},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def query(scim: httpx.AsyncClient, resource: str, filter_: str, **params: str) -> dict[str, Any]:
    """A filtered GET; a miss must be 200 with an empty ListResponse, never 404 (§1.0)."""
    response = await scim.get(f"/{resource}", params={"filter": filter_, **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body: dict[str, Any] = response.json()
    assert body["schemas"] == [LIST]
    return body


async def probe_connection(scim: httpx.AsyncClient) -> None:
    """Random-GUID probes on Users and Groups (§3.5)."""
    users = await query(scim, "Users", f'userName eq "{uuid.uuid4()}"')
    assert users["totalResults"] == 0 and users["Resources"] == []
    groups = await query(scim, "Groups", f'displayName eq "{uuid.uuid4()}"', excludedAttributes="members")
    assert groups["totalResults"] == 0 and groups["Resources"] == []


async def provision_user(scim: httpx.AsyncClient, person: Person) -> str:
    """Match on userName, then create (§1.1 steps 1-2)."""
    found = await query(scim, "Users", f'userName eq "{person.upn}"')
    assert found["totalResults"] == 0, found
    response = await scim.post("/Users", json=user_body(person))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["userName"] == person.upn and created["active"] is True
    assert [r["value"] for r in created["roles"]] == [person.role]
    return str(created["id"])


async def match_group(scim: httpx.AsyncClient, name: str) -> str:
    """Entra finds the catalog group by displayName, without members (§1.5 step 1)."""
    found = await query(scim, "Groups", f'displayName eq "{name}"', excludedAttributes="members")
    assert found["totalResults"] == 1, found
    group = found["Resources"][0]
    assert group["displayName"] == name and "members" not in group
    return str(group["id"])


async def phase_one(scim: httpx.AsyncClient, cycle: Cycle) -> None:
    """Test Connection, then every user matched and created (concurrently, as the job does), groups matched."""
    await probe_connection(scim)
    ids = await asyncio.gather(*(provision_user(scim, p) for p in PEOPLE))
    cycle.users = {p.alias: i for p, i in zip(PEOPLE, ids, strict=True)}
    for name in GROUPS:
        cycle.groups[name] = await match_group(scim, name)


async def phase_two(scim: httpx.AsyncClient, cycle: Cycle) -> None:
    """Memberships (several per operation, legacy casing), one disable with the string "False", one delete."""
    await probe_connection(scim)  # the probe runs at the start of every cycle (§3.5)
    for name, group_id in cycle.groups.items():
        members = [{"$ref": None, "value": cycle.users[p.alias]} for p in PEOPLE if name in p.groups]
        body = {"schemas": [PATCH_OP], "Operations": [{"op": "Add", "path": "members", "value": members}]}
        response = await scim.patch(f"/Groups/{group_id}", json=body)
        assert response.status_code == 204, response.text
    disable = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}
    response = await scim.patch(f"/Users/{cycle.users[DISABLED]}", json=disable)
    assert response.status_code in (200, 204), response.text
    response = await scim.delete(f"/Users/{cycle.users[DELETED]}")
    assert response.status_code == 204, response.text


async def assert_after_phase_one(scim: httpx.AsyncClient, cycle: Cycle) -> None:
    for person in PEOPLE:
        response = await scim.get(f"/Users/{cycle.users[person.alias]}")
        assert response.status_code == 200, response.text
        assert response.json()["userName"] == person.upn
    for name, group_id in cycle.groups.items():
        assert await match_group(scim, name) == group_id


async def assert_final_state(scim: httpx.AsyncClient, cycle: Cycle) -> None:
    for person in PEOPLE:
        user_id = cycle.users[person.alias]
        response = await scim.get(f"/Users/{user_id}")
        found = await query(scim, "Users", f'userName eq "{person.upn}"')
        if person.alias == DELETED:
            assert response.status_code == 404, response.text  # §1.4: gone for GET and for filters
            assert found["totalResults"] == 0
            continue
        assert response.status_code == 200, response.text
        user = response.json()
        assert user["id"] == user_id and user["userName"] == person.upn and user["externalId"] == person.alias
        assert user["active"] is (person.alias != DISABLED)  # a disabled user is still returned (§1.3)
        assert [(r["value"], r.get("primary")) for r in user["roles"]] == [(person.role, True)]
        assert user["emails"] == [{"primary": True, "type": "work", "value": person.upn}]
        assert user[ENTERPRISE]["department"] == "Security"
        assert found["totalResults"] == 1 and found["Resources"][0]["id"] == user_id
    for name, group_id in cycle.groups.items():
        response = await scim.get(f"/Groups/{group_id}")
        assert response.status_code == 200, response.text
        group = response.json()
        expected = {cycle.users[p.alias] for p in PEOPLE if name in p.groups and p.alias != DELETED}
        assert group["displayName"] == name
        assert {m["value"] for m in group.get("members", [])} == expected


def scim_client(host: Host, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=host.scim_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


async def test_entra_cycle_on_memory(start_host: StartHost) -> None:
    host = start_host("strict", SCIM_DEV_ROLES=",".join(ROLES), SCIM_DEV_GROUPS=",".join(GROUPS))
    cycle = Cycle()
    async with httpx.AsyncClient(timeout=30) as http:
        basic, form = await token_basic(http, host), await token_form(http, host)
    async with scim_client(host, basic) as scim:
        await phase_one(scim, cycle)
        await assert_after_phase_one(scim, cycle)
    async with scim_client(host, form) as scim:
        await phase_two(scim, cycle)
        await assert_final_state(scim, cycle)


def scimctl(host: Host, *args: str) -> Any:
    """Run the admin CLI against the same store as the server, the way an admin sets up the catalog."""
    completed = subprocess.run(
        [str(SCIMCTL), "--json", *args], env=host.env, capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, f"scimctl {' '.join(args)}: {completed.stderr}"
    return json.loads(completed.stdout)


@pytest.mark.azurite
async def test_entra_cycle_on_tables_survives_restarts(start_tables_host: StartHost) -> None:
    host = start_tables_host("strict")
    for role in ROLES:
        scimctl(host, "role", "add", "--directory", "dev", role)
    for group in GROUPS:
        scimctl(host, "group", "add", "--directory", "dev", group)
    assert {r["value"] for r in scimctl(host, "role", "list", "--directory", "dev")} == set(ROLES)

    cycle = Cycle()
    async with httpx.AsyncClient(timeout=30) as http:
        token = await token_basic(http, host)
    async with scim_client(host, token) as scim:
        await phase_one(scim, cycle)

    host.restart()
    # The token issued before the restart still verifies: the signing key lives in the secret store.
    async with scim_client(host, token) as scim:
        await assert_after_phase_one(scim, cycle)
        await phase_two(scim, cycle)

    host.restart()
    async with httpx.AsyncClient(timeout=30) as http:
        token = await token_form(http, host)
    async with scim_client(host, token) as scim:
        await assert_final_state(scim, cycle)
