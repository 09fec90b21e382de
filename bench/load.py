"""One Entra-shaped load script over real HTTP against our local host and against scim2-server, side by side.

The script creates users, filters each by userName, patches each, creates groups and adds members (several per
operation), at concurrency 1 and 4, with two clients: httpx async, and the standard library's http.client with
one kept-alive connection per worker thread (how Entra's provisioning client and most SDKs talk). Both servers
run in their own process on the memory store; server CPU is read with psutil before and after. The machine is
noisy, so the figures that matter are the ratios ours/theirs measured in the same run. Budgets (docs/architecture.md):
at least 3x the requests/s, p99 below 10 ms, at most 1/3 of the CPU per request.

Run: .venv/bin/python -m bench.load [--users N] [--clients httpx stdlib] [--peers ...] [--concurrency 1 4] [--profile]
  --profile runs our server under a CPU-time cProfile for one extra pass and prints its hotspots.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import pstats
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from scim.protocol.schema import GROUP_SCHEMA, PATCH_OP, USER_SCHEMA

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
SCIMCTL = ROOT / ".venv" / "bin" / "scimctl"
CLIENT_ID = "6f9619ff-8b86-d011-b42d-00c04fc964ff"
CLIENT_SECRET = "bench-secret-" + "b" * 40
MEMBERS_PER_OP = 10
PEERS = ("werkzeug", "wsgiref", "uvicorn")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A server process under test and the SCIM base URL and headers to reach it."""

    name: str
    process: subprocess.Popen[bytes]
    base: str
    headers: dict[str, str] = field(default_factory=dict)

    def cpu(self) -> float:
        times = psutil.Process(self.process.pid).cpu_times()
        return float(times.user + times.system)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _wait(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {log.read_text(errors='replace')}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"server did not answer {url}: {log.read_text(errors='replace')}")


# `scimctl serve` with a CPU-time profiler that SIGUSR1 starts and SIGUSR2 stops and dumps, so start-up and
# warm-up stay out of the profile, and time the process spends preempted by the client is not counted.
_PROFILED_SERVE = """
import cProfile, signal, sys, time
from scim.cli import main
profiler = cProfile.Profile(time.process_time)
out = sys.argv.pop(1)
def dump(*_):
    profiler.disable()
    profiler.dump_stats(out)
signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())
signal.signal(signal.SIGUSR2, dump)
sys.argv[0] = "scimctl"
sys.exit(main())
"""


def start_ours(log_dir: Path, *, profile: Path | None = None, telemetry: bool = True) -> Server:
    """`scimctl serve` on the memory store, policy create (the script's group names are in no catalog).

    telemetry=False sets OTEL_SDK_DISABLED, which turns the local span export (a line per request) off:
    a diagnostic, to show what that export costs.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCIM_", "OTEL_"))}
    if not telemetry:
        env["OTEL_SDK_DISABLED"] = "true"
    env.update(
        SCIM_STORE="memory",
        SCIM_NAME_POLICY="create",
        SCIM_DEV_CLIENT_ID=CLIENT_ID,
        SCIM_DEV_CLIENT_SECRET=CLIENT_SECRET,
    )
    command = [str(SCIMCTL), "serve", "--port", str(port)]
    if profile is not None:
        command = [str(PYTHON), "-c", _PROFILED_SERVE, str(profile), "serve", "--port", str(port)]
    log = log_dir / f"ours-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    _wait(process, f"{url}/health", log)
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    token = httpx.post(f"{url}/oauth2/token", data=form, timeout=10).json()["access_token"]
    name = "ours" if telemetry else "ours, no span export"
    return Server(name, process, f"{url}/scim/v2", {"Authorization": f"Bearer {token}"})


def start_peer(kind: str, log_dir: Path) -> Server:
    """scim2-server in its own process: `kind` is werkzeug (threaded), wsgiref (its CLI) or uvicorn (its ASGI app)."""
    port = free_port()
    log = log_dir / f"{kind}-{port}.log"
    if kind == "wsgiref":
        command = [str(ROOT / ".venv" / "bin" / "scim2-server"), "--port", str(port)]
    else:
        command = [str(PYTHON), "-m", "bench.load", "--serve-peer", kind, "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v2"
    _wait(process, f"{base}/ServiceProviderConfig", log)
    return Server(f"scim2-server ({kind})", process, base)


def serve_peer(kind: str, port: int) -> None:
    """Serve scim2-server's default in-memory application, built as its CLI builds it, with no auth."""
    from scim2_server.service import ScimService
    from scim2_server.utils import load_default_provider

    provider = load_default_provider()
    service = ScimService(provider, secret="bench")
    if kind == "uvicorn":
        import uvicorn
        from scim2_server.applications.asgi import ASGIApplication
        from scim2_server.memory import AsyncInMemoryStorage

        asgi = ASGIApplication(AsyncInMemoryStorage(), provider, service=service)
        uvicorn.run(asgi, host="127.0.0.1", port=port, log_level="warning", access_log=False, http="httptools")
        return
    from scim2_server.memory import InMemoryStorage
    from scim2_server.testserver.application import BearerTokenApplication
    from werkzeug.serving import run_simple

    wsgi = BearerTokenApplication(InMemoryStorage(), provider, service=service)
    run_simple("127.0.0.1", port, wsgi, threaded=True)


@dataclass
class Result:
    server: str
    client: str
    concurrency: int
    latencies: list[float]
    wall: float
    cpu: float

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.requests / self.wall

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def cpu_per_request(self) -> float:
        return self.cpu / self.requests


@dataclass(frozen=True)
class Request:
    """One request of the script, relative to the server's SCIM base URL (query included)."""

    method: str
    path: str
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class Answer:
    status: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


class HttpxClient:
    """httpx async, `concurrency` pooled keep-alive connections, one worker task per connection."""

    name = "httpx"

    def __init__(self, server: Server, concurrency: int) -> None:
        self.concurrency = concurrency
        self.loop = asyncio.new_event_loop()
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self.client = httpx.AsyncClient(base_url=server.base, headers=server.headers, limits=limits, timeout=30)

    def run(self, requests: list[Request], latencies: list[float]) -> list[Answer]:
        return self.loop.run_until_complete(self._phase(requests, latencies))

    async def _phase(self, requests: list[Request], latencies: list[float]) -> list[Answer]:
        answers: list[Answer | None] = [None] * len(requests)
        queue = iter(enumerate(requests))

        async def worker() -> None:
            for index, request in queue:
                start = time.perf_counter()
                response = await self.client.request(request.method, request.path, json=request.body)
                latencies.append(time.perf_counter() - start)
                answers[index] = Answer(response.status_code, response.text)

        await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        return [a for a in answers if a is not None]

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


class StdlibClient:
    """The standard library's http.client: one kept-alive connection per worker thread, as Entra's provisioning
    client and most SDKs hold theirs; a body is read in full before the connection's next request."""

    name = "http.client"

    def __init__(self, server: Server, concurrency: int) -> None:
        base = urllib.parse.urlsplit(server.base)
        self.prefix = base.path
        self.headers = {**server.headers, "Content-Type": "application/scim+json"}
        self.connections = [
            http.client.HTTPConnection(base.hostname or "127.0.0.1", base.port, timeout=30) for _ in range(concurrency)
        ]

    def run(self, requests: list[Request], latencies: list[float]) -> list[Answer]:
        answers: list[Answer | None] = [None] * len(requests)
        queue = iter(enumerate(requests))
        lock = threading.Lock()
        errors: list[BaseException] = []

        def worker(connection: http.client.HTTPConnection) -> None:
            try:
                while True:
                    with lock:
                        index, request = next(queue, (-1, None))
                    if request is None:
                        return
                    body = None if request.body is None else json.dumps(request.body)
                    start = time.perf_counter()
                    connection.request(request.method, self.prefix + request.path, body=body, headers=self.headers)
                    response = connection.getresponse()
                    text = response.read().decode()
                    latencies.append(time.perf_counter() - start)
                    answers[index] = Answer(response.status, text)
            except BaseException as exc:  # re-raised in the caller's thread
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(c,)) for c in self.connections]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return [a for a in answers if a is not None]

    def close(self) -> None:
        for connection in self.connections:
            connection.close()


CLIENTS: dict[str, type[HttpxClient] | type[StdlibClient]] = {"httpx": HttpxClient, "stdlib": StdlibClient}


def _expect(request: Request, answer: Answer, *statuses: int) -> Answer:
    if answer.status not in statuses:
        raise RuntimeError(f"{request.method} {request.path}: {answer.status} {answer.text}")
    return answer


def run_script(server: Server, client_kind: str, concurrency: int, users: int, tag: str) -> Result:
    """The load script: users created, matched by userName, patched; groups created; members added."""
    groups = max(1, users // MEMBERS_PER_OP)
    latencies: list[float] = []
    client = CLIENTS[client_kind](server, concurrency)

    def phase(requests: list[Request], *statuses: int) -> list[Any]:
        answers = client.run(requests, latencies)
        return [_expect(r, a, *statuses) for r, a in zip(requests, answers, strict=True)]

    try:
        names = [f"bench.{tag}.{i:05d}@contoso.onmicrosoft.com" for i in range(users)]

        def create_user(name: str) -> Request:
            body = {
                "schemas": [USER_SCHEMA],
                "userName": name,
                "externalId": name.split("@", maxsplit=1)[0],
                "active": True,
                "displayName": name,
                "name": {"givenName": "Bench", "familyName": "User"},
                "emails": [{"primary": True, "type": "work", "value": name}],
            }
            return Request("POST", "/Users", body)

        def find_user(name: str) -> Request:
            return Request("GET", "/Users?" + urllib.parse.urlencode({"filter": f'userName eq "{name}"'}))

        def patch_user(user_id: str) -> Request:
            body = {
                "schemas": [PATCH_OP],
                "Operations": [
                    {"op": "replace", "path": "displayName", "value": "Patched"},
                    {"op": "replace", "path": "name.familyName", "value": "Patched"},
                ],
            }
            return Request("PATCH", f"/Users/{user_id}", body)

        def create_group(i: int) -> Request:
            body = {"schemas": [GROUP_SCHEMA], "displayName": f"Bench{tag}Group{i:04d}", "externalId": f"{tag}-{i}"}
            return Request("POST", "/Groups", body)

        def add_members(group_id: str, member_ids: list[str]) -> Request:
            body = {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": m} for m in member_ids]}],
            }
            return Request("PATCH", f"/Groups/{group_id}", body)

        cpu_before, wall_before = server.cpu(), time.perf_counter()
        ids = [a.json()["id"] for a in phase([create_user(n) for n in names], 201)]
        for answer in phase([find_user(n) for n in names], 200):
            if answer.json()["totalResults"] != 1:
                raise RuntimeError(f"filter found {answer.json()['totalResults']} users")
        phase([patch_user(i) for i in ids], 200, 204)
        group_ids = [a.json()["id"] for a in phase([create_group(i) for i in range(groups)], 201)]
        chunks = [ids[i * MEMBERS_PER_OP : (i + 1) * MEMBERS_PER_OP] for i in range(groups)]
        phase([add_members(g, m) for g, m in zip(group_ids, chunks, strict=True)], 200, 204)
        wall, cpu = time.perf_counter() - wall_before, server.cpu() - cpu_before
    finally:
        client.close()
    return Result(server.name, client_kind, concurrency, latencies, wall, cpu)


def measure(start: Callable[[], Server], client: str, concurrency: int, users: int) -> Result:
    """A fresh server, a warm-up pass (imports, caches), then the measured pass."""
    server = start()
    try:
        run_script(server, client, concurrency, max(20, users // 10), "warm")
        return run_script(server, client, concurrency, users, f"c{concurrency}")
    finally:
        server.stop()


def row(result: Result) -> str:
    return (
        f"  {result.server:<30} {result.client:<11} c={result.concurrency}  {result.requests:>5} req  "
        f"{result.rps:>8.0f} req/s  "
        f"p50 {result.quantile(0.5) * 1000:6.2f} ms  p99 {result.quantile(0.99) * 1000:6.2f} ms  "
        f"CPU {result.cpu_per_request * 1000:5.2f} ms/req"
    )


def compare(ours: Result, theirs: Result) -> str:
    """Ratios ours/theirs, against the budgets of docs/architecture.md (>= 3x req/s, <= 1/3 CPU per request)."""
    speed = ours.rps / theirs.rps
    cpu = ours.cpu_per_request / theirs.cpu_per_request
    return (
        f"  ours/{theirs.server} {ours.client} c={ours.concurrency}: req/s x{speed:.2f} (budget >= 3: "
        f"{'ok' if speed >= 3 else 'MISSED'}), CPU/req x{cpu:.2f} (budget <= 0.33: "
        f"{'ok' if cpu <= 1 / 3 else 'MISSED'}), p99 {ours.quantile(0.99) * 1000:.2f} ms (budget < 10: "
        f"{'ok' if ours.quantile(0.99) < 0.010 else 'MISSED'})"
    )


def profile_ours(log_dir: Path, users: int, client: str, concurrency: int = 4, top: int = 30) -> None:
    """One measured pass against our server under a CPU-time cProfile; prints its hotspots."""
    out = log_dir / "ours.prof"
    server = start_ours(log_dir, profile=out)
    try:
        run_script(server, client, concurrency, max(20, users // 10), "warm")
        server.process.send_signal(signal.SIGUSR1)
        result = run_script(server, client, concurrency, users, "prof")
        server.process.send_signal(signal.SIGUSR2)
        deadline = time.monotonic() + 30
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.stop()
    stats = pstats.Stats(str(out))
    total = stats.total_tt  # type: ignore[attr-defined]
    print(
        f"\ncProfile (CPU time) of our server: {result.requests} requests at c={concurrency}, "
        f"{total / result.requests * 1000:.2f} ms CPU per request under the profiler"
    )
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--peers", nargs="+", choices=PEERS, default=list(PEERS))
    parser.add_argument("--clients", nargs="+", choices=tuple(CLIENTS), default=list(CLIENTS))
    parser.add_argument("--concurrency", nargs="+", type=int, default=[1, 4])
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--serve-peer", choices=("werkzeug", "uvicorn"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_peer:
        serve_peer(args.serve_peer, args.port)
        return

    with tempfile.TemporaryDirectory() as tmp:
        log_dir = Path(tmp)
        print(
            f"HTTP load: {args.users} users, {max(1, args.users // MEMBERS_PER_OP)} groups, "
            f"{MEMBERS_PER_OP} members per add; memory stores; same machine for client and server"
        )
        for concurrency in args.concurrency:
            first: Result | None = None
            for client in args.clients:
                ours = measure(lambda: start_ours(log_dir), client, concurrency, args.users)
                first = first or ours
                peers = [
                    measure(lambda k=kind: start_peer(k, log_dir), client, concurrency, args.users)  # type: ignore[misc]
                    for kind in args.peers
                ]
                for result in (ours, *peers):
                    print(row(result), flush=True)
                for peer in peers:
                    print(compare(ours, peer), flush=True)
            # A diagnostic: what the local span export costs, with the first client.
            assert first is not None
            quiet = measure(lambda: start_ours(log_dir, telemetry=False), first.client, concurrency, args.users)
            print(row(quiet))
            share = 1 - quiet.cpu_per_request / first.cpu_per_request
            print(f"  span export share of our CPU/req at c={concurrency} ({first.client}): {share:.0%}", flush=True)
        if args.profile:
            profile_ours(log_dir, args.users, args.clients[0])


if __name__ == "__main__":
    main()
