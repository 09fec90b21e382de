"""A directory's health as the endpoint saw it: per-instance records of requests, refusals and failures, merged
into one verdict (healthy, idle, refusing, failing, unauthenticated; quarantined is Entra's word, added by the CLI).

A record keeps 10-minute buckets for a day, so "the last hour" is the buckets that started within it (it may
reach up to ten minutes further back).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

BUCKET_SECONDS = 600
KEEP = timedelta(days=1)
STALE = timedelta(days=2)  # a record that counted nothing for this long belongs to an instance long gone
MAX_VALUES = 20  # refused values kept per reason and record, the most frequent first
MAX_VALUE_CHARS = 256
# Refusals of a name Entra sent (scim.service.names): what `refusing` is about.
NAME_REASONS = frozenset({"unknown_group", "unknown_role", "group_name_rule", "role_name_rule"})
# Entra runs an incremental cycle about every 40 minutes; a directory quiet for longer than this is idle.
IDLE_AFTER = timedelta(minutes=60)
VERDICTS = ("healthy", "idle", "refusing", "unauthenticated", "failing", "quarantined")


def _bucket(at: float) -> int:
    return int(at) // BUCKET_SECONDS * BUCKET_SECONDS


def _iso(at: float | None) -> str | None:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if at else None


@dataclass(slots=True)  # not frozen: a frozen dataclass costs a microsecond more per request to build
class Observation:
    """One request as the record counts it; ``value`` is the name Entra sent that a name refusal is about."""

    directory: str | None
    client_id: str | None
    operation: str
    status: int
    refusal: str | None = None
    value: str | None = None
    closest: str | None = None

    @property
    def auth_failure(self) -> bool:
        """A refused token or credential: 401/403 anywhere, any 4xx of the token endpoint."""
        return self.status in (401, 403) or (self.operation == "token.issue" and 400 <= self.status < 500)


@dataclass
class Tally:
    """Counts of one bucket."""

    requests: int = 0
    server_errors: int = 0
    auth_failures: int = 0
    refusals: Counter[str] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        self.requests += other.requests
        self.server_errors += other.server_errors
        self.auth_failures += other.auth_failures
        self.refusals.update(other.refusals)


@dataclass
class HealthRecord:
    """What one instance saw of one directory."""

    last_request: float | None = None  # the last request a client of the directory made
    last_ok: float | None = None  # the last one that succeeded
    last_auth_failure: float | None = None
    buckets: dict[int, Tally] = field(default_factory=dict)
    values: dict[str, Counter[str]] = field(default_factory=dict)  # reason -> refused value -> count
    closest: dict[str, str] = field(default_factory=dict)  # refused value -> closest catalog name

    def observe(self, at: float, seen: Observation) -> None:
        """Count one request."""
        tally = self.buckets.get(start := _bucket(at))
        if tally is None:
            tally = self.buckets[start] = Tally()
        tally.requests += 1
        if seen.auth_failure:
            tally.auth_failures += 1
            self.last_auth_failure = at
        else:
            self.last_request = at
            if seen.status < 400:
                self.last_ok = at
        if seen.status >= 500:
            tally.server_errors += 1
        if seen.refusal:
            tally.refusals[seen.refusal] += 1
            if seen.value is not None and seen.refusal in NAME_REASONS:
                value = seen.value[:MAX_VALUE_CHARS]
                self.values.setdefault(seen.refusal, Counter())[value] += 1
                if seen.closest:
                    self.closest[value] = seen.closest

    def to_json(self, now: float) -> str:
        """The record as stored: buckets older than a day dropped, refused values bounded."""
        oldest = now - KEEP.total_seconds()
        values = {r: dict(c.most_common(MAX_VALUES)) for r, c in self.values.items()}
        kept = {v for c in values.values() for v in c}
        return json.dumps(
            {
                "last_request": self.last_request,
                "last_ok": self.last_ok,
                "last_auth_failure": self.last_auth_failure,
                "buckets": {
                    str(s): [t.requests, t.server_errors, t.auth_failures, dict(t.refusals)]
                    for s, t in self.buckets.items()
                    if s >= oldest
                },
                "values": values,
                "closest": {v: c for v, c in self.closest.items() if v in kept},
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> HealthRecord:
        doc: dict[str, Any] = json.loads(text)
        buckets = {
            int(s): Tally(int(r), int(e), int(a), Counter({str(k): int(v) for k, v in refusals.items()}))
            for s, (r, e, a, refusals) in dict(doc.get("buckets") or {}).items()
        }
        return cls(
            last_request=doc.get("last_request"),
            last_ok=doc.get("last_ok"),
            last_auth_failure=doc.get("last_auth_failure"),
            buckets=buckets,
            values={r: Counter(c) for r, c in dict(doc.get("values") or {}).items()},
            closest=dict(doc.get("closest") or {}),
        )

    @property
    def last_seen(self) -> float | None:
        """When this record last counted anything."""
        return _latest(self.last_request, self.last_auth_failure)


def _latest(*moments: float | None) -> float | None:
    present = [m for m in moments if m is not None]
    return max(present) if present else None


def merge(records: list[HealthRecord]) -> HealthRecord:
    """Every instance's record of one directory as one."""
    merged = HealthRecord()
    for record in records:
        merged.last_request = _latest(merged.last_request, record.last_request)
        merged.last_ok = _latest(merged.last_ok, record.last_ok)
        merged.last_auth_failure = _latest(merged.last_auth_failure, record.last_auth_failure)
        for start, tally in record.buckets.items():
            merged.buckets.setdefault(start, Tally()).add(tally)
        for reason, counts in record.values.items():
            merged.values.setdefault(reason, Counter()).update(counts)
        merged.closest |= record.closest
    return merged


def _window(record: HealthRecord, now: float, span: timedelta) -> Tally:
    total = Tally()
    since = _bucket(now - span.total_seconds())
    for start, tally in record.buckets.items():
        if start >= since:
            total.add(tally)
    return total


@dataclass
class Health:
    """The verdict on one directory and what it rests on."""

    directory: str
    verdict: str
    why: str
    last_request: str | None
    hour: dict[str, Any]
    day: dict[str, Any]
    refused_values: list[dict[str, Any]]
    entra: dict[str, Any] | None = None

    @property
    def exit_code(self) -> int:
        """0 healthy; 3 idle, 4 refusing, 5 unauthenticated, 6 failing, 7 quarantined (1 and 2 are scimctl's)."""
        return 0 if self.verdict == "healthy" else VERDICTS.index(self.verdict) + 2


def _counts(tally: Tally) -> dict[str, Any]:
    return {
        "requests": tally.requests,
        "server_errors": tally.server_errors,
        "auth_failures": tally.auth_failures,
        "refusals": dict(tally.refusals.most_common()),
    }


def judge(
    directory: str,
    record: HealthRecord,
    now: float,
    *,
    idle_after: timedelta = IDLE_AFTER,
    quarantine: dict[str, Any] | None = None,
) -> Health:
    """The verdict, worst first: quarantined (Entra's word), failing, unauthenticated, refusing, idle, healthy."""
    hour, day = _window(record, now, timedelta(hours=1)), _window(record, now, KEEP)
    named = {r: n for r, n in hour.refusals.items() if r in NAME_REASONS}
    values = [
        {"reason": reason, "value": value, "count": count, "closest": record.closest.get(value)}
        for reason, counts in record.values.items()
        if reason in named
        for value, count in counts.most_common()
    ]
    auth_since_ok = record.last_auth_failure is not None and (record.last_ok or 0) < record.last_auth_failure
    if quarantine:
        verdict, why = "quarantined", f"Entra quarantined the provisioning job: {quarantine.get('reason')}"
    elif hour.server_errors:
        verdict, why = "failing", f"{hour.server_errors} requests failed with 5xx (storage faults) in the last hour"
    elif hour.auth_failures and auth_since_ok:
        verdict, why = "unauthenticated", f"{hour.auth_failures} token or credential failures, no success since"
    elif named:
        sent = ", ".join(repr(v["value"]) for v in values[:5]) or "values recorded only by the instance"
        verdict, why = "refusing", f"{sum(named.values())} names Entra sent match no group or role: {sent}"
    elif record.last_request is None or now - record.last_request > idle_after.total_seconds():
        verdict, why = "idle", f"no request for more than {int(idle_after.total_seconds() // 60)} minutes"
    else:
        verdict, why = "healthy", "requests arrive and succeed"
    return Health(directory, verdict, why, _iso(record.last_request), _counts(hour), _counts(day), values)
