"""Provider clients: registration, secret checks at the token endpoint, and the caller behind a verified token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TypedDict, TypeVar, Unpack

from scim.auth.entra_issued import check_tenant, client_id_for
from scim.auth.network import address_allowed, validate_networks
from scim.auth.tokens import READ_SCOPE, TokenClaims
from scim.clock import now
from scim.errors import Forbidden, Unauthorized
from scim.model import Caller, Client, Directory, Federation
from scim.secrets import (
    SecretStore,
    SecretVersion,
    client_secret_name,
    is_client_id,
    long_lived_token_name,
    retire_others,
)
from scim.store.base import Store

T = TypeVar("T")

# Disabling a client, deleting it or changing its networks takes effect on every instance within this many
# seconds (the bound is 60 s); scimctl's own process sees the change at once.
CLIENT_CACHE_SECONDS = 30.0
# Unknown client ids are cached too (a miss costs a store read); this bounds the cache under a flood of ids.
MAX_CACHED = 10_000
# Gallery guidance: client secrets expire after 1-3 years (docs/reference/entra-wire.md §3.2); rotate before then.
SECRET_LIFETIME = timedelta(days=730)


def digest(secret: str) -> str:
    """Client secrets are random 256-bit strings, so one SHA-256 pass is enough; the store never holds the secret."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class NewClient:
    """A client to register: its directory and networks, and what `scimctl client create` may set besides."""

    directory: str
    networks: list[str]
    client_id: str | None = None  # None: a fresh GUID
    secret: str | None = None  # None: a fresh secret (none at all for a federated or Entra-issued client)
    federation: Federation | None = None
    read_only: bool = False
    entra_issued_tenant: str = ""


class ClientChange(TypedDict, total=False):
    """What an admin changes on a client; a key left out (or None) keeps the client's value."""

    networks: list[str]
    disabled: bool
    auto_rotate_days: int


@dataclass(frozen=True, slots=True)
class Registration:
    client: Client
    secret: str
    secret_expires: datetime | None


class _Cache(dict[str, tuple[float, T | None]]):
    """A small TTL cache: entries older than CLIENT_CACHE_SECONDS (or ``ttl``) are misses; full means cleared."""

    ttl: float | None = None

    def fresh(self, key: str) -> tuple[bool, T | None]:
        hit = self.get(key)
        ttl = CLIENT_CACHE_SECONDS if self.ttl is None else self.ttl
        if hit is not None and time.monotonic() - hit[0] < ttl:
            return True, hit[1]
        return False, None

    def keep(self, key: str, value: T | None) -> None:
        if len(self) >= MAX_CACHED:
            self.clear()
        self[key] = (time.monotonic(), value)

    async def load(self, key: str, read: Callable[[str], Awaitable[T | None]]) -> T | None:
        """The cached value, or ``read(key)`` kept for next time ("not found" is cached too)."""
        hit, cached = self.fresh(key)
        if hit:
            return cached
        value = await read(key)
        self.keep(key, value)
        return value


class ClientRegistry:
    def __init__(self, store: Store, secret_store: SecretStore) -> None:
        self._store = store
        self._secrets = secret_store
        self._clients: _Cache[Client] = _Cache()
        self._directories: _Cache[Directory] = _Cache()

    def cache_for(self, seconds: float) -> None:
        """Keep client and directory records ``seconds`` (0: read on every request, as the local host does)."""
        self._clients.ttl = self._directories.ttl = seconds

    async def register(self, new: NewClient, *, secret_lifetime: timedelta | None = SECRET_LIFETIME) -> Registration:
        """Create a client for its directory with a fresh secret (or the given one, for the seeded dev client).

        A federated client gets no secret (its Entra assertion stands in for one); `rotate-secret` adds one. Nor does
        a client pinned to a tenant for Entra's own token: its id is the tenant's (scim.auth.entra_issued)."""
        client_id, secret, entra_issued_tenant = new.client_id, new.secret, new.entra_issued_tenant
        if client_id is not None and not is_client_id(client_id):
            raise ValueError("a client id is a lowercase GUID")
        if entra_issued_tenant:
            entra_issued_tenant = check_tenant(entra_issued_tenant)
            client_id = client_id_for(entra_issued_tenant)
            taken = await self._store.get_client(client_id)
            if taken is not None:
                raise ValueError(
                    f"tenant {entra_issued_tenant} is already pinned to client {client_id} (directory "
                    f"{taken.directory!r}): Entra's own token names no application, so one tenant feeds one client"
                )
        client = Client(
            id=client_id or str(uuid.uuid4()),
            directory=new.directory,
            networks=validate_networks(new.networks),
            created=now(),
            federation=new.federation,
            read_only=new.read_only,
            entra_issued_tenant=entra_issued_tenant,
        )
        expires = None
        if (new.federation is None and not entra_issued_tenant) or secret is not None:
            secret = secret or secrets.token_urlsafe(32)
            expires = datetime.now(UTC) + secret_lifetime if secret_lifetime else None
            await self._secrets.add_version(client_secret_name(client.id), digest(secret), expires_on=expires)
        await self._store.put_client(client)
        self._clients.pop(client.id, None)
        return Registration(client, secret or "", expires)

    async def rotate_secret(
        self, client_id: str, *, expire_old_in: timedelta, secret_lifetime: timedelta | None = SECRET_LIFETIME
    ) -> Registration:
        """Add a new secret; the previous one keeps working for ``expire_old_in``, any older one stops now.

        Two secrets at most are active, as Entra's gallery guidance asks: the new one and the one Entra still holds.
        """
        client = await self.require(client_id)
        name = client_secret_name(client_id)
        previous = await self._secrets.versions(name)
        secret = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + secret_lifetime if secret_lifetime else None
        await self._secrets.add_version(name, digest(secret), expires_on=expires)
        cutoff = datetime.now(UTC) + expire_old_in
        for i, version in enumerate(previous):
            if i > 0 or expire_old_in <= timedelta(0):
                await self._secrets.disable_version(name, version.version)
            elif version.expires_on is None or version.expires_on > cutoff:
                await self._secrets.set_expiry(name, version.version, cutoff)
        return Registration(client, secret, expires)

    async def add_secret(
        self, client_id: str, *, secret_lifetime: timedelta | None = SECRET_LIFETIME
    ) -> tuple[str, str]:
        """A new secret beside the existing ones, which keep working untouched: (secret, its version).

        Zero-downtime rotation (docs/security.md "Rotation"): the old versions get an end only once Entra holds the new
        one (``retire_secrets``); if saving it in Entra fails, ``drop_secret`` removes the new one instead."""
        await self.require(client_id)
        secret = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + secret_lifetime if secret_lifetime else None
        made = await self._secrets.add_version(client_secret_name(client_id), digest(secret), expires_on=expires)
        return secret, made.version

    async def retire_secrets(self, client_id: str, *, keep: str, after: timedelta) -> int:
        """Every secret version but ``keep`` stops working ``after`` from now (at once when zero); how many."""
        return await retire_others(self._secrets, client_secret_name(client_id), keep, after)

    async def drop_secret(self, client_id: str, version: str) -> bool:
        """Disable one secret version (a new secret Entra never saved)."""
        return await self._secrets.disable_version(client_secret_name(client_id), version)

    async def secret_versions(self, client_id: str) -> list[SecretVersion]:
        """The client's active secret versions, newest first (values are digests, never shown)."""
        return await self._secrets.versions(client_secret_name(client_id))

    async def require(self, client_id: str) -> Client:
        """The stored client (uncached: admin paths act on the latest state); ValueError when missing."""
        client = await self._store.get_client(client_id) if is_client_id(client_id) else None
        if client is None:
            raise ValueError(f"client {client_id!r} does not exist; `scimctl client list` shows the clients")
        return client

    async def update(self, client_id: str, **change: Unpack[ClientChange]) -> Client:
        """Change a client's networks, disabled flag or scheduled rotation; other instances see it within
        CLIENT_CACHE_SECONDS."""
        client = await self.require(client_id)
        if (auto_rotate_days := change.get("auto_rotate_days")) is not None:
            if not 0 <= auto_rotate_days <= 3 * 365:
                raise ValueError("--days is between 1 and 1095 (Entra's guidance: secrets live 1 to 3 years), or 0")
            client = replace(client, auto_rotate_days=auto_rotate_days)
        if (networks := change.get("networks")) is not None:
            client = replace(client, networks=validate_networks(networks))
        if (disabled := change.get("disabled")) is not None:
            client = replace(client, disabled=disabled)
        await self._store.put_client(client)
        self._clients.pop(client_id, None)
        return client

    async def delete(self, client_id: str) -> bool:
        """Remove a client, its secrets and its long-lived tokens."""
        if not is_client_id(client_id):
            return False
        found = await self._store.delete_client(client_id)
        await self._secrets.delete(client_secret_name(client_id))
        await self._secrets.delete(long_lived_token_name(client_id))
        self._clients.pop(client_id, None)
        return found

    async def client(self, client_id: str) -> Client | None:
        if not is_client_id(client_id):
            return None  # never reaches the store: ids become table keys, and junk ids must not fill the cache
        return await self._clients.load(client_id, self._store.get_client)

    async def known(self, client_id: str) -> bool:
        """Whether an enabled client has this id (cached like ``client``)."""
        client = await self.client(client_id)
        return client is not None and not client.disabled

    async def directory(self, directory_id: str) -> Directory | None:
        return await self._directories.load(directory_id, self._store.get_directory)

    async def check_secret(self, client_id: str, secret: str) -> Client | None:
        """The client when ``secret`` matches one of its active secret versions; comparison is constant-time."""
        client = await self.client(client_id)
        if client is None or client.disabled:
            return None
        offered = digest(secret)
        matched = False
        for version in await self._secrets.versions(client_secret_name(client_id)):
            matched |= hmac.compare_digest(version.value, offered)
        return client if matched else None

    async def caller(self, claims: TokenClaims, address: str) -> Caller:
        """The caller behind a verified token: its client must still be enabled and reached from an allowed network."""
        client = await self.client(claims.client_id)
        if client is None or client.disabled or client.directory != claims.directory:
            raise Unauthorized("The client this token was issued to is disabled or no longer exists.")
        if not address_allowed(address, client.networks):
            raise Forbidden(
                f"Requests from {address} are not allowed for this client; ask the admin to add the network."
            )
        directory = await self.directory(client.directory)
        if directory is None:
            raise Unauthorized("The directory this token writes into no longer exists.")
        # Read-only if either says so: the client's flag (checked on every request) or the token's scope.
        return Caller(client.id, directory, read_only=client.read_only or claims.scope == READ_SCOPE)
