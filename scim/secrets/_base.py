"""The secret store contract shared by the Key Vault, file and memory stores."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from scim.errors import StoreUnavailable
from scim.model import GUID

SIGNING_KEY_SECRET = "scim-signing-key"  # noqa: S105 - the name of a secret, not a secret
EVENT_KEY_SECRET = "scim-event-signing-key"  # noqa: S105 - the change events' ES256 keys, PEM, one per version

# Key Vault object names: 1-127 characters of 0-9, a-z, A-Z and "-", compared case-insensitively.
_NAME = re.compile(r"[0-9A-Za-z-]{1,127}")
# Key Vault version ids are 32 hex characters; anything outside this set cannot name a version in any store.
_VERSION = re.compile(r"[0-9A-Za-z]{1,64}")


@dataclass(frozen=True, slots=True)
class SecretVersion:
    """One version of a secret; ``value`` stays out of repr so a logged version cannot leak it."""

    version: str
    value: str = field(repr=False)
    created: datetime
    expires_on: datetime | None
    enabled: bool


class SecretStore(Protocol):
    """Named secrets with versions. Names follow Key Vault rules and compare case-insensitively."""

    async def versions(self, name: str) -> list[SecretVersion]:
        """Enabled, unexpired versions, newest first; [] when the secret does not exist."""
        ...

    async def add_version(self, name: str, value: str, *, expires_on: datetime | None = None) -> SecretVersion:
        """Store a new enabled version (the newest) and return it."""
        ...

    async def disable_version(self, name: str, version: str) -> bool:
        """Disable one version; False when the secret or the version does not exist."""
        ...

    async def set_expiry(self, name: str, version: str, expires_on: datetime) -> bool:
        """Set one version's expiry (client secret rotation); False when the secret or the version does not exist."""
        ...

    async def delete(self, name: str) -> bool:
        """Delete every version; False when the secret does not exist."""
        ...

    async def close(self) -> None:
        """Release connections; the store is not used afterwards."""
        ...


class SecretStoreRefused(StoreUnavailable):
    """Key Vault refused a request (400/401/403/409): usually configuration, such as a role assignment in flight."""

    def __init__(self, name: str, status: int | None, code: str | None) -> None:
        self.status = status
        self.code = code
        super().__init__(f"Key Vault refused the request for secret {name!r}: {status} {code}")


def client_secret_name(client_id: str) -> str:
    """The secret that holds a client's secret; client ids are lowercase GUIDs."""
    if not GUID.fullmatch(client_id):
        raise ValueError("client id must be a lowercase GUID")
    return f"client-{client_id}"


def long_lived_token_name(client_id: str) -> str:
    """The secret whose versions are a client's long-lived tokens: one version (a per-token key) per token."""
    if not GUID.fullmatch(client_id):
        raise ValueError("client id must be a lowercase GUID")
    return f"ltt-{client_id}"


def is_client_id(value: str) -> bool:
    """True when ``value`` has the shape of a client id (a lowercase GUID)."""
    return bool(GUID.fullmatch(value))


def check_name(name: str) -> str:
    """Validate a secret name and return its case-folded key (Key Vault names are case-insensitive)."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"invalid secret name {name!r}: use 1-127 letters, digits and '-'")
    return name.lower()


def check_expiry(expires_on: datetime | None) -> datetime | None:
    """Reject naive datetimes: comparing them with UTC would silently shift expiries by the local offset."""
    if expires_on is not None and expires_on.utcoffset() is None:
        raise ValueError("expires_on must be timezone-aware")
    return None if expires_on is None else expires_on.astimezone(UTC)


def is_version_id(version: str) -> bool:
    """True when ``version`` could be a version id (a malformed one cannot exist, so callers answer False)."""
    return bool(_VERSION.fullmatch(version))


def live(versions: list[SecretVersion], now: datetime | None = None) -> list[SecretVersion]:
    """Enabled, unexpired versions, newest first; equal timestamps keep the later-listed version first."""
    now = now or datetime.now(UTC)
    kept = [(v, i) for i, v in enumerate(versions) if v.enabled and (v.expires_on is None or v.expires_on > now)]
    return [v for v, _ in sorted(kept, key=lambda p: (p[0].created, p[1]), reverse=True)]


async def retire_others(store: SecretStore, name: str, keep: str, after: timedelta) -> int:
    """Every live version of ``name`` but ``keep`` ends ``after`` from now (at once when zero); none is extended."""
    cutoff = datetime.now(UTC) + after
    count = 0
    for version in await store.versions(name):
        if version.version == keep:
            continue
        count += 1
        if after <= timedelta(0):
            await store.disable_version(name, version.version)
        elif version.expires_on is None or version.expires_on > cutoff:
            await store.set_expiry(name, version.version, cutoff)
    return count
