"""TableStore round trips per operation beside the budget of docs/architecture.md "Budgets", and its time as a ratio of
the raw azure-data-tables calls it makes (same Azurite, same run; ratios, not absolute times, compare across machines).

Run: .venv/bin/python bench/bench_store.py [--repeats N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from azure.core import MatchConditions
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from scim.dev.azurite import Azurite
from scim.model import Lookup, MemberChange, Resource
from scim.store import _codec as k
from scim.store.tables import TableStore

D = "bench"
USER = {
    "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "active": True,
    "emails": [{"primary": True, "type": "work", "value": "Test_User@testuser.com"}],
    "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
}


async def timed(
    ours: Callable[[int], Awaitable[Any]], raw: Callable[[int], Awaitable[Any]], repeats: int
) -> tuple[float, float]:
    """Median milliseconds of ``ours(i)`` and ``raw(i)``, alternating, so both see the same table sizes."""
    samples: tuple[list[float], list[float]] = ([], [])
    for i in range(repeats):
        for call, into in ((ours, samples[0]), (raw, samples[1])):
            started = time.perf_counter()
            await call(i)
            into.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples[0]), statistics.median(samples[1])


def user(i: int, tag: str) -> Resource:
    data = USER | {"userName": f"{tag}-{i}@x.org", "externalId": f"{tag}-x-{i}"}
    return Resource(f"{tag}-{i}", data, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z")


class Bench:
    def __init__(self, store: TableStore, raw: TableClient, repeats: int) -> None:
        self.store, self.raw, self.repeats = store, raw, repeats
        self.rows: list[tuple[str, int, str, float, float]] = []
        self.upk, self.gpk = k.user_pk(D), k.group_pk(D)

    async def measure(
        self, name: str, budget: str, ours: Callable[[int], Awaitable[Any]], raw: Callable[[int], Awaitable[Any]]
    ) -> None:
        before = self.store.round_trips
        await ours(-1)  # one counted run
        trips = self.store.round_trips - before
        self.rows.append((name, trips, budget, *await timed(ours, raw, self.repeats)))

    def user_ops(self, i: int, tag: str) -> list[tuple[str, dict[str, Any]]]:
        entity = k.resource_entity(self.upk, user(i, tag))
        rks = k.user_index_rks(user(i, tag).data)
        return [("create", entity)] + [("create", k.index_entity(self.upk, rk, f"{tag}-{i}")) for rk in rks.values()]

    async def run(self) -> None:
        s, raw = self.store, self.raw
        await self.measure(
            "create user",
            "1 transaction",
            lambda i: s.create_user(D, user(i, "a")),
            lambda i: raw.submit_transaction(self.user_ops(i, "b")),
        )
        await s.create_user(D, user(0, "u"))
        rk = k.id_rk("u-0")
        await self.measure(
            "get user by id",
            "1 read",
            lambda i: s.get_user(D, "u-0"),
            lambda i: raw.get_entity(self.upk, rk),
        )
        name_rk = k.user_name_rk(user(0, "u").data["userName"])

        async def raw_lookup(i: int) -> None:
            index = await raw.get_entity(self.upk, name_rk)
            await raw.get_entity(self.upk, k.id_rk(index["Id"]))

        await self.measure(
            "lookup by userName",
            "≤ 2 reads",
            lambda i: s.query_users(D, lookup=Lookup("userName", "U-0@X.ORG"), match=None, start_index=1, count=1),
            raw_lookup,
        )

        async def ours_patch(i: int) -> None:
            current = await s.get_user(D, "u-0")
            assert current is not None
            current.data["title"] = f"t{i}"
            await s.replace_user(D, current, expected_version=current.version)

        async def raw_patch(i: int) -> None:
            entity = await raw.get_entity(self.upk, rk)
            changed = dict(entity) | {"LastModified": f"t{i}"}
            await raw.submit_transaction(
                [
                    (
                        "update",
                        changed,
                        {
                            "mode": UpdateMode.REPLACE,
                            "etag": entity.metadata["etag"],
                            "match_condition": MatchConditions.IfNotModified,
                        },
                    )
                ]
            )

        await self.measure("PATCH user (get + replace)", "read + conditional write", ours_patch, raw_patch)
        await s.create_group(D, Resource("g", {"displayName": "G"}, "c", "m"), [])

        async def ours_add(i: int) -> None:
            ids = [f"m{i}-{n:03}" for n in range(250)]
            await s.update_group(
                D, "g", data=None, last_modified="m", members=MemberChange(add=ids), expected_version=None
            )

        async def raw_add(i: int) -> None:
            head = [
                (
                    "update",
                    {"PartitionKey": self.gpk, "RowKey": k.id_rk("g"), "LastModified": "m"},
                    {"mode": UpdateMode.MERGE, "match_condition": MatchConditions.Unconditionally},
                )
            ]
            pairs = [e for n in range(250) for e in k.member_entities(self.gpk, "g", f"r{i}-{n:03}")]
            ops: list[Any] = head + [("upsert", e) for e in pairs[:98]]
            await raw.submit_transaction(ops)
            for start in range(98, len(pairs), 100):
                await raw.submit_transaction([("upsert", e) for e in pairs[start : start + 100]])

        await self.measure(
            "add 250 members", f"ceil(250/100) = {math.ceil(250 / 100)} transactions + checks", ours_add, raw_add
        )
        ids = [f"u-{n}" for n in range(250)]
        await self.measure(
            "existence check of 250 ids",
            "(the checks above)",
            lambda i: s.existing_user_ids(D, ids),
            lambda i: self.raw_exists(ids),
        )
        await self.measure(
            "get group without members",
            "1 read",
            lambda i: s.get_group(D, "g", with_members=False),
            lambda i: raw.get_entity(self.gpk, k.id_rk("g")),
        )

        await s.update_group(
            D, "g", data=None, last_modified="m", members=MemberChange(add=["u-0"]), expected_version=None
        )
        low, high = k.reverse_range("u-0")

        async def raw_groups(i: int) -> None:
            query = "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high"
            params = {"pk": self.gpk, "low": low, "high": high}
            async for _ in self.raw.query_entities(query, parameters=params, select=["Group", "Member", "Display"]):
                pass

        await self.measure(
            "User groups attribute (1 user)",
            "at most 1 query",
            lambda i: s.user_groups(D, ["u-0"]),
            raw_groups,
        )

    async def raw_exists(self, ids: list[str]) -> None:
        """One point read per id, 8 in flight (an ``or`` of RowKeys would scan the partition in Azure)."""
        gate = asyncio.Semaphore(8)

        async def read(resource_id: str) -> None:
            async with gate:
                with contextlib.suppress(ResourceNotFoundError):
                    await self.raw.get_entity(self.upk, k.id_rk(resource_id))

        await asyncio.gather(*(read(i) for i in ids))

    def print(self) -> None:
        head = f"{'operation':<30} {'round trips':>11}  {'budget (architecture.md)':<40} {'store ms':>9} {'raw ms':>8}"
        head += f" {'ratio':>6}"
        print(head)
        print("-" * len(head))
        for name, trips, budget, ours, raw in self.rows:
            print(f"{name:<30} {trips:>11}  {budget:<40} {ours:>9.2f} {raw:>8.2f} {ours / raw:>6.2f}")


async def main(repeats: int) -> None:
    with Azurite() as azurite:
        prefix = "b" + secrets.token_hex(4)
        store = TableStore.from_connection_string(azurite.connection_string, prefix)
        await store.list_roles(D)  # create the tables outside the measurements
        raw = TableClient.from_connection_string(azurite.connection_string, f"{prefix}resources")
        try:
            bench = Bench(store, raw, repeats)
            await bench.run()
            bench.print()
        finally:
            await raw.close()
            await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    asyncio.run(main(parser.parse_args().repeats))
