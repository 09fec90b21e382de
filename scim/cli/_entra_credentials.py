"""The credentials `scimctl entra setup` saves in Entra: our client for the app, and its token or secret.

The client's id is the enterprise application's service principal id, so a re-run finds it. Entra never
reads secrets back, so which mode is in force is read from our side: a client holding a live long-lived
token is in Secret Token mode, one without is in OAuth mode. Graph work runs in a worker thread; each
method here hops back to the event loop that owns the store.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

from scim.app import App
from scim.entra.setup import Issued
from scim.service.admin import AdminError, AdminService

T = TypeVar("T")


def _tell(text: str) -> None:
    print(f"scimctl: {text}", file=sys.stderr, flush=True)


class EntraCredentials:
    """Issues Entra's credentials for one directory; built on the loop, called from the Graph thread."""

    def __init__(self, app: App, admin: AdminService, directory: str, *, mode: str, networks: list[str]) -> None:
        self._app, self._admin, self._directory = app, admin, directory
        self._mode, self._networks = mode, networks
        self._loop = asyncio.get_running_loop()

    def _on_loop(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def saved_mode(self, sp_id: str) -> str | None:
        return self._on_loop(self._saved_mode(sp_id))

    def issue(self, sp_id: str) -> Issued:
        return self._on_loop(self._issue(sp_id))

    async def _saved_mode(self, sp_id: str) -> str | None:
        try:
            await self._admin.client(sp_id)
        except AdminError:
            return None
        return "token" if await self._admin.keys.long_lived(sp_id) else "oauth"

    async def _client(self, sp_id: str) -> str | None:
        """Our client for the app, created when missing; returns the new client's secret, else None."""
        try:
            client = await self._admin.client(sp_id)
        except AdminError:
            registration = await self._admin.create_client(self._directory, self._networks, client_id=sp_id)
            _tell(f"created client {sp_id} in {self._directory!r} for Entra (networks: {' '.join(self._networks)})")
            if "any" in self._networks:
                _tell(
                    "it accepts calls from any address: limit it to Entra's AzureActiveDirectory service-tag ranges "
                    f"with `scimctl client set-networks --client {sp_id} <CIDR>...` (docs/deploy.md)"
                )
            return registration.secret
        if client.directory != self._directory:
            raise AdminError(f"Client {sp_id} belongs to directory {client.directory!r}, not {self._directory!r}.")
        return None

    async def _revoke_tokens(self, sp_id: str, *, keep: str = "") -> None:
        for version in await self._admin.keys.long_lived(sp_id):
            if version.version != keep:
                await self._admin.revoke_token(sp_id, version.version)

    async def _issue(self, sp_id: str) -> Issued:
        was = await self._saved_mode(sp_id)
        secret = await self._client(sp_id)
        base = [{"key": "BaseAddress", "value": self._app.settings.base_url}]
        if self._mode == "oauth":
            if secret is None:  # replacing saved OAuth settings, or leaving token mode: the old secret stops now
                secret = (await self._admin.rotate_secret(sp_id, expire_old_in_days=0)).secret
            keys = [
                {"key": "AuthenticationType", "value": "OAuth2ClientCredentialsGrant"},
                *base,
                {"key": "Oauth2ClientId", "value": sp_id},
                {"key": "Oauth2ClientSecret", "value": secret},
                {"key": "Oauth2TokenExchangeUri", "value": self._app.settings.token_url},
            ]
            return Issued(keys, lambda: self._on_loop(self._revoke_tokens(sp_id)))
        issued = await self._admin.issue_token(sp_id, long_lived=True)

        async def retire() -> None:  # only the token just saved in Entra stays valid
            await self._revoke_tokens(sp_id, keep=issued.token_id)
            if was == "oauth":  # the client secret Entra held for OAuth stops working too
                await self._admin.rotate_secret(sp_id, expire_old_in_days=0)

        return Issued([*base, {"key": "SecretToken", "value": issued.token}], lambda: self._on_loop(retire()))
