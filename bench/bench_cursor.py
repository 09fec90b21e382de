"""A full read of a directory by cursor (RFC 9865) vs by startIndex, and export's read path before vs after, on
Azurite tables in the same run. Budget (docs/architecture.md "Budgets"): round trips = pages, time per page flat.

Reads go through the request handlers (scim.routes.dispatch with a bearer token), as a read-only consumer's
would; round trips are the Table store's own count. Each method reads the directory at a fifth of the size and
at the full size in the same run: a median time per page that stays the same is flat in the directory's size
(by startIndex, every page reads the whole directory). A user's ``groups`` costs one more query per page.
Azurite answers every query by scanning and sorting the whole table (its LokiJS store), so its time per round
trip grows with the table even for a continued range query; Azure serves one from the partition's key index.
Round trips and entities read per page are what this service controls, and those are flat.
Export: "before" is the read loop export used before cursors (query_users/query_groups by startIndex, 1,000 a
page); "after" is export_directory as it is now (walk_users/walk_groups).

Run: .venv/bin/python -m bench.bench_cursor [--users 5000] [--count 100]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scim.app import App, build_app
from scim.config import load_settings
from scim.dev.azurite import Azurite
from scim.dev.localrun import seed
from scim.http import Request
from scim.model import Resource
from scim.routes import dispatch
from scim.secrets import MemorySecretStore
from scim.service.export import PAGE, export_directory
from scim.store.tables import TableStore
from tests.support.bulk import bulk_users

CLIENT = "0f8fad5b-d9cb-469f-a165-70867728950e"
D = "dev"


async def get(app: App, token: str, query: dict[str, str]) -> dict[str, Any]:
    request = Request("GET", "/scim/v2/Users", {}, query, {"authorization": f"Bearer {token}"}, b"", "127.0.0.1")
    response = await dispatch(app, "users", request)
    if response.status != 200:
        raise RuntimeError(f"{response.status}: {response.body[:300]!r}")
    return dict(json.loads(response.body))


Pager = Callable[[dict[str, Any] | None], dict[str, str] | None]


def by_index(count: int, extra: dict[str, str]) -> Pager:
    def following(page: dict[str, Any] | None) -> dict[str, str] | None:
        start = 1 if page is None else page["startIndex"] + page["itemsPerPage"]
        if page is not None and (page["itemsPerPage"] == 0 or start > page["totalResults"]):
            return None
        return {"startIndex": str(start), "count": str(count), **extra}

    return following


def by_cursor(count: int, extra: dict[str, str]) -> Pager:
    def following(page: dict[str, Any] | None) -> dict[str, str] | None:
        if page is not None and "nextCursor" not in page:
            return None
        return {"cursor": "" if page is None else page["nextCursor"], "count": str(count), **extra}

    return following


async def full_read(app: App, store: TableStore, token: str, pager: Pager) -> dict[str, float]:
    """Read every user page by page: users, pages, round trips and milliseconds per page (median)."""
    trips, entities, times, seen = store.round_trips, store.entities_read, [], 0
    page: dict[str, Any] | None = None
    while (query := pager(page)) is not None:
        began = time.perf_counter()
        page = await get(app, token, query)
        times.append(time.perf_counter() - began)
        seen += len(page["Resources"])
    return {
        "users": seen,
        "pages": len(times),
        "trips": store.round_trips - trips,
        "read": store.entities_read - entities,
        "ms": statistics.median(times) * 1000,
    }


async def reads(app: App, store: TableStore, token: str, count: int) -> dict[str, dict[str, float]]:
    no_groups = {"excludedAttributes": "groups"}
    return {
        "startIndex, no groups": await full_read(app, store, token, by_index(count, no_groups)),
        "cursor, no groups": await full_read(app, store, token, by_cursor(count, no_groups)),
        "cursor, with groups": await full_read(app, store, token, by_cursor(count, {})),
    }


async def export_before(store: TableStore) -> int:
    """The read loop export used before cursors: startIndex pages of 1,000, each query re-reading from the start."""
    read = 0
    for kind in ("groups", "users"):
        start = 1
        while True:
            if kind == "users":
                page = await store.query_users(D, lookup=None, match=None, start_index=start, count=PAGE)
            else:
                page = await store.query_groups(
                    D, lookup=None, match=None, start_index=start, count=PAGE, with_members=True
                )
            read += len(page.resources)
            start += len(page.resources)
            if not page.resources or start > page.total:
                break
    return read


async def export_after(store: TableStore) -> int:
    directory = await store.get_directory(D)
    if directory is None:
        raise RuntimeError("no directory")
    counts = await export_directory(store, directory, io.StringIO().write)
    return counts["users"] + counts["groups"]


async def timed(store: TableStore, call: Callable[[], Awaitable[int]]) -> tuple[int, float, int]:
    trips, started = store.round_trips, time.perf_counter()
    read = await call()
    return store.round_trips - trips, time.perf_counter() - started, read


async def run(users: int, count: int) -> None:
    with Azurite() as azurite:
        # Azurite scans the whole table per call: at 20,000 users a call can take longer than the default 10 s.
        prefix = "b" + secrets.token_hex(5)
        store = TableStore.from_connection_string(azurite.connection_string, prefix, read_timeout=120.0)
        settings = load_settings(
            {"SCIM_STORE": "memory", "SCIM_PUBLIC_BASE_URL": "http://127.0.0.1:7071"}
        )  # store given
        app = build_app(settings, store=store, secret_store=MemorySecretStore())
        try:
            await seed(app, CLIENT, "bench-secret-" + "x" * 40, "strict")
            stamp = "2024-01-01T00:00:00.000Z"
            made = [Resource(f"{n:06d}-u", {"userName": f"u{n}@x.org"}, stamp, stamp) for n in range(users)]
            token, _ = await app.tokens.issue(CLIENT, D, ttl=3600)
            small = users // 5
            print(f"seeding {small} users ...", file=sys.stderr)
            await bulk_users(store, D, made[:small])
            results = {small: await reads(app, store, token, count)}
            print(f"seeding {users - small} more ...", file=sys.stderr)
            await bulk_users(store, D, made[small:])
            results[users] = await reads(app, store, token, count)
            print(f"full read, count={count}, Azurite; ms/page is the median; 'no groups': excludedAttributes=groups")
            head = f"{'pages':>6} {'round trips':>12} {'trips/page':>10} {'entities/page':>13} {'ms/page':>8}"
            print(f"{'users':>6} {'method':<22} {head}")
            for size, rows in results.items():
                for name, r in rows.items():
                    per, read = r["trips"] / r["pages"], r["read"] / r["pages"]
                    cells = f"{r['pages']:>6} {r['trips']:>12} {per:>10.2f} {read:>13.0f} {r['ms']:>8.1f}"
                    print(f"{size:>6} {name:<22} {cells}")
            big, little = results[users], results[small]
            for name in big:
                print(
                    f"{name}: ms/page at {users} vs {small} users"
                    f" {big[name]['ms'] / little[name]['ms']:.2f}x (1.0 = flat)"
                )
            index, cursor = big["startIndex, no groups"], big["cursor, no groups"]
            print(
                f"at {users} users, startIndex/cursor: round trips {index['trips'] / cursor['trips']:.1f}x,"
                f" time {index['ms'] * index['pages'] / (cursor['ms'] * cursor['pages']):.1f}x"
            )
            before = await timed(store, lambda: export_before(store))
            after = await timed(store, lambda: export_after(store))
            print(
                f"export read path: before {before[0]} round trips {before[1]:.2f} s ({before[2]} resources);"
                f" after {after[0]} round trips {after[1]:.2f} s ({after[2]} resources);"
                f" ratio {before[0] / after[0]:.1f}x trips, {before[1] / after[1]:.1f}x time"
            )
        finally:
            await app.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--count", type=int, default=100, help="page size of the full reads")
    args = parser.parse_args(argv)
    asyncio.run(run(args.users, args.count))


if __name__ == "__main__":
    main()
