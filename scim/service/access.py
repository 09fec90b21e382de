"""What an admin does about access through scimctl: clients, their secrets, and the tokens issued to them."""

from __future__ import annotations

from datetime import timedelta
from typing import Unpack

from scim.auth.clients import SECRET_LIFETIME, ClientChange, ClientRegistry, NewClient, Registration
from scim.auth.keyring import KeyRing
from scim.auth.tokens import DEFAULT_TTL, MAX_TTL, MIN_TTL, IssuedToken, TokenService
from scim.model import Client
from scim.service.directories import AdminError, DirectoryAdmin
from scim.store.base import Store


class AccessAdmin(DirectoryAdmin):
    """Clients of a directory that exists, their secrets, and tokens issued to them directly."""

    def __init__(
        self, store: Store, clients: ClientRegistry, tokens: TokenService, *, queue_prefix: str = "scim"
    ) -> None:
        super().__init__(store, queue_prefix=queue_prefix)
        self._clients = clients
        self._tokens = tokens
        self.keys: KeyRing = tokens.keyring()

    async def create_client(self, new: NewClient, *, secret_days: int | None = None) -> Registration:
        """Register ``new`` in a directory that exists; ``secret_days`` None is the default lifetime, 0 no expiry."""
        await self.require_directory(new.directory)
        await self._tokens.ensure_signing_key()  # a first client on a fresh store can get tokens at once
        # secret_days=0 means a secret that never expires (not recommended: Entra's gallery guidance is 1-3 years).
        lifetime = SECRET_LIFETIME if secret_days is None else (timedelta(days=secret_days) if secret_days else None)
        try:
            return await self._clients.register(new, secret_lifetime=lifetime)
        except ValueError as exc:
            raise AdminError(str(exc)) from None

    async def client(self, client_id: str) -> Client:
        try:
            return await self._clients.require(client_id)
        except ValueError as exc:
            raise AdminError(str(exc)) from None

    async def rotate_secret(self, client_id: str, *, expire_old_in_days: float) -> Registration:
        if expire_old_in_days < 0:
            raise AdminError("--expire-old-in-days cannot be negative.")
        try:
            return await self._clients.rotate_secret(client_id, expire_old_in=timedelta(days=expire_old_in_days))
        except ValueError as exc:
            raise AdminError(str(exc)) from None

    async def add_secret(self, client_id: str) -> tuple[str, str]:
        """A new client secret beside the old ones (rotation): (secret, version)."""
        try:
            return await self._clients.add_secret(client_id)
        except ValueError as exc:
            raise AdminError(str(exc)) from None

    async def retire_secrets(self, client_id: str, *, keep: str, after: timedelta) -> int:
        return await self._clients.retire_secrets(client_id, keep=keep, after=after)

    async def drop_secret(self, client_id: str, version: str) -> None:
        await self._clients.drop_secret(client_id, version)

    async def update_client(self, client_id: str, **change: Unpack[ClientChange]) -> Client:
        try:
            return await self._clients.update(client_id, **change)
        except ValueError as exc:
            raise AdminError(str(exc)) from None

    async def delete_client(self, client_id: str) -> None:
        if not await self._clients.delete(client_id):
            raise AdminError(f"Client {client_id!r} does not exist.")

    # Tokens -----------------------------------------------------------------------------------
    async def issue_token(self, client_id: str, *, ttl: int = DEFAULT_TTL, long_lived: bool = False) -> IssuedToken:
        """A token for a client, issued by the admin directly (the step the senhasegura guide does with Postman)."""
        client = await self.client(client_id)
        if client.disabled:
            raise AdminError(f"Client {client_id!r} is disabled; `scimctl client enable` it first.")
        if long_lived:
            return await self._tokens.issue_long_lived(client.id, client.directory, read_only=client.read_only)
        if not MIN_TTL <= ttl <= MAX_TTL:
            raise AdminError(f"--ttl must be between {MIN_TTL // 60} and {MAX_TTL // 60} minutes.")
        await self._tokens.ensure_signing_key()
        token, expires_in = await self._tokens.issue(client.id, client.directory, ttl=ttl, read_only=client.read_only)
        return IssuedToken(token, expires_in, "")

    async def revoke_token(self, client_id: str, token_id: str) -> None:
        await self.client(client_id)
        live = {v.version for v in await self.keys.long_lived(client_id)}
        if token_id not in live or not await self.keys.revoke(client_id, token_id):
            raise AdminError(f"Client {client_id!r} has no long-lived token {token_id!r}; see `scimctl token list`.")
