"""Entra's requests cost the same storage round trips at any directory size, on both stores (README "Memberships
at scale"): counted as each request's span reports them (``scim.store.round_trips``, the console's ``rt=``), which
is the Table store's service calls and, on the memory store, one per store call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from scim.app import App, build_app, install_app
from scim.auth.cursors import PREVIOUS_PAGES
from scim.config import load_settings
from scim.dev.azurite import Azurite
from scim.dev.localrun import seed
from scim.model import Resource
from scim.secrets import MemorySecretStore
from scim.store import _codec as k
from scim.store._tableio import Op
from scim.store.memory import MemoryStore
from scim.store.tables import TableStore
from scim.telemetry import ROUND_TRIPS, untraced
from tests.support.app import BASE, CLIENT_ID, CLIENT_SECRET, Client
from tests.support.store import table_prefix

EXPORTER = InMemorySpanExporter()
_provider = trace.get_tracer_provider()
if not isinstance(_provider, TracerProvider):  # one provider per process: share it with the telemetry tests
    _provider = TracerProvider()
    trace.set_tracer_provider(_provider)
_provider.add_span_processor(SimpleSpanProcessor(EXPORTER))

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
D = "dev"


@pytest.fixture(params=["memory", pytest.param("tables", marks=pytest.mark.azurite)])
async def served(request: pytest.FixtureRequest) -> AsyncIterator[tuple[App, Client]]:
    """An App under policy `create` (Entra creates what its probe does not find) on each store, and a client."""
    if request.param == "memory":
        store: MemoryStore | TableStore = MemoryStore()
    else:
        running: Azurite = request.getfixturevalue("azurite")
        store = TableStore.from_connection_string(running.connection_string, table_prefix())
    settings = load_settings({"SCIM_STORE": "memory", "SCIM_PUBLIC_BASE_URL": BASE})
    app = build_app(settings, store=store, secret_store=MemorySecretStore())
    await seed(app, CLIENT_ID, CLIENT_SECRET, "create")
    install_app(app)
    token, _ = await app.tokens.issue(CLIENT_ID, D, ttl=3600)
    try:
        yield app, Client(token)
    finally:
        install_app(None)
        await app.close()


def query(**params: str) -> str:
    return "?" + urlencode(params)


async def round_trips(call: Callable[[], Awaitable[Any]], status: int) -> int:
    """The storage round trips the request's span reports."""
    EXPORTER.clear()
    reply = await call()
    assert reply.status == status, reply.json
    [span] = [s for s in EXPORTER.get_finished_spans() if s.kind == SpanKind.SERVER]
    count = (span.attributes or {})[ROUND_TRIPS]
    assert isinstance(count, int)
    return count


async def fill(app: App, kind: str, start: int, stop: int) -> None:
    """Resources ``start`` .. ``stop`` - 1, written directly (on Table Storage 33 to a transaction: fast to set up)."""
    store: Any = untraced(app.store)
    made = [
        Resource(
            f"{kind}{n:05d}",
            {"userName": f"fill{n}@x.example"} if kind == "u" else {"displayName": f"Fill{n}"},
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00Z",
        )
        for n in range(start, stop)
    ]
    if isinstance(store, MemoryStore):
        for resource in made:
            await (store.create_user(D, resource) if kind == "u" else store.create_group(D, resource, []))
        return
    pk = k.user_pk(D) if kind == "u" else k.group_pk(D)
    index = k.user_index_rks if kind == "u" else k.group_index_rks
    batches = [
        [
            Op("create", e)
            for r in made[i : i + 33]
            for e in [k.resource_entity(pk, r)] + [k.index_entity(pk, rk, r.id) for rk in index(r.data).values()]
        ]
        for i in range(0, len(made), 33)
    ]
    gate = asyncio.Semaphore(8)

    async def commit(ops: list[Op]) -> None:
        async with gate:
            await store._io.transact("resources", ops)

    await asyncio.gather(*(commit(ops) for ops in batches))


async def group_costs(client: Client, n: int) -> tuple[int, int, int, int]:
    """Entra's group probe (a miss, then a hit under another spelling) and create, and a refused rename."""
    name = f"Probe Group {n}"
    probe = query(filter=f'displayName eq "{name}"', excludedAttributes="members")
    miss = await round_trips(lambda: client.get("/scim/v2/Groups" + probe), 200)
    body = {"schemas": [GROUP], "displayName": name}
    create = await round_trips(lambda: client.post("/scim/v2/Groups", body), 201)
    folded = query(filter=f'displayName eq "probegroup{n}"', excludedAttributes="members")
    hit = await round_trips(lambda: client.get("/scim/v2/Groups" + folded), 200)
    taken = await round_trips(lambda: client.post("/scim/v2/Groups", {**body, "displayName": f"PROBE group{n}"}), 409)
    return miss, create, hit, taken


async def user_costs(client: Client, n: int) -> tuple[int, int]:
    name = f"probe{n}@contoso.example"
    miss = await round_trips(lambda: client.get("/scim/v2/Users" + query(filter=f'userName eq "{name}"')), 200)
    create = await round_trips(lambda: client.post("/scim/v2/Users", {"schemas": [USER], "userName": name}), 201)
    return miss, create


async def at_two_sizes(
    served: tuple[App, Client], kind: str, sizes: tuple[int, int], costs: Callable[[Client, int], Awaitable[Any]]
) -> tuple[Any, Any, str]:
    """``costs`` measured with ``sizes[0]`` and then ``sizes[1]`` resources stored, and which store served them."""
    app, client = served
    measured = []
    stored = 0
    for n, size in enumerate(sizes):
        await fill(app, kind, stored, size)
        stored = size
        await client.get("/scim/v2/Groups/warm-up")  # table creation and the client's caches are not the request's
        measured.append(await costs(client, n))
    return measured[0], measured[1], type(untraced(app.store)).__name__


async def test_group_probe_and_create_cost_the_same_at_10_and_2000_catalog_groups(
    served: tuple[App, Client],
) -> None:
    small, large, store = await at_two_sizes(served, "g", (10, 2_000), group_costs)
    assert small == large
    # Table Storage: one index point read on a miss; one transaction to create; index and group on a folded hit;
    # the refused create, then index and group to name the taken group. Memory: one call per store call.
    assert small == {"TableStore": (1, 1, 2, 3), "MemoryStore": (1, 1, 1, 2)}[store]


async def test_user_probe_and_create_cost_the_same_at_100_and_5000_users(served: tuple[App, Client]) -> None:
    small, large, _ = await at_two_sizes(served, "u", (100, 5_000), user_costs)
    assert small == large == (1, 1)


PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class Follower:
    """Follows one cursor walk page by page (``step`` is a request ``round_trips`` can count); ``last`` is the page."""

    def __init__(self, client: Client, url: str) -> None:
        self.client = client
        self.url = url
        self.last: dict[str, Any] = {"nextCursor": ""}

    async def step(self, link: str = "nextCursor") -> Any:
        reply = await self.client.get(self.url + "&" + urlencode({"cursor": self.last[link]}))
        self.last = reply.json
        return reply


async def walk_ids(client: Client, url: str) -> tuple[list[int], list[str]]:
    """Follow a cursor walk from ``url`` to its end: each page's round trips, and the ids read, in order."""
    pages: list[int] = []
    seen: list[str] = []
    walk = Follower(client, url)
    while "nextCursor" in walk.last:
        pages.append(await round_trips(walk.step, 200))
        seen += [r["id"] for r in walk.last["Resources"]]
    return pages, seen


async def member_filter_costs(client: Client, n: int) -> tuple[list[int], int, int]:
    """A user's groups by ``members[value eq]``: each cursor page's round trips, the index page's and a count."""
    made = await client.post("/scim/v2/Users", {"schemas": [USER], "userName": f"member{n}@contoso.example"})
    uid = made.json["id"]
    joined = sorted(f"g{i:05d}" for i in (3, 4, 5, 7, 9))
    add = {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}]}
    for group in joined:
        assert (await client.patch(f"/scim/v2/Groups/{group}", add)).status == 204
    url = "/scim/v2/Groups" + query(filter=f'members[value eq "{uid}"]', excludedAttributes="members", count="2")
    pages, seen = await walk_ids(client, url)
    assert seen == joined, "every group the user is in, once, in id order"
    indexed = await round_trips(lambda: client.get(url + "&startIndex=3"), 200)
    reply = await client.get(url + "&startIndex=3")
    assert [g["id"] for g in reply.json["Resources"]] == joined[2:4] and reply.json["totalResults"] == 5
    counted = await round_trips(lambda: client.get(url.replace("count=2", "count=0") + "&startIndex=1"), 200)
    return pages, indexed, counted


async def test_a_members_filter_pages_a_users_groups_at_the_same_cost_among_10_and_2000_groups(
    served: tuple[App, Client],
) -> None:
    """``members[value eq U]`` is answered from U's own membership entries (one range query) and the page's groups
    (point reads), by cursor and by startIndex: never by reading every group's members."""
    small, large, _ = await at_two_sizes(served, "g", (10, 2_000), member_filter_costs)
    assert small == large
    pages, indexed, counted = small
    assert pages == [3, 3, 2], "the user's entries, then each group of the page"
    assert indexed == 3 and counted == 1


async def union_filter_costs(client: Client, n: int) -> tuple[list[int], int]:
    """Groups of any of three users by ``members[value eq A] or …``: each cursor page's round trips, and the
    startIndex page's, for users in 2 + 2 groups (one shared) and one in none."""
    made = [await client.post("/scim/v2/Users", {"schemas": [USER], "userName": f"u{n}{i}@x"}) for i in range(3)]
    a, b, c = (m.json["id"] for m in made)
    for uid, groups in ((a, ("g00003", "g00005")), (b, ("g00005", "g00008"))):
        add = {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}]}
        for group in groups:
            assert (await client.patch(f"/scim/v2/Groups/{group}", add)).status == 204
    text = f'members[value eq "{a}"] or members.value eq "{b}" or members[value eq "{c}"]'
    url = "/scim/v2/Groups" + query(filter=text, excludedAttributes="members", count="2")
    pages, seen = await walk_ids(client, url)
    assert seen == ["g00003", "g00005", "g00008"], "the groups of any of the users, once each, in id order"
    reply = await client.get(url + "&startIndex=2")
    assert [g["id"] for g in reply.json["Resources"]] == ["g00005", "g00008"] and reply.json["totalResults"] == 3
    return pages, await round_trips(lambda: client.get(url + "&startIndex=2"), 200)


async def test_membership_tests_joined_by_or_read_only_those_users_entries(served: tuple[App, Client]) -> None:
    """``members[value eq A] or members[value eq B] …`` (what a consumer asks for several users at once) is answered
    from those users' own membership entries and the page's groups: the same round trips among 10 and 2,000 groups."""
    small, large, _ = await at_two_sizes(served, "g", (10, 2_000), union_filter_costs)
    assert small == large


@pytest.mark.parametrize(
    "refused",
    [
        'members[display eq "x"]',
        'members[value eq "u"] and displayName eq "G"',
        'members eq "u"',
        'not (members[value eq "u"])',
    ],
)
async def test_other_members_filters_with_a_cursor_are_refused_with_what_to_do(
    served: tuple[App, Client], refused: str
) -> None:
    _, client = served
    url = "/scim/v2/Groups" + query(filter=refused, excludedAttributes="members")
    reply = await client.get(url + "&cursor=")
    assert reply.status == 400 and reply.json["scimType"] == "invalidFilter"
    assert 'members[value eq "<user id>"]' in reply.json["detail"] and "startIndex" in reply.json["detail"]
    assert "joined by or" in reply.json["detail"]
    assert (await client.get(url)).status == 200, "the same filter pages by startIndex"
    sorted_url = "/scim/v2/Groups" + query(filter='members[value eq "u"]', sortBy="displayName")
    assert (await client.get(sorted_url + "&cursor=")).status == 400


async def cursor_costs(client: Client, n: int) -> tuple[list[int], list[int]]:
    """The round trips of each page of a cursor walk over users, forward to the end, then back by previousCursor."""
    walk = Follower(client, "/scim/v2/Users?count=100")
    forward = [await round_trips(walk.step, 200)]
    while "nextCursor" in walk.last:
        forward.append(await round_trips(walk.step, 200))
    backward: list[int] = []
    while "previousCursor" in walk.last:
        backward.append(await round_trips(lambda: walk.step("previousCursor"), 200))
    return forward, backward


async def test_a_previous_page_costs_what_a_next_page_costs_at_any_depth(served: tuple[App, Client]) -> None:
    """previousCursor resumes where the page before began, so a step back is read forward from there (Table
    Storage: one range query), never by re-reading the walk from its start."""
    app, client = served
    costs = []
    for stored, size in ((0, 300), (300, 3_000)):
        await fill(app, "u", stored, size)
        await client.get("/scim/v2/Users/warm-up")
        forward, backward = await cursor_costs(client, size)
        assert len(forward) >= size // 100
        assert len(backward) == min(PREVIOUS_PAGES, len(forward) - 1), "steps back from the last page"
        costs.append((set(forward), set(backward)))
    # Each page: the users (one range query) and their groups (one range query), forward and back, at both sizes.
    assert costs == [({2}, {2}), ({2}, {2})]


async def group_members_costs(client: Client, n: int) -> list[int]:
    """A group's members by ``groups[value eq G]`` and a cursor: each page's round trips, for the group holding
    every user stored."""
    size = 10 if n == 0 else 2_000
    ids = [f"u{i:05d}" for i in range(size)]
    made = await client.post("/scim/v2/Groups", {"schemas": [GROUP], "displayName": f"Everyone {n}"})
    assert made.status == 201, made.body
    group = made.json["id"]
    for i in range(0, size, 1000):
        values = [{"value": uid} for uid in ids[i : i + 1000]]
        add = {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": values}]}
        assert (await client.patch(f"/scim/v2/Groups/{group}", add)).status == 204
    url = "/scim/v2/Users" + query(filter=f'groups[value eq "{group}"]', excludedAttributes="groups", count="2")
    walk = Follower(client, url)
    pages = [await round_trips(walk.step, 200) for _ in range(3)]
    assert "nextCursor" in walk.last, "three pages of two are not the end of either group"
    return pages


async def test_a_groups_members_page_by_cursor_at_the_same_cost_for_10_and_2000_members(
    served: tuple[App, Client],
) -> None:
    """``groups[value eq G]`` by cursor reads the group (a point read), one page of its member entries (one range
    query) and the page's users (point reads): never the whole member list."""
    small, large, store = await at_two_sizes(served, "u", (10, 2_000), group_members_costs)
    assert small == large
    # Table Storage: the group, its page of member entries, a point read per user of the page (2). Memory: one per
    # store call (group, entries, users).
    assert small == {"TableStore": [4, 4, 4], "MemoryStore": [3, 3, 3]}[store]
