"""Provider clients: registration, secret checks at the token endpoint, and the caller behind a verified token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass

from scim.auth.network import address_allowed, validate_networks
from scim.auth.tokens import TokenClaims
from scim.errors import Forbidden, Unauthorized
from scim.secrets import SecretStore, client_secret_name
from scim.service.common import Caller, now
from scim.store.base import Client, Directory, Store

# Disabling a client or changing its networks takes effect within this many seconds (issue: at most 60 s).
CLIENT_CACHE_SECONDS = 30.0


def digest(secret: str) -> str:
    """Client secrets are random 256-bit strings, so one SHA-256 pass is enough; the store never holds the secret."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Registration:
    client: Client
    secret: str


class ClientRegistry:
    def __init__(self, store: Store, secret_store: SecretStore) -> None:
        self._store = store
        self._secrets = secret_store
        self._clients: dict[str, tuple[float, Client | None]] = {}
        self._directories: dict[str, tuple[float, Directory | None]] = {}

    async def register(
        self, directory: str, networks: list[str], *, client_id: str | None = None, secret: str | None = None
    ) -> Registration:
        """Create a client for ``directory`` with a fresh secret (or the given one, for the seeded dev client)."""
        client = Client(
            id=client_id or str(uuid.uuid4()),
            directory=directory,
            networks=validate_networks(networks),
            created=now(),
        )
        secret = secret or secrets.token_urlsafe(32)
        await self._secrets.add_version(client_secret_name(client.id), digest(secret))
        await self._store.put_client(client)
        return Registration(client, secret)

    async def rotate_secret(self, client_id: str) -> str:
        """Add a new secret; earlier versions stay valid until they are disabled or expire."""
        secret = secrets.token_urlsafe(32)
        await self._secrets.add_version(client_secret_name(client_id), digest(secret))
        return secret

    async def client(self, client_id: str) -> Client | None:
        cached = self._clients.get(client_id)
        if cached and time.monotonic() - cached[0] < CLIENT_CACHE_SECONDS:
            return cached[1]
        client = await self._store.get_client(client_id)
        self._clients[client_id] = (time.monotonic(), client)
        return client

    async def directory(self, directory_id: str) -> Directory | None:
        cached = self._directories.get(directory_id)
        if cached and time.monotonic() - cached[0] < CLIENT_CACHE_SECONDS:
            return cached[1]
        directory = await self._store.get_directory(directory_id)
        self._directories[directory_id] = (time.monotonic(), directory)
        return directory

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
        return Caller(client.id, directory)
