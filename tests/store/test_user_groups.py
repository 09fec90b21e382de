"""The User `groups` attribute (RFC 7643 §4.1.2) through the triggers on both stores: filters on it match,
PUT answers carry it, and its cost on Table Storage does not grow with the directory (one range query)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from scim.app import App, build_app, install_app
from scim.config import load_settings
from scim.dev.azurite import Azurite
from scim.dev.localrun import seed
from scim.secrets import MemorySecretStore
from scim.service.admin import AdminService
from scim.store.memory import MemoryStore
from scim.store.tables import TableStore
from tests.store.test_memberships import RecordingTransport
from tests.support.app import BASE, CLIENT_ID, CLIENT_SECRET, Client
from tests.support.store import table_prefix

USERS = "/scim/v2/Users"
GROUPS = "/scim/v2/Groups"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


async def _app(store: MemoryStore | TableStore) -> tuple[App, Client]:
    app = build_app(
        load_settings({"SCIM_STORE": "memory", "SCIM_PUBLIC_BASE_URL": BASE}),
        store=store,
        secret_store=MemorySecretStore(),
    )
    await seed(app, CLIENT_ID, CLIENT_SECRET, "create")
    install_app(app)
    token, _ = await app.tokens.issue(CLIENT_ID, "dev", ttl=3600)
    return app, Client(token)


@pytest.fixture
async def http(store: MemoryStore | TableStore) -> AsyncIterator[Client]:
    _, client = await _app(store)
    yield client
    install_app(None)


async def _user(http: Client, name: str) -> str:
    reply = await http.post(USERS, {"schemas": [USER], "userName": name})
    assert reply.status == 201, reply.body
    return str(reply.json["id"])


async def _group(http: Client, name: str, members: list[str]) -> str:
    reply = await http.post(GROUPS, {"displayName": name, "members": [{"value": m} for m in members]})
    assert reply.status == 201, reply.body
    return str(reply.json["id"])


async def _found(http: Client, text: str, **params: Any) -> tuple[int, list[str]]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    reply = await http.get(f"{USERS}?filter={text}" + (f"&{query}" if query else ""))
    assert reply.status == 200, reply.body
    return reply.json["totalResults"], [u["userName"] for u in reply.json["Resources"]]


async def test_filters_on_groups_match(http: Client) -> None:
    ann = await _user(http, "ann@x.test")
    bob = await _user(http, "bob@x.test")
    await _user(http, "cy@x.test")
    finance = await _group(http, "Finance", [ann, bob])
    audit = await _group(http, "Audit", [ann])
    cases = {
        f'groups[value eq "{finance}"]': {"ann@x.test", "bob@x.test"},
        f'groups.value eq "{audit}"': {"ann@x.test"},
        f'groups eq "{audit}"': {"ann@x.test"},
        'groups.display eq "Audit"': {"ann@x.test"},
        'groups[display eq "finance"]': {"ann@x.test", "bob@x.test"},
        f'groups[value eq "{finance}"] and userName sw "b"': {"bob@x.test"},
        f'userName eq "bob@x.test" and groups[value eq "{audit}"]': set(),
        f'userName eq "ann@x.test" and groups[value eq "{audit}"]': {"ann@x.test"},
        "not (groups pr)": {"cy@x.test"},
        f'groups[value eq "{audit}"] or userName eq "cy@x.test"': {"ann@x.test", "cy@x.test"},
        'groups[value eq "no-such-group"]': set(),
    }
    for text, expected in cases.items():
        total, names = await _found(http, text)
        assert (total, set(names)) == (len(expected), expected), text
    # Membership alone pages over the group's member entries.
    total, names = await _found(http, f'groups[value eq "{finance}"]', startIndex=2, count=1)
    assert total == 2 and names == ["ann@x.test" if ann > bob else "bob@x.test"]


async def test_put_and_patch_answers_carry_groups(http: Client) -> None:
    ann = await _user(http, "ann@x.test")
    finance = await _group(http, "Finance", [ann])
    put = await http.put(f"{USERS}/{ann}", {"schemas": [USER], "userName": "ann@x.test", "title": "Eng"})
    assert put.status == 200, put.body
    assert [g["value"] for g in put.json["groups"]] == [finance]
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Ops"}]}
    patched = await http.patch(f"{USERS}/{ann}?attributes=groups", body)
    assert [g["display"] for g in patched.json["groups"]] == ["Finance"]


@pytest.mark.azurite
async def test_a_groups_filter_costs_the_same_round_trips_whatever_the_directory_size(azurite: Azurite) -> None:
    """Memberships are read in one range query for all candidates, never one query per user."""
    from azure.data.tables.aio import TableServiceClient

    transport = RecordingTransport()
    service = TableServiceClient.from_connection_string(azurite.connection_string, transport=transport)
    app, http = await _app(TableStore(service, table_prefix()))
    try:
        admin = AdminService(app.store, app.clients, app.tokens)
        group = (await admin.add_group("dev", "Audit")).id
        requests = []
        for size in (5, 50):
            ids = [await _user(http, f"u{size}-{n}@x.test") for n in range(size - (5 if size == 50 else 0))]
            body = {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": ids[0]}]}],
            }
            assert (await http.patch(f"{GROUPS}/{group}", body)).status == 204
            before = len(transport.urls)
            total, _ = await _found(http, 'groups.display eq "Audit"')
            assert total == (1 if size == 5 else 2)
            requests.append(len(transport.urls) - before)
        assert requests[0] == requests[1], requests
    finally:
        install_app(None)
        await app.close()


async def test_a_groups_filter_past_its_budget_is_too_many_before_reading_memberships() -> None:
    """A membership combined with other comparisons reads at most MAX_GROUP_CANDIDATES users one by one; a scan
    past the filter work budget is refused before the directory's memberships are read."""
    from scim.model import Resource
    from scim.service.query import MAX_FILTER_WORK
    from scim.service.users import MAX_GROUP_CANDIDATES

    store = MemoryStore()
    _, http = await _app(store)
    try:
        ids = [f"u{n:06}" for n in range(max(MAX_GROUP_CANDIDATES, MAX_FILTER_WORK // 2) + 1)]
        for uid in ids:
            await store.create_user("dev", Resource(uid, {"userName": f"{uid}@x.test"}, "c", "c"))
        reads: list[list[str]] = []
        original = store.user_groups

        async def counted(directory: str, user_ids: list[str]) -> Any:
            reads.append(user_ids)
            return await original(directory, user_ids)

        store.user_groups = counted  # type: ignore[method-assign]
        big = await _group(http, "Big", ids[: MAX_GROUP_CANDIDATES + 1])
        combined = await http.get(f'{USERS}?filter=groups[value eq "{big}"] and title eq "x"')
        assert combined.status == 400 and combined.json["scimType"] == "tooMany", combined.body
        assert "membership alone" in combined.json["detail"]
        alone = await http.get(f'{USERS}?filter=groups[value eq "{big}"]&count=2&attributes=id')
        assert alone.status == 200 and alone.json["totalResults"] == MAX_GROUP_CANDIDATES + 1
        scan = await http.get(f'{USERS}?filter=groups.display eq "Big" and title eq "x"')
        assert scan.status == 400 and scan.json["scimType"] == "tooMany", scan.body
        assert reads == [], "no membership was read for a refused filter (the page of ids renders without groups)"
    finally:
        install_app(None)


async def test_a_groups_filter_sorts_by_start_index_and_pages_by_cursor_only_as_one_groups_members(
    http: Client,
) -> None:
    """sortBy applies to a groups filter (RFC 7644 §3.4.2.3); a cursor pages only one membership test alone."""
    ids = [await _user(http, name) for name in ("cy@x.test", "ann@x.test", "bob@x.test")]
    crew = await _group(http, "Crew", ids)
    for text in (f'groups[value eq "{crew}"]', 'groups.display eq "Crew"'):
        reply = await http.get(f"{USERS}?filter={text}&sortBy=userName&sortOrder=descending&count=2")
        assert reply.status == 200, reply.body
        assert reply.json["totalResults"] == 3
        assert [u["userName"] for u in reply.json["Resources"]] == ["cy@x.test", "bob@x.test"], text
        refused = await http.get(f"{USERS}?filter={text}&sortBy=userName&cursor=")
        assert refused.status == 400 and refused.json["scimType"] == "invalidFilter", refused.body
        assert "startIndex" in refused.json["detail"] and 'groups[value eq "<group id>"]' in refused.json["detail"]
    assert (await http.get(f'{USERS}?filter=groups.display eq "Crew"&cursor=')).status == 400
    assert (await http.get(f'{USERS}?filter=groups[value eq "{crew}"]&cursor=')).status == 200


async def test_a_cursor_walks_a_groups_members_once_each(http: Client) -> None:
    """groups[value eq G] by cursor: the group's member entries a page at a time, each member once, in the
    store's key order, and a deleted group lists nobody."""
    ids = [await _user(http, f"m{n:02d}@x.test") for n in range(11)]
    crew = await _group(http, "Crew", ids)
    await _group(http, "Others", ids[:3])
    url = f'{USERS}?filter=groups[value eq "{crew}"]&count=4&attributes=userName'
    seen: list[str] = []
    page: dict[str, Any] = {"nextCursor": ""}
    while "nextCursor" in page:
        reply = await http.get(f"{url}&cursor={page['nextCursor']}")
        assert reply.status == 200, reply.body
        page = reply.json
        seen += [u["id"] for u in page["Resources"]]
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    assert page["totalResults"] == len(ids)
    assert (await http.delete(f"{GROUPS}/{crew}")).status == 204
    gone = (await http.get(f"{url}&cursor=")).json
    assert gone["Resources"] == [] and "nextCursor" not in gone
