"""Failed client authentication, throttled per (client id, source address) and per source address.

In-process and per instance (docs/security.md, "Throttling"): Flex Consumption scales out to a handful of
instances for one app, so an attacker gets at most that many times the budget below, and the budget is tiny next
to a 256-bit secret. Entra itself authenticates once an hour or so, so a good client never comes near it.

Each key keeps the failure times of a sliding window. The first few failures are free (a typo, a retry); each
further failure locks the key for twice as long as the last one (2 s, 4 s, 8 s ...) up to five minutes at a
time: slowed, then refused.
The client-id dimension is always paired with the address, so failures against your client id from elsewhere
never lock you out.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from scim.auth.network import throttle_key
from scim.secrets import is_client_id

WINDOW_SECONDS = 900.0  # failures are remembered this long; longer than the lock ladder up to MAX_LOCK_SECONDS
MAX_LOCK_SECONDS = 300.0
PAIR_FREE_FAILURES = 3  # per (client id, address) in the window before it is slowed
ADDRESS_FREE_FAILURES = 10  # per address, across client ids (password spraying) before it is slowed
MAX_TRACKED_KEYS = 20_000  # bounds memory under a many-address attack; the oldest keys go first


@dataclass(slots=True)
class _Track:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """A throttle decision: ``retry_after`` seconds to wait, and which dimension refused."""

    retry_after: int
    reason: str


class FailureThrottle:
    """Sliding-window failure counters with exponential lock-out; the clock is injectable for tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tracks: OrderedDict[str, _Track] = OrderedDict()

    @staticmethod
    def _keys(client_id: str | None, address: str) -> tuple[tuple[str, int, str], tuple[str, int, str]]:
        where = throttle_key(address)
        # Client ids are GUIDs; anything else shares one slot so junk ids cannot grow the table.
        who = client_id if client_id and is_client_id(client_id) else "?"
        return (
            (f"pair:{who}|{where}", PAIR_FREE_FAILURES, "this client id from this address"),
            (f"addr:{where}", ADDRESS_FREE_FAILURES, "this address"),
        )

    def check(self, client_id: str | None, address: str) -> Verdict | None:
        """A Verdict when the caller must wait before trying again; None when it may try now."""
        now = self._clock()
        worst: Verdict | None = None
        for key, _, reason in self._keys(client_id, address):
            track = self._tracks.get(key)
            if track is not None and track.locked_until > now:
                wait = math.ceil(track.locked_until - now)
                if worst is None or wait > worst.retry_after:
                    worst = Verdict(wait, reason)
        return worst

    def failed(self, client_id: str | None, address: str) -> int:
        """Record a failure; the number of failures of this client id from this address in the window."""
        now = self._clock()
        counts = []
        for key, free, _ in self._keys(client_id, address):
            track = self._tracks.pop(key, None) or _Track()
            self._tracks[key] = track  # most recently used last: eviction drops the stalest keys
            while track.failures and track.failures[0] <= now - WINDOW_SECONDS:
                track.failures.popleft()
            track.failures.append(now)
            over = len(track.failures) - free
            if over > 0:
                track.locked_until = now + min(2.0**over, MAX_LOCK_SECONDS)
            counts.append(len(track.failures))
        while len(self._tracks) > MAX_TRACKED_KEYS:
            self._tracks.popitem(last=False)
        return counts[0]

    def succeeded(self, client_id: str, address: str) -> None:
        """A good secret from this address clears its pair; the address counter stays (it spans client ids)."""
        pair, _ = self._keys(client_id, address)
        self._tracks.pop(pair[0], None)
