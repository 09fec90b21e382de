"""scimctl export and import on Azurite at two directory sizes: time and storage round trips per 1,000 users.

A directory of N users, N/25 groups and 4N memberships (the design size of docs/architecture.md "Budgets": 5,000 / 200 /
20,000) is written straight to the Table store, exported to JSON, planned for import (every check, reads only) and
imported into a new directory.
O(n) shows as per-1,000 figures that stay flat from the small size to the large one (the last column's ratio).

Run: .venv/bin/python bench/bench_export.py [--users 1000 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scim.app import build_app
from scim.config import Settings
from scim.dev.azurite import Azurite
from scim.model import Directory, Resource, Role
from scim.secrets import MemorySecretStore
from scim.service.admin import AdminService
from scim.service.export import export_directory
from scim.service.restore import Importer
from scim.store.tables import TableStore
from tests.support.bulk import bulk_users

STAMP = "2026-01-01T00:00:00.000Z"
MEMBERS_PER_GROUP = 100


async def populate(store: TableStore, directory: str, users: int) -> None:
    """``users`` users (every 10th with a role), users/25 groups of 100 members each."""
    await store.put_directory(Directory(directory, "create", "multiple"))
    await store.put_role(directory, Role("Auditor", "Auditor"))
    ids = [f"{n:08d}-0000-4000-8000-{secrets.token_hex(6)}" for n in range(users)]

    def user(n: int) -> Resource:
        data: dict[str, Any] = {
            "userName": f"user{n}@bench.example",
            "active": True,
            "name": {"givenName": "Bench", "familyName": f"User{n}"},
            "emails": [{"value": f"user{n}@bench.example", "type": "work", "primary": True}],
        }
        if n % 10 == 0:
            data["roles"] = [{"value": "Auditor"}]
        return Resource(ids[n], data, STAMP, STAMP)

    await bulk_users(store, directory, [user(n) for n in range(users)])
    groups = users // 25
    calls: list[Callable[[], Awaitable[Resource]]] = []
    for g in range(groups):
        members = [ids[(g * 37 + m * 13) % users] for m in range(MEMBERS_PER_GROUP)]
        group = Resource(f"g{g:05d}-{secrets.token_hex(4)}", {"displayName": f"Group{g}"}, STAMP, STAMP)
        calls.append(partial(store.create_group, directory, group, sorted(set(members))))
    for call in calls:  # one at a time: concurrent 100-member transactions make a loaded Azurite reset connections
        await call()


async def measure(store: TableStore, call: Callable[[], Awaitable[Any]]) -> tuple[Any, float, int]:
    before = store.round_trips
    started = time.perf_counter()
    result = await call()
    return result, time.perf_counter() - started, store.round_trips - before


async def one_size(connection: str, users: int) -> dict[str, tuple[float, int]]:
    prefix = "x" + secrets.token_hex(4)
    # A long read timeout, as bench_cursor's: a loaded Azurite answers a large transaction slowly.
    store = TableStore.from_connection_string(connection, prefix, read_timeout=120.0)
    app = build_app(Settings(public_base_url="http://bench"), store=store, secret_store=MemorySecretStore())
    admin = AdminService(store, app.clients, app.tokens)
    importer = Importer(store, admin)
    try:
        await populate(store, "src", users)
        directory = await store.get_directory("src")
        assert directory is not None
        out = io.StringIO()
        counts, export_s, export_trips = await measure(store, lambda: export_directory(store, directory, out.write))
        text = out.getvalue()
        plan, plan_s, plan_trips = await measure(store, lambda: importer.plan(text, "dst"))
        if plan.refused:
            raise SystemExit(f"the import was refused: {plan.refused[:3]}")
        _, apply_s, apply_trips = await measure(store, lambda: importer.apply(plan))
        print(
            f"  {users} users: exported {counts['users']} users, {counts['groups']} groups,"
            f" {counts['memberships']} memberships ({len(text) / 1e6:.1f} MB of JSON)",
            flush=True,
        )
        return {
            "export": (export_s, export_trips),
            "import: check (reads)": (plan_s, plan_trips),
            "import: write": (apply_s, apply_trips),
        }
    finally:
        await app.close()


async def main(sizes: list[int]) -> None:
    with Azurite() as azurite:
        results = {n: await one_size(azurite.connection_string, n) for n in sizes}
    small, large = sizes[0], sizes[-1]
    head = f"{'step':<24}" + "".join(f"{f'{n} users: s, trips':>26}" for n in sizes)
    head += f"{'per 1,000 users: ms, trips':>36}{'ratio':>8}"
    print(head)
    print("-" * len(head))
    for step in results[small]:
        cells = "".join(f"{results[n][step][0]:>15.2f}{results[n][step][1]:>11}" for n in sizes)
        per = {n: (results[n][step][0] * 1e6 / n, results[n][step][1] * 1000 / n) for n in (small, large)}
        shown = f"{per[small][0]:>8.0f}→{per[large][0]:<8.0f}{per[small][1]:>8.0f}→{per[large][1]:<8.0f}"
        print(f"{step:<24}{cells}{shown:>36}{per[large][0] / per[small][0]:>8.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, nargs="+", default=[1000, 5000], help="directory sizes, small first")
    asyncio.run(main(parser.parse_args().users))
