"""CPU per request of hostile shapes at their budgets (docs/architecture.md "Budgets"), as multiples of GET /Users/{id}.

Each shape runs through function_app's triggers on the memory store (no HTTP), over a directory of USERS users
and GROUPS groups of MEMBERS members, at the limit its budget allows: the worst a caller can make one request
cost. The baseline is measured in the same run. Medians of REPEATS batches of BATCH requests, process CPU time.

Run: .venv/bin/python -m bench.bench_hostile
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable

from bench.bench_inprocess import BASE, CLIENT_ID, CLIENT_SECRET, Call, Triggers, patch, user_body
from scim.app import build_app, install_app
from scim.config import load_settings
from scim.dev.devhost import routes_of
from scim.dev.localrun import load_function_app, seed
from scim.protocol.filter_ast import MAX_CLAUSES
from scim.protocol.patch import MAX_MEMBER_CHANGES, MAX_OPERATIONS
from scim.protocol.patch_values import MAX_VALUES
from scim.protocol.render import MAX_PROJECTION_PATHS
from scim.secrets import MemorySecretStore
from scim.service.admin import AdminService
from scim.store.memory import MemoryStore

USERS = 200
GROUPS = 10
MEMBERS = 100
BATCH = 10
REPEATS = 5
GOAL = 20.0


def shapes(user_ids: list[str], group_ids: list[str]) -> dict[str, Callable[[int], Call]]:
    """name -> a request factory (n makes each request distinct where the state would otherwise not change)."""
    misses = " or ".join(f'title eq "nope{i}"' for i in range(MAX_CLAUSES))
    member_misses = " or ".join(f'members[value eq "nobody{i}"]' for i in range(MAX_CLAUSES))
    paths = ",".join(f"name.givenName{i}" for i in range(MAX_PROJECTION_PATHS))
    made_up = [{"value": f"nobody-{i}"} for i in range(MAX_MEMBER_CHANGES)]
    user, group = user_ids[0], group_ids[0]
    return {
        "GET /Users/{id} (baseline)": lambda n: Call("GET", f"/scim/v2/Users/{user}"),
        f"filter, {MAX_CLAUSES} clauses, full scan": lambda n: Call("GET", f"/scim/v2/Users?filter={misses}"),
        f"filter, {MAX_CLAUSES} members[...] clauses": lambda n: Call(
            "GET", f"/scim/v2/Groups?excludedAttributes=members&filter={member_misses}"
        ),
        f"GET by id, {MAX_PROJECTION_PATHS} attributes": lambda n: Call(
            "GET", f"/scim/v2/Users/{user}?attributes={paths}"
        ),
        f"GET by id, {MAX_PROJECTION_PATHS} excludedAttributes": lambda n: Call(
            "GET", f"/scim/v2/Users/{user}?excludedAttributes={paths}"
        ),
        f"PATCH user, {MAX_OPERATIONS} operations": lambda n: Call(
            "PATCH",
            f"/scim/v2/Users/{user_ids[1]}",
            patch(*[{"op": "replace", "path": "title", "value": f"t{n}-{i}"} for i in range(MAX_OPERATIONS)]),
        ),
        f"PATCH user, {MAX_VALUES} emails in one operation": lambda n: Call(
            "PATCH",
            f"/scim/v2/Users/{user_ids[2]}",
            patch({"op": "replace", "path": "emails", "value": [{"value": f"{n}.{i}@x"} for i in range(MAX_VALUES)]}),
        ),
        f"PATCH group, remove {MAX_MEMBER_CHANGES} made-up members": lambda n: Call(
            "PATCH", f"/scim/v2/Groups/{group}", patch({"op": "remove", "path": "members", "value": made_up})
        ),
        "GET /Groups?count=1000 with members (paged)": lambda n: Call("GET", "/scim/v2/Groups?count=1000"),
        "POST with a 4,300-digit number (refused)": lambda n: Call(
            "POST", "/scim/v2/Users", b'{"userName": "n@x", "title": ' + b"9" * 4300 + b"}"
        ),
    }


async def main() -> None:
    settings = load_settings({"SCIM_STORE": "memory", "SCIM_PUBLIC_BASE_URL": BASE})
    app = build_app(settings, store=MemoryStore(), secret_store=MemorySecretStore())
    install_app(app)
    await seed(app, CLIENT_ID, CLIENT_SECRET, "create")
    token, _ = await app.tokens.issue(CLIENT_ID, "dev", ttl=3600)
    triggers = Triggers(routes_of(load_function_app().app), token)
    user_ids = []
    for i in range(USERS):
        reply = await triggers.send(Call("POST", "/scim/v2/Users", user_body(f"hostile{i}@contoso.com")), 201)
        user_ids.append(json.loads(reply.get_body())["id"])
    admin = AdminService(app.store, app.clients, app.tokens)
    group_ids = []
    for g in range(GROUPS):
        group = await admin.add_group("dev", f"Hostile_Group_{g}")
        members = [{"value": u} for u in user_ids[g * MEMBERS % USERS :][:MEMBERS]]
        add = patch({"op": "add", "path": "members", "value": members})
        await triggers.send(Call("PATCH", f"/scim/v2/Groups/{group.id}", add), 204)
        group_ids.append(group.id)
    results: dict[str, float] = {}
    counter = 0
    for name, make in shapes(user_ids, group_ids).items():
        samples = []
        for _ in range(REPEATS):
            calls = [make(counter + i) for i in range(BATCH)]
            counter += BATCH
            started = time.process_time()
            for call in calls:
                await triggers.send(call, 200, 204, 400)
            samples.append((time.process_time() - started) / BATCH)
        results[name] = statistics.median(samples)
    baseline = next(iter(results.values()))
    print(f"directory: {USERS} users, {GROUPS} groups of {MEMBERS} members; median of {REPEATS} x {BATCH} requests")
    print(f"{'shape':55} {'CPU/request':>12} {'x GET by id':>12}")
    for name, cost in results.items():
        print(f"{name:55} {cost * 1e3:9.3f} ms {cost / baseline:11.1f}x")
    worst = max((v, k) for k, v in results.items())
    print(f"worst: {worst[1]} at {worst[0] / baseline:.1f}x a GET by id (goal below {GOAL:.0f}x)")
    install_app(None)
    await app.close()


if __name__ == "__main__":
    asyncio.run(main())
