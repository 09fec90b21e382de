"""A scaled Entra initial cycle over HTTP against `scimctl serve` on Table Storage (Azurite), beside the raw
azure-data-tables calls each phase cannot avoid, measured on the same Azurite in the same run.

Phases, as Entra runs them (docs/reference/entra-wire.md §1.0): users (filter by userName, then POST), groups (filter by
displayName with excludedAttributes=members, then POST), memberships (PATCH add of ``--block`` members,
in a seeded random order so several PATCHes of the large group are in flight at once), then the large
group read with and without members, and deleted. The raw minimum per unit: a user is one index point
read and one transaction; a group the same; a member PATCH one read of the group, one point read per
member and one transaction. Ratios, not absolute times, carry across machines.

Run: .venv/bin/python -m bench.bench_cycle [--users 5000 --groups 200 --memberships 20000 --large 5000]
     [--block 10] [--concurrency 4] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import os
import random
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil
from azure.core import MatchConditions
from azure.core.exceptions import ResourceNotFoundError, ServiceRequestError, ServiceResponseError
from azure.data.tables import TableTransactionError, UpdateMode
from azure.data.tables.aio import TableClient

from scim.dev.azurite import Azurite, free_port
from scim.protocol.schema import GROUP_SCHEMA, PATCH_OP, USER_SCHEMA
from scim.store import _codec as k

ROOT = Path(__file__).resolve().parents[1]
SCIMCTL = ROOT / ".venv" / "bin" / "scimctl"
CLIENT_ID = "5a0c3a4e-7d3b-4c55-9c2e-1f0e8b6d2a11"
CLIENT_SECRET = "cycle-secret-" + "c" * 40
RAW_DIRECTORY = "rawbaseline"  # the raw calls write their own partitions of the same tables
T = TypeVar("T")


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


@dataclass
class Phase:
    name: str
    units: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds per unit (all requests of one unit)
    non_2xx: int = 0  # units with an answer that is not 2xx (a documented retry that was repeated is not one)
    retried: int = 0  # 429/503 answers with Retry-After that the unit repeated, as Entra does
    wall: float = 0.0
    rss: int = 0
    raw_latencies: list[float] = field(default_factory=list)
    raw_wall: float = 0.0
    refusals: list[str] = field(default_factory=list)  # "<status> <method> <path>: <body>" of every non-2xx
    raw_error: str = ""  # why the raw baseline stopped, when it did

    def refused(self, response: httpx.Response) -> None:
        request = response.request
        body = response.text.replace("\n", " ")[:300]
        self.refusals.append(f"{response.status_code} {request.method} {request.url.path}: {body}")

    def line(self) -> str:
        rate = self.units / self.wall if self.wall else 0.0
        shown = f"{rate:>8.1f}/s" if self.wall else f"{'':>10}"
        text = (
            f"{self.name:<32} {len(self.latencies):>6} {shown}  p50 {quantile(self.latencies, 0.5) * 1000:7.1f}"
            f"  p99 {quantile(self.latencies, 0.99) * 1000:7.1f} ms  non-2xx {self.non_2xx:>3}"
        )
        text += f"  RSS {self.rss / 2**20:6.0f} MiB" if self.rss else f"{'':>15}"
        text += f"  retried {self.retried}" if self.retried else ""
        if self.raw_error:
            text += f"  | raw baseline FAILED after {len(self.raw_latencies)} units: {self.raw_error}"
        elif self.raw_latencies:
            raw_rate = len(self.raw_latencies) / self.raw_wall
            raw50, raw99 = quantile(self.raw_latencies, 0.5), quantile(self.raw_latencies, 0.99)
            text += (
                f"  | raw {raw_rate:7.1f}/s p50 {raw50 * 1000:6.1f} p99 {raw99 * 1000:6.1f} ms"
                f"  | ratio rate x{raw_rate / rate:.2f} p50 x{quantile(self.latencies, 0.5) / raw50:.2f}"
            )
        return text


class RssSampler:
    """The host process's peak resident memory over a phase (sampled every 50 ms)."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            self._stop.wait(0.05)

    def __enter__(self) -> RssSampler:
        self.peak = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


Unit = Callable[[], Awaitable[list[httpx.Response]]]


async def run_units(units: Sequence[Unit], concurrency: int, phase: Phase) -> None:
    """Run the units with ``concurrency`` workers; a unit returns its responses, and each non-2xx is recorded."""
    queue = iter(units)
    started = time.perf_counter()

    async def worker() -> None:
        for unit in queue:
            begin = time.perf_counter()
            responses = await unit()
            phase.latencies.append(time.perf_counter() - begin)
            retried = [r for r in responses[:-1] if retryable(r)]
            failed = [r for r in responses if not ok(r) and r not in retried]
            phase.retried += len(retried)
            phase.non_2xx += 1 if failed else 0
            for response in failed:
                phase.refused(response)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    phase.wall = time.perf_counter() - started
    phase.units = len(units)


async def run_raw(units: Sequence[Callable[[], Awaitable[Any]]], concurrency: int, phase: Phase) -> None:
    """The baseline; one that fails stops, says why on the phase's line, and the run goes on."""
    queue = iter(units)
    started = time.perf_counter()

    async def worker() -> None:
        for unit in queue:
            begin = time.perf_counter()
            await unit()
            phase.raw_latencies.append(time.perf_counter() - begin)

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    except Exception as exc:  # a benchmark reports a failed baseline instead of losing the phases measured so far
        phase.raw_error = f"{type(exc).__name__}: {str(exc)[:200]}"
    phase.raw_wall = time.perf_counter() - started


async def reset_proof(call: Callable[[], Awaitable[T]], attempts: int = 5) -> T:
    """``call`` again after a connection reset (Azurite resets connections under load; the store's SDK client
    retries them the same way)."""
    for attempt in range(attempts):
        try:
            return await call()
        except (ServiceRequestError, ServiceResponseError, http.client.HTTPException):
            # A reset, or a batch answer Azurite garbled under load (BadStatusLine while parsing the changeset).
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


def ok(response: httpx.Response) -> bool:
    return 200 <= response.status_code < 300


def retryable(response: httpx.Response) -> bool:
    """The documented "try again" answer (README "Memberships at scale"): Entra repeats it after Retry-After."""
    return response.status_code in (429, 503) and "Retry-After" in response.headers


class Raw:
    """The azure-data-tables calls a phase cannot avoid, on the same tables, in a directory of their own."""

    def __init__(self, table: TableClient) -> None:
        self.table = table
        self.upk, self.gpk = k.user_pk(RAW_DIRECTORY), k.group_pk(RAW_DIRECTORY)

    async def user(self, n: int) -> None:
        name = f"raw.{n:06d}@contoso.example"
        with contextlib.suppress(ResourceNotFoundError):  # the lookup misses, as Entra's does for a new user
            await self.table.get_entity(self.upk, k.user_name_rk(name))
        entity = {"PartitionKey": self.upk, "RowKey": k.id_rk(f"r{n}"), "Id": f"r{n}", "d0": "{}" * 200}
        await self.table.submit_transaction(
            [
                ("create", entity),
                ("create", k.index_entity(self.upk, k.user_name_rk(name), f"r{n}")),
                ("create", k.index_entity(self.upk, k.external_id_rk(f"x{n}"), f"r{n}")),
            ]
        )

    async def group(self, n: int) -> None:
        name = f"RawGroup{n:05d}"
        with contextlib.suppress(ResourceNotFoundError):
            await self.table.get_entity(self.gpk, k.display_name_rk(name))
        entity = {"PartitionKey": self.gpk, "RowKey": k.id_rk(f"g{n}"), "Id": f"g{n}", "d0": "{}"}
        await self.table.submit_transaction(
            [("create", entity), ("create", k.index_entity(self.gpk, k.display_name_rk(name), f"g{n}"))]
        )

    async def patch(self, group: int, members: list[int]) -> None:
        """Retried whole on a reset: it reads and upserts, so a repeat lands the same state."""
        await reset_proof(lambda: self._patch(group, members))

    async def _patch(self, group: int, members: list[int]) -> None:
        await self.table.get_entity(self.gpk, k.id_rk(f"g{group}"))
        await asyncio.gather(*(self.table.get_entity(self.upk, k.id_rk(f"r{m}")) for m in members))
        merge = {"PartitionKey": self.gpk, "RowKey": k.id_rk(f"g{group}"), "LastModified": "m"}
        ops: list[Any] = [
            ("update", merge, {"mode": UpdateMode.MERGE, "match_condition": MatchConditions.Unconditionally})
        ]
        for m in members:
            ops += [("upsert", e) for e in k.member_entities(self.gpk, f"g{group}", f"r{m}")]
        await self.table.submit_transaction(ops)

    async def get_group(self, members: bool) -> None:
        await self.table.get_entity(self.gpk, k.id_rk("g0"))
        if members:
            async for _ in self.table.query_entities(_RANGE, parameters=self._range("g0"), select=["Member"]):
                pass

    async def delete_group(self) -> None:
        """The group and its index in one transaction, then every pair, transactions of 100, 4 in flight; each
        call survives Azurite's connection resets (a batch is atomic, so a 404 on a retry means it landed)."""
        name_rk = k.display_name_rk("RawGroup00000")
        first = [("delete", {"PartitionKey": self.gpk, "RowKey": rk}) for rk in (k.id_rk("g0"), name_rk)]
        await reset_proof(lambda: self._commit(first))

        async def listing() -> list[dict[str, Any]]:
            rows = self.table.query_entities(_RANGE, parameters=self._range("g0"), select=["Group", "Member"])
            return [e for row in [r async for r in rows] for e in k.member_entities(self.gpk, "g0", row["Member"])]

        keys = await reset_proof(listing)
        gate = asyncio.Semaphore(4)

        async def commit(part: list[dict[str, Any]]) -> None:
            async with gate:
                await reset_proof(lambda: self._commit([("delete", e) for e in part]))

        await asyncio.gather(*(commit(keys[i : i + 100]) for i in range(0, len(keys), 100)))

    async def _commit(self, ops: list[Any]) -> None:
        try:
            await self.table.submit_transaction(ops)
        except TableTransactionError as failed:
            if failed.status_code != 404:
                raise

    def _range(self, group: str) -> dict[str, str]:
        low, high = k.members_range(group)
        return {"pk": self.gpk, "low": low, "high": high}


_RANGE = "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high"


def start_host(azurite: Azurite, prefix: str, log: Path, secrets: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SCIM_", "OTEL_"))}
    env.update(
        SCIM_STORE="tables",
        SCIM_TABLES_CONNECTION_STRING=azurite.connection_string,
        SCIM_TABLE_PREFIX=prefix,
        SCIM_SECRETS_FILE=str(secrets),
        SCIM_NAME_POLICY="create",
        SCIM_CLIENT_CACHE_SECONDS="30",  # as in Azure: the client and directory are not read on every request
        SCIM_DEV_CLIENT_ID=CLIENT_ID,
        SCIM_DEV_CLIENT_SECRET=CLIENT_SECRET,
    )
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(SCIMCTL), "serve", "--port", str(port)], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"scimctl serve exited: {log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("scimctl serve did not start")


def plan(args: argparse.Namespace) -> list[tuple[int, list[int]]]:
    """Member PATCHes (group, users): group 0 gets ``--large`` members, the rest share what is left."""
    rng = random.Random(args.seed)
    large = min(args.large, args.users, args.memberships)
    blocks = [(0, list(range(start, min(start + args.block, large)))) for start in range(0, large, args.block)]
    others = max(1, args.groups - 1)
    per_group = max(0, (args.memberships - large) // others)
    for g in range(1, args.groups):
        picked = rng.sample(range(args.users), min(per_group, args.users))
        blocks += [(g, picked[i : i + args.block]) for i in range(0, len(picked), args.block)]
    rng.shuffle(blocks)
    return blocks


async def cycle(args: argparse.Namespace, url: str, pid: int, raw: Raw) -> list[Phase]:
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    async with httpx.AsyncClient() as plain:
        token = (await plain.post(f"{url}/oauth2/token", data=form, timeout=10)).json()["access_token"]
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    phases: list[Phase] = []
    user_ids: list[str] = [""] * args.users
    group_ids: list[str] = [""] * args.groups
    sizes = [0] * args.groups
    async with httpx.AsyncClient(base_url=f"{url}/scim/v2", headers=headers, limits=limits, timeout=120) as client:

        def user_unit(n: int) -> Unit:
            name = f"cycle.{n:06d}@contoso.example"

            async def unit() -> list[httpx.Response]:
                found = await client.get("/Users", params={"filter": f'userName eq "{name}"'})
                body = {
                    "schemas": [USER_SCHEMA],
                    "userName": name,
                    "externalId": f"x{n}",
                    "active": True,
                    "displayName": f"User {n}",
                    "emails": [{"primary": True, "type": "work", "value": name}],
                }
                made = await client.post("/Users", json=body)
                if ok(made):
                    user_ids[n] = made.json()["id"]
                return [found, made]

            return unit

        def group_unit(n: int) -> Unit:
            name = f"CycleGroup{n:05d}"

            async def unit() -> list[httpx.Response]:
                params = {"filter": f'displayName eq "{name}"', "excludedAttributes": "members"}
                found = await client.get("/Groups", params=params)
                made = await client.post("/Groups", json={"schemas": [GROUP_SCHEMA], "displayName": name})
                if ok(made):
                    group_ids[n] = made.json()["id"]
                return [found, made]

            return unit

        small, large = Phase("member PATCH, groups < 100"), Phase("member PATCH, large group > 1/2")

        def patch_unit(group: int, members: list[int]) -> Unit:
            async def unit() -> list[httpx.Response]:
                ops = [{"op": "add", "path": "members", "value": [{"value": user_ids[m]} for m in members]}]
                begin = time.perf_counter()
                response = await client.patch(
                    f"/Groups/{group_ids[group]}", json={"schemas": [PATCH_OP], "Operations": ops}
                )
                spent = time.perf_counter() - begin
                size, sizes[group] = sizes[group], sizes[group] + len(members)
                if size < 100:
                    small.latencies.append(spent)
                elif group == 0 and size > min(args.large, args.users) // 2:
                    large.latencies.append(spent)
                return [response]

            return unit

        for name, units, raws in (
            (
                "users (filter + POST)",
                [user_unit(n) for n in range(args.users)],
                [partial(raw.user, n) for n in range(args.users)],
            ),
            (
                "groups (filter + POST)",
                [group_unit(n) for n in range(args.groups)],
                [partial(raw.group, n) for n in range(args.groups)],
            ),
        ):
            phase = Phase(name)
            with RssSampler(pid) as rss:
                await run_units(units, args.concurrency, phase)
            phase.rss = rss.peak
            await run_raw(raws, args.concurrency, phase)
            phases.append(report(phase))
        blocks = plan(args)
        phase = Phase(f"memberships (PATCH add {args.block})")
        with RssSampler(pid) as rss:
            await run_units([patch_unit(g, m) for g, m in blocks], args.concurrency, phase)
        phase.rss = rss.peak
        await run_raw([partial(raw.patch, g, m) for g, m in blocks], args.concurrency, phase)
        phases += [report(phase), report(small), report(large)]
        if small.latencies and large.latencies:
            ratio = quantile(large.latencies, 0.99) / quantile(small.latencies, 0.99)
            print(f"member PATCH p99, large group / small groups: x{ratio:.2f} (goal <= 1.5)", flush=True)
        for label, params in (("GET large group", {}), ("GET large, no members", {"excludedAttributes": "members"})):
            phase = Phase(label)
            with RssSampler(pid) as rss:
                await run_units([partial(_get, client, group_ids[0], params)] * 3, 1, phase)
            phase.rss = rss.peak
            await run_raw([partial(raw.get_group, not params)] * 3, 1, phase)
            phases.append(report(phase))
        phase = Phase("DELETE large group")
        with RssSampler(pid) as rss:
            await run_units([lambda: _delete(client, group_ids[0])], 1, phase)
        phase.rss = rss.peak
        await run_raw([raw.delete_group], 1, phase)
        phases.append(report(phase))
    return phases


def report(phase: Phase) -> Phase:
    """Print the phase's line as soon as it is measured, with every non-2xx answer it got."""
    print(phase.line(), flush=True)
    for refusal in phase.refusals:
        print(f"    non-2xx: {refusal}", flush=True)
    return phase


async def _get(client: httpx.AsyncClient, group_id: str, params: dict[str, str]) -> list[httpx.Response]:
    return [await client.get(f"/Groups/{group_id}", params=params)]


async def _delete(client: httpx.AsyncClient, group_id: str) -> list[httpx.Response]:
    """DELETE as Entra retries it: a 503 or 429 with Retry-After is repeated after that delay (README)."""
    responses = [await client.delete(f"/Groups/{group_id}")]
    while retryable(responses[-1]) and len(responses) < 10:
        await asyncio.sleep(float(responses[-1].headers["Retry-After"]))
        responses.append(await client.delete(f"/Groups/{group_id}"))
    print(f"DELETE of the large group answered {[r.status_code for r in responses]}", flush=True)
    return responses


def round_trips(log: Path) -> dict[str, tuple[int, float]]:
    """Requests and mean storage round trips per operation name, from the host's request log (rt=N)."""
    totals: dict[str, list[int]] = {}
    for match in re.finditer(r" \d{3} (\S+) [\d.]+ms rt=(\d+)", log.read_text(errors="replace")):
        totals.setdefault(match.group(1), []).append(int(match.group(2)))
    return {op: (len(v), sum(v) / len(v)) for op, v in sorted(totals.items())}


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, Azurite() as azurite:
        log = Path(tmp) / "host.log"
        process, url = start_host(azurite, "cycle", log, Path(tmp) / "secrets.json")
        raw_table = TableClient.from_connection_string(azurite.connection_string, "cycleresources")
        print(
            f"Entra cycle over HTTP on Azurite: {args.users} users, {args.groups} groups, {args.memberships}"
            f" memberships (one group of {min(args.large, args.users, args.memberships)}), {args.block} members"
            f" per PATCH, concurrency {args.concurrency}; latencies per unit (a user or group is filter + POST)",
            flush=True,
        )
        try:
            phases = await cycle(args, url, process.pid, Raw(raw_table))
        finally:
            await raw_table.close()
            process.terminate()
            process.wait(timeout=15)
        print("storage round trips per request (host log):")
        for op, (count, mean) in round_trips(log).items():
            print(f"  {op:<24} {count:>6} requests  {mean:6.2f} round trips")
        if any(phase.non_2xx for phase in phases):
            raise SystemExit("some requests were not answered 2xx")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--memberships", type=int, default=20_000)
    parser.add_argument("--large", type=int, default=5_000, help="members of the one large group")
    parser.add_argument("--block", type=int, default=10, help="members per PATCH")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    asyncio.run(main(parser.parse_args()))
