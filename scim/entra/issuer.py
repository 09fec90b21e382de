"""The credentials `scimctl entra setup|rotate` put in Entra: our client for the app, and its token or secret.

The client's id is the enterprise application's service principal id, so a re-run finds it. Entra never
reads secrets back, so which mode is in force is read from our side: a federated client is in federation
mode; otherwise the newest credential says it (a long-lived token: Secret Token; a client secret: OAuth).
A new credential is added beside the old one; the old one gets an end (after the overlap) only when Entra
holds and has checked the new one (scim.entra.credentials). Graph work runs in a worker thread; each method
here hops back to the event loop that owns the store.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from scim.auth.clients import ClientRegistry, NewClient
from scim.auth.tokens import TokenService
from scim.config import Settings
from scim.entra.credentials import Issued
from scim.entra.modes import AuthMode, SendMode
from scim.model import Federation
from scim.service.admin import AdminService
from scim.service.directories import AdminError
from scim.store.base import Store

T = TypeVar("T")
NOTHING_TO_RETIRE = "nothing older to retire"


class Host(Protocol):
    """The parts of the running app (scim.app.App) that issue and rotate Entra's credentials."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> Store: ...

    @property
    def clients(self) -> ClientRegistry: ...

    @property
    def tokens(self) -> TokenService: ...


def _tell(text: str) -> None:
    print(f"scimctl: {text}", file=sys.stderr, flush=True)


def _when(after: timedelta) -> str:
    hours = after.total_seconds() / 3600
    return "now" if hours <= 0 else f"in {hours:g} h"


class EntraCredentials:
    """Issues Entra's credentials for one directory; built on the loop, called from the Graph thread."""

    def __init__(
        self,
        app: Host,
        admin: AdminService,
        directory: str,
        *,
        mode: AuthMode,
        networks: list[str],
        overlap: timedelta = timedelta(hours=24),
        send: SendMode | None = "Header",
        federation: Federation | None = None,
    ) -> None:
        self._app, self._admin, self._directory = app, admin, directory
        self.mode, self._networks, self._overlap, self._send = mode, networks, overlap, send
        self._federation = federation
        self._loop = asyncio.get_running_loop()

    def _on_loop(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def saved_mode(self, sp_id: str) -> AuthMode | None:
        return self._on_loop(self._saved_mode(sp_id))

    def issue(self, sp_id: str) -> Issued:
        return self._on_loop(self._issue(sp_id))

    async def _saved_mode(self, sp_id: str) -> AuthMode | None:
        try:
            client = await self._admin.client(sp_id)
        except AdminError:
            return None
        if client.federation is not None:
            return "federated"
        # During an overlap both kinds live; the newest credential is the one Entra was given.
        tokens = await self._admin.keys.long_lived(sp_id)
        secrets = await self._app.clients.secret_versions(sp_id)
        if tokens and (not secrets or max(t.created for t in tokens) >= max(s.created for s in secrets)):
            return "secret-token"
        return "client-credentials"

    async def _client(self, sp_id: str) -> tuple[str, str] | None:
        """Our client for the app, created when missing: (its first secret, version) when new, else None."""
        try:
            client = await self._admin.client(sp_id)
        except AdminError:
            federation = self._federation if self.mode == "federated" else None
            if self.mode == "federated" and federation is None:
                raise AdminError(
                    "--auth federated needs --federated-tenant, --federated-audience and --federated-subject "
                    "(the values on the app's Connectivity page, Workload Identity Federation)"
                ) from None
            new = NewClient(self._directory, self._networks, client_id=sp_id, federation=federation)
            registration = await self._admin.create_client(new)
            _tell(f"created client {sp_id} in {self._directory!r} for Entra (networks: {' '.join(self._networks)})")
            if "any" in self._networks:
                _tell(
                    "it accepts calls from any address: limit it to Entra's AzureActiveDirectory service-tag ranges "
                    f"with `scimctl client set-networks --client {sp_id} <CIDR>...` (docs/deploy.md)"
                )
            if not registration.secret:
                return None
            versions = await self._app.clients.secret_versions(sp_id)
            return registration.secret, versions[0].version
        if client.directory != self._directory:
            raise AdminError(f"Client {sp_id} belongs to directory {client.directory!r}, not {self._directory!r}.")
        return None

    async def _retire(self, sp_id: str, *, secret: str | None, token: str | None) -> str:
        """End every secret but ``secret`` and every long-lived token but ``token`` after the overlap."""
        secrets = await self._admin.retire_secrets(sp_id, keep=secret or "", after=self._overlap)
        tokens = await self._admin.keys.retire_long_lived(sp_id, keep=token or "", after=self._overlap)
        if not secrets and not tokens:
            return NOTHING_TO_RETIRE
        parts = [f"{secrets} older client secret(s)" if secrets else "", f"{tokens} older token(s)" if tokens else ""]
        return f"{' and '.join(p for p in parts if p)} stop working {_when(self._overlap)}"

    async def _issue(self, sp_id: str) -> Issued:
        made = await self._client(sp_id)
        base = self._app.settings.base_url
        if self.mode == "federated":
            manual = (
                "Graph cannot save workload identity federation: on the app's Provisioning > Connectivity page "
                f"enter Tenant URL {base}, Token Endpoint {self._app.settings.token_url}, Client Identifier {sp_id}"
            )
            return Issued([], lambda: NOTHING_TO_RETIRE, lambda: None, manual=manual)
        if self.mode == "client-credentials":
            secret, version = made or await self._admin.add_secret(sp_id)
            check = [
                {"key": "AuthenticationType", "value": "OAuth2ClientCredentialsGrant"},
                {"key": "BaseAddress", "value": base},
                {"key": "Oauth2ClientId", "value": sp_id},
                {"key": "Oauth2ClientSecret", "value": secret},
                {"key": "Oauth2TokenExchangeUri", "value": self._app.settings.token_url},
            ]
            connectivity = [{"key": p["key"][0].lower() + p["key"][1:], "value": p["value"]} for p in check]
            if self._send is not None:  # unset on a rotation: Entra keeps how it sends them (the PATCH merges)
                connectivity.append({"key": "credentialLocationInRequest", "value": self._send})
            return Issued(
                check,
                lambda: self._on_loop(self._retire(sp_id, secret=version, token=None)),
                lambda: self._on_loop(self._admin.drop_secret(sp_id, version)),
                connectivity=connectivity,
            )
        issued = await self._admin.issue_token(sp_id, long_lived=True)
        return Issued(
            [{"key": "BaseAddress", "value": base}, {"key": "SecretToken", "value": issued.token}],
            lambda: self._on_loop(self._retire(sp_id, secret=None, token=issued.token_id)),
            lambda: self._on_loop(self._admin.revoke_token(sp_id, issued.token_id)),
        )
