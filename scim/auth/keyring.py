"""The token signing key's versions (``scim-signing-key``): which one signs now, rotation and retirement, and
the long-lived tokens' own keys (``ltt-<client>``), for scimctl (docs/security.md, "Rotation").

Access tokens (scim.auth.tokens) and cursors (scim.auth.cursors) sign or seal with ``settled_key``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from scim.secrets import SIGNING_KEY_SECRET, SecretStore, SecretVersion, long_lived_token_name, retire_others

KEY_PROPAGATION_SECONDS = 90  # longer than the secret stores' 60 s cache


def settled_key(keys: list[SecretVersion]) -> SecretVersion:
    """The newest key every instance has already seen: secret stores cache versions for up to a minute,
    so a key younger than that could sign tokens that other instances cannot verify yet."""
    settled = datetime.now(UTC) - timedelta(seconds=KEY_PROPAGATION_SECONDS)
    return next((k for k in keys if k.created <= settled), keys[-1])


def duration_text(delta: timedelta) -> str:
    """A duration as scimctl's options take it (`6h30s`, `2d`), not timedelta's `6:00:30`."""
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A signing-key version as scimctl shows it (never its value)."""

    version: str
    created: datetime
    signing: bool
    stopped_signing: datetime | None  # when the next key took over; None for the signer and newer keys


class KeyRing:
    """Signing-key rotation and long-lived token bookkeeping for scimctl (docs/security.md, "Rotation")."""

    def __init__(
        self,
        secret_store: SecretStore,
        *,
        longest_token: timedelta,
        secret: str = SIGNING_KEY_SECRET,
        new_value: Callable[[], str] = lambda: secrets.token_urlsafe(32),
        lifetime: str = "the longest token lifetime",
    ) -> None:
        """``secret``, ``new_value``, ``lifetime``: another rotated key (the event-signing key), its own floor."""
        self._secrets = secret_store
        self._longest_token = longest_token  # a key retires only after every token it signed has expired
        self._secret = secret
        self._new_value = new_value
        self._lifetime = lifetime

    async def keys(self) -> list[KeyInfo]:
        """Enabled signing keys, newest first, with the one that signs now marked."""
        keys = await self._secrets.versions(self._secret)
        if not keys:
            return []
        signer = settled_key(keys)
        index = keys.index(signer)
        return [
            KeyInfo(
                k.version,
                k.created,
                k is signer,
                keys[i - 1].created + timedelta(seconds=KEY_PROPAGATION_SECONDS) if i > index else None,
            )
            for i, k in enumerate(keys)
        ]

    async def rotate(self) -> KeyInfo:
        """Add a signing key; it starts signing after KEY_PROPAGATION_SECONDS, when every instance has seen it."""
        made = await self._secrets.add_version(self._secret, self._new_value())
        return KeyInfo(made.version, made.created, False, None)

    async def retire(self, older_than: timedelta, *, force: bool = False) -> list[KeyInfo]:
        """Disable keys that stopped signing more than ``older_than`` ago; never the key that signs now.

        Tokens signed with a retired key are refused within the secret cache's minute. Without ``force``,
        ``older_than`` must outlast the longest access token, so retiring never cuts a live token.
        """
        floor = self._longest_token
        if older_than < floor and not force:
            raise ValueError(
                f"--older-than must be at least {duration_text(floor)} ({self._lifetime}) unless --force is given"
            )
        cutoff = datetime.now(UTC) - older_than
        retired = []
        for key in await self.keys():
            if key.stopped_signing is not None and key.stopped_signing <= cutoff:
                await self._secrets.disable_version(self._secret, key.version)
                retired.append(key)
        return retired

    async def long_lived(self, client_id: str) -> list[SecretVersion]:
        """A client's live long-lived tokens (versions of ``ltt-<client>``), newest first."""
        return await self._secrets.versions(long_lived_token_name(client_id))

    async def retire_long_lived(self, client_id: str, *, keep: str, after: timedelta) -> int:
        """Every long-lived token of the client but ``keep`` stops working ``after`` from now; how many."""
        return await retire_others(self._secrets, long_lived_token_name(client_id), keep, after)

    async def revoke(self, client_id: str, token_id: str) -> bool:
        """Revoke one long-lived token; every instance refuses it within the secret cache's minute."""
        return await self._secrets.disable_version(long_lived_token_name(client_id), token_id)
