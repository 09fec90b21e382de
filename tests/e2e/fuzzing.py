"""What both fuzzers assert of every answer of the local host (README "Hostile input"): no 5xx, no traceback in the
body, and no state change by a refused request. Bounded: a fixed number of examples and a wall-clock budget.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from scim.dev.azurite import free_port
from tests.support.host import Host, host_env

# A Python exception name, a traceback header or a frame line: what must never reach a response body.
LEAK = re.compile(r"Traceback|File \"|\b[A-Z][A-Za-z]+(Error|Exception)\b|\bline \d+, in\b")
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Each fuzzer stops generating once it has spent this long, whatever its example count (2-core CI machine).
TIME_BUDGET_SECONDS = 90.0


def start_fuzz_host(log_dir: Path) -> Host:
    """A memory-store host under policy create, so every route can change state."""
    port = free_port()
    host = Host(port, host_env("create"), log_dir / f"fuzz-{port}.log")
    host.start()
    return host


@dataclass
class Watch:
    """The directory's state as the API shows it, re-read after every write, so a refused write can be judged."""

    host: Host
    token: str
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))
    state: str = ""
    started: float = field(default_factory=time.monotonic)
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    user_ids: list[str] = field(default_factory=list)
    group_ids: list[str] = field(default_factory=list)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def snapshot(self) -> str:
        users = self.http.get(f"{self.host.scim_url}/Users?count=1000", headers=self.auth)
        groups = self.http.get(f"{self.host.scim_url}/Groups?count=1000", headers=self.auth)
        assert users.status_code == groups.status_code == 200, (users.text, groups.text)
        self.user_ids = [r["id"] for r in users.json()["Resources"]]
        self.group_ids = [r["id"] for r in groups.json()["Resources"]]
        return users.text + groups.text

    def some_id(self, path: str) -> str:
        """The id of a user (or, for a Groups path, a group) the directory holds now, else a made-up one."""
        pool = self.group_ids if "groups" in path.lower() else self.user_ids
        return pool[self.requests % len(pool)] if pool else "00000000-0000-0000-0000-000000000000"

    def refresh(self) -> None:
        self.state = self.snapshot()

    def out_of_time(self) -> bool:
        return time.monotonic() - self.started > TIME_BUDGET_SECONDS

    def judge(self, method: str, status: int, body: bytes, what: str) -> None:
        """Fail on a 5xx, a leak, or a refused write that changed the directory; track state after writes."""
        self.requests += 1
        self.statuses[status] += 1
        text = body.decode("utf-8", "replace")
        assert status < 500, f"{what} -> {status}: {text[:500]}"
        assert not LEAK.search(text), f"{what} -> {status} leaks: {text[:500]}"
        if method.upper() not in MUTATING:
            return
        after = self.snapshot()
        if status >= 400:
            assert after == self.state, f"{what} was refused with {status} but changed the directory"
        self.state = after


def sample(items: Iterator[str], n: int) -> list[str]:
    out = []
    for item in items:
        out.append(item)
        if len(out) == n:
            break
    return out
