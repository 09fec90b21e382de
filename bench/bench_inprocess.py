"""In-process cost of each Entra operation through function_app's triggers (memory store), no HTTP.

Each operation runs as the Functions worker would call it: a func.HttpRequest handed to the registered
trigger. Its cost is printed as a ratio to a baseline measured in the same run: json.loads + json.dumps of
the same body (the JSON request body, else the response body; for DELETE, which has neither, a user's
body), so figures compare across
machines. Medians of REPEATS batches of BATCH distinct requests.

Run: .venv/bin/python -m bench.bench_inprocess [--profile]
  --profile prints the functions with the most own time over all operations (cProfile).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import azure.functions as func

from scim.app import App, build_app, install_app
from scim.config import load_settings
from scim.dev.devhost import Route, routes_of
from scim.dev.localrun import load_function_app, seed
from scim.protocol.schema import ENTERPRISE_SCHEMA, PATCH_OP, USER_SCHEMA
from scim.secrets import MemorySecretStore
from scim.store.memory import MemoryStore

BASE = "http://127.0.0.1:7071"
CLIENT_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
CLIENT_SECRET = "bench-inprocess-" + "i" * 40
BATCH = 200
REPEATS = 5
MEMBERS_PER_OP = 10
GROUPS = [f"Bench_Group_{i}" for i in range(REPEATS)]


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    body: bytes = b""
    content_type: str = "application/scim+json"


class Triggers:
    """Builds func.HttpRequest objects and calls the matching registered trigger."""

    def __init__(self, routes: list[Route], token: str) -> None:
        self.routes = routes
        self.token = token

    def request(self, call: Call) -> tuple[Callable[..., Any], func.HttpRequest]:
        parts = urlsplit(call.url)
        for route in self.routes:
            match = route.pattern.match(parts.path)
            if match and call.method in route.methods:
                headers = {"content-type": call.content_type, "x-forwarded-for": "127.0.0.1"}
                if not parts.path.startswith("/oauth2"):
                    headers["authorization"] = f"Bearer {self.token}"
                return route.handler, func.HttpRequest(
                    method=call.method,
                    url=BASE + call.url,
                    headers=headers,
                    params=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    route_params={k: v for k, v in match.groupdict().items() if v is not None},
                    body=call.body,
                )
        raise LookupError(f"no trigger serves {call.method} {parts.path}")

    async def send(self, call: Call, *expected: int) -> func.HttpResponse:
        handler, request = self.request(call)
        response: func.HttpResponse = await handler(request)
        if response.status_code not in expected:
            raise RuntimeError(f"{call.method} {call.url}: {response.status_code} {response.get_body()[:300]!r}")
        return response


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def user_body(name: str) -> bytes:
    return _json(
        {
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "externalId": name.split("@", maxsplit=1)[0],
            "userName": name,
            "active": True,
            "displayName": name,
            "emails": [{"primary": True, "type": "work", "value": name}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "Bench User", "familyName": "User", "givenName": "Bench"},
            ENTERPRISE_SCHEMA: {"department": "Security"},
            "roles": [{"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "PamAdmin"}],
        }
    )


def patch(*operations: dict[str, Any]) -> bytes:
    return _json({"schemas": [PATCH_OP], "Operations": list(operations)})


def query(resource: str, **params: str) -> str:
    return f"/scim/v2/{resource}?{urlencode(params)}"


async def setup() -> tuple[App, Triggers]:
    settings = load_settings({"SCIM_STORE": "memory", "SCIM_PUBLIC_BASE_URL": BASE})
    app = build_app(settings, store=MemoryStore(), secret_store=MemorySecretStore())
    await seed(app, CLIENT_ID, CLIENT_SECRET, "strict", roles=["PamAdmin"], groups=GROUPS)
    install_app(app)
    token, _ = await app.tokens.issue(CLIENT_ID, "dev", ttl=3600)
    return app, Triggers(routes_of(load_function_app().app), token)


async def make_users(triggers: Triggers, count: int, tag: str) -> list[str]:
    ids = []
    for i in range(count):
        response = await triggers.send(Call("POST", "/scim/v2/Users", user_body(f"{tag}.{i}@contoso.com")), 201)
        ids.append(json.loads(response.get_body())["id"])
    return ids


async def operations(triggers: Triggers, repeat: int) -> dict[str, list[Call]]:
    """BATCH distinct calls per Entra operation, for one repeat (fresh users so every call does real work)."""
    tag = f"r{repeat}-{uuid.uuid4().hex[:6]}"
    users = await make_users(triggers, BATCH, tag)
    members = await make_users(triggers, BATCH, tag + "m")  # added to groups, then one removed per call
    group_id = json.loads(
        (
            await triggers.send(
                Call("GET", query("Groups", filter=f'displayName eq "{GROUPS[repeat]}"', excludedAttributes="members")),
                200,
            )
        ).get_body()
    )["Resources"][0]["id"]
    form = urlencode({"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    chunks = [
        members[(i * MEMBERS_PER_OP) % BATCH : (i * MEMBERS_PER_OP) % BATCH + MEMBERS_PER_OP] for i in range(BATCH)
    ]
    return {
        "token (client credentials form)": [
            Call("POST", "/oauth2/token", form.encode(), "application/x-www-form-urlencoded")
        ]
        * BATCH,
        "Test Connection (userName eq <guid>)": [
            Call("GET", query("Users", filter=f'userName eq "{uuid.uuid4()}"')) for _ in range(BATCH)
        ],
        "match user (filter userName, hit)": [
            Call("GET", query("Users", filter=f'userName eq "{tag}.{i}@contoso.com"')) for i in range(BATCH)
        ],
        "create user (POST, role)": [
            Call("POST", "/scim/v2/Users", user_body(f"{tag}.new.{i}@contoso.com")) for i in range(BATCH)
        ],
        "get user by id": [Call("GET", f"/scim/v2/Users/{u}") for u in users],
        "patch user (legacy multi-replace)": [
            Call(
                "PATCH",
                f"/scim/v2/Users/{u}",
                patch(
                    {"op": "Replace", "path": "displayName", "value": "Pvlo"},
                    {"op": "Replace", "path": 'emails[type eq "work"].value', "value": f"x.{u}@contoso.com"},
                    {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
                    {"op": "Replace", "path": f"{ENTERPRISE_SCHEMA}:employeeNumber", "value": "42"},
                ),
            )
            for u in users
        ],
        'disable user (active "False")': [
            Call("PATCH", f"/scim/v2/Users/{u}", patch({"op": "Replace", "path": "active", "value": "False"}))
            for u in users
        ],
        "match group (displayName, no members)": [
            Call("GET", query("Groups", excludedAttributes="members", filter=f'displayName eq "{GROUPS[repeat]}"'))
        ]
        * BATCH,
        f"add {MEMBERS_PER_OP} members (one op)": [
            Call(
                "PATCH",
                f"/scim/v2/Groups/{group_id}",
                patch({"op": "Add", "path": "members", "value": [{"$ref": None, "value": m} for m in chunk]}),
            )
            for chunk in chunks
        ],
        "remove member (legacy value list)": [
            Call(
                "PATCH",
                f"/scim/v2/Groups/{group_id}",
                patch({"op": "Remove", "path": "members", "value": [{"value": m}]}),
            )
            for m in members
        ],
        "delete user": [Call("DELETE", f"/scim/v2/Users/{u}") for u in users],
    }


EXPECTED = {"POST": (200, 201), "GET": (200,), "PATCH": (200, 204), "DELETE": (204,)}


def baseline_body(call: Call, response: func.HttpResponse) -> bytes:
    """The JSON request body; else the response body (GET, token); else a user's body (DELETE has neither)."""
    if call.body and call.content_type == "application/scim+json":
        return call.body
    return response.get_body() or user_body("deleted@contoso.com")


async def time_batch(triggers: Triggers, calls: list[Call]) -> tuple[float, list[bytes]]:
    """Seconds per call over the batch, and the bodies the baseline serialises."""
    prepared = [triggers.request(c) for c in calls]
    bodies: list[bytes] = []
    start = time.perf_counter()
    for (handler, request), call in zip(prepared, calls, strict=True):
        response = await handler(request)
        if response.status_code not in EXPECTED[call.method]:
            raise RuntimeError(f"{call.method} {call.url}: {response.status_code} {response.get_body()[:300]!r}")
        bodies.append(baseline_body(call, response))
    return (time.perf_counter() - start) / len(calls), bodies


def baseline(bodies: list[bytes]) -> float:
    """json.loads + json.dumps of the same bodies, seconds per body (best of 5)."""
    texts = [b.decode() for b in bodies]
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for text in texts:
            json.dumps(json.loads(text))
        best = min(best, (time.perf_counter() - start) / len(texts))
    return best


async def run(profile: bool) -> None:
    app, triggers = await setup()
    costs: dict[str, list[float]] = {}
    bases: dict[str, list[float]] = {}
    profiler = cProfile.Profile() if profile else None
    try:
        for repeat in range(REPEATS):
            for name, calls in (await operations(triggers, repeat)).items():
                if profiler:
                    profiler.enable()
                cost, bodies = await time_batch(triggers, calls)
                if profiler:
                    profiler.disable()
                costs.setdefault(name, []).append(cost)
                bases.setdefault(name, []).append(baseline(bodies))
    finally:
        install_app(None)
        await app.close()

    print(
        f"In-process Entra operations through the triggers (memory store), median of {REPEATS}x{BATCH} calls;"
        " baseline = json.loads+json.dumps of the same body"
    )
    for name, samples in costs.items():
        cost, base = statistics.median(samples), statistics.median(bases[name])
        print(f"  {name:<40} {cost * 1e6:8.1f} us   baseline {base * 1e6:6.1f} us   x{cost / base:7.1f}")
    if profiler:
        stats = pstats.Stats(profiler)
        print("\ncProfile over all operations, by own time:")
        stats.sort_stats("tottime").print_stats(25)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", action="store_true")
    asyncio.run(run(parser.parse_args(argv).profile))


if __name__ == "__main__":
    main()
