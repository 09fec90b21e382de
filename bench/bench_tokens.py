"""Bearer-token verification cost: PyJWT with and without the verified-token cache, against the old verifier.

The baseline is the hand-written HS256 verifier this project used before issue #12 (split, base64url, HMAC,
claims), kept below only to be measured; the product no longer contains it. Every case runs the same
secret-store lookup the product makes, so the ratios compare like with like.

Run: .venv/bin/python -m bench.bench_tokens  (ratios, not absolute times, are comparable across machines)
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scim.auth import tokens
from scim.auth.tokens import TokenService
from scim.secrets import SIGNING_KEY_SECRET, MemorySecretStore, SecretStore

ROUNDS = 3000
REPEATS = 7
ISSUER = "http://127.0.0.1:7071"


def _segment(text: str) -> dict[str, Any]:
    value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    if not isinstance(value, dict):
        raise ValueError("not a JWT")
    return value


async def _old_verify(store: SecretStore, token: str) -> dict[str, Any]:
    """The pre-#12 verifier, reduced to its work on a good token (what each SCIM request paid)."""
    head, body, signature = token.split(".")
    header, claims = _segment(head), _segment(body)
    if header.get("alg") != "HS256":
        raise ValueError("alg")
    key = next(k for k in await store.versions(SIGNING_KEY_SECRET) if k.version == header["kid"])
    try:
        offered = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except (ValueError, binascii.Error):
        raise ValueError("signature") from None
    expected = hmac.new(key.value.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, offered):
        raise ValueError("signature")
    now = time.time()
    if claims["iss"] != ISSUER or claims["aud"] != "scim" or claims["exp"] + 30 <= now or claims["nbf"] - 30 > now:
        raise ValueError("claims")
    return claims


def _service(store: SecretStore, cached: bool) -> TokenService:
    if hasattr(tokens, "VERIFIED_CACHE_SIZE"):
        return TokenService(store, ISSUER, verified_cache=tokens.VERIFIED_CACHE_SIZE if cached else 0)
    return TokenService(store, ISSUER)  # an older tree (main before #12): its verify is the hand-written one


async def _per_call(fn: Callable[[str], Awaitable[object]], feed: Callable[[], str]) -> float:
    started = time.perf_counter()
    for _ in range(ROUNDS):
        await fn(feed())
    return (time.perf_counter() - started) / ROUNDS * 1e6


async def main() -> None:
    store = MemorySecretStore()
    cached, uncached = _service(store, True), _service(store, False)
    await cached.ensure_signing_key()
    token, _ = await cached.issue("6f1c1d2e-0000-4000-8000-000000000001", "dev", ttl=3600)
    # A new token per call for the cache-miss case, as after every token request or instance start.
    client = "6f1c1d2e-0000-4000-8000-000000000001"
    misses = iter([(await cached.issue(client, "dev", ttl=3600))[0] for _ in range(REPEATS * ROUNDS)])
    await cached.verify(token)  # warm: the repeated-token case measures hits only

    cases: dict[str, tuple[Callable[[str], Awaitable[object]], Callable[[], str]]] = {
        "old hand-written verifier (baseline)": (lambda t: _old_verify(store, t), lambda: token),
        "TokenService.verify, no cache": (uncached.verify, lambda: token),
        "TokenService.verify, cache miss": (cached.verify, lambda: next(misses)),
        "TokenService.verify, cache hit": (cached.verify, lambda: token),
    }
    # Interleave repeats so load from other processes hits every case alike; keep each case's best round.
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(REPEATS):
        for label, (fn, feed) in cases.items():
            best[label] = min(best[label], await _per_call(fn, feed))
    baseline = best["old hand-written verifier (baseline)"]
    for label, value in best.items():
        print(f"{label:<40} {value:7.2f} µs/verify = {value / baseline:5.2f} x baseline")


if __name__ == "__main__":
    asyncio.run(main())
