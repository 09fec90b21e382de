"""Wiring: build the store, secret store and services from Settings, once per process."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, cast

from scim.auth.clients import ClientRegistry
from scim.auth.cursors import Cursors
from scim.auth.entra_issued import EntraIssuedVerifier
from scim.auth.event_keys import EventSigner
from scim.auth.federation import FederationVerifier, JwksCache
from scim.auth.oauth import TokenEndpoint
from scim.auth.tokens import TokenService
from scim.config import Settings, load_settings
from scim.secrets import FileSecretStore, MemorySecretStore, SecretStore
from scim.service.catalog import RoleCatalog
from scim.service.events import EventPolls
from scim.service.groups import GroupService
from scim.service.health_recorder import HealthRecorder
from scim.service.users import UserService
from scim.store.base import OutboxStore, SetLog, Store
from scim.telemetry import Traced

if TYPE_CHECKING:
    from scim.events.relay import Publisher, Relay


@dataclass(slots=True)
class App:
    settings: Settings
    store: Store
    secrets: SecretStore
    users: UserService
    groups: GroupService
    clients: ClientRegistry
    tokens: TokenService
    token_endpoint: TokenEndpoint
    cursors: Cursors
    event_signer: EventSigner
    events: EventPolls
    relay: Relay | None = None  # the change feed, when a queue service is configured
    entra_issued: EntraIssuedVerifier | None = None  # Entra's own token, for clients pinned to a tenant
    health: HealthRecorder | None = None  # the per-directory health record (scimctl status)

    async def close(self) -> None:
        if self.health is not None:
            await self.health.close()
        if self.relay is not None:
            await self.relay.close()
        await self.store.close()
        await self.secrets.close()


def open_store(settings: Settings) -> Store:
    """The configured store; the Azure SDK is imported only when Table Storage is used."""
    if settings.store == "memory":
        from scim.store.memory import MemoryStore

        return MemoryStore()
    from scim.store.tables import TableStore

    if settings.tables_connection_string:
        return TableStore.from_connection_string(settings.tables_connection_string, settings.table_prefix)
    from azure.identity.aio import DefaultAzureCredential

    return TableStore.from_endpoint(settings.tables_endpoint, DefaultAzureCredential(), settings.table_prefix)


def open_secret_store(settings: Settings) -> SecretStore:
    """Key Vault when a vault URL is set; a local file otherwise; memory for throwaway memory-store runs."""
    if settings.keyvault_url:
        from scim.secrets import KeyVaultSecretStore

        return KeyVaultSecretStore(settings.keyvault_url)
    if settings.store == "memory":
        return MemorySecretStore()
    if settings.secrets_file_configured:
        return FileSecretStore(settings.secrets_file)
    return FileSecretStore(
        settings.secrets_file,
        refuse_creation=(
            f"there is no secrets file at {settings.secrets_file}, and neither SCIM_SECRETS_FILE nor SCIM_DATA_DIR is"
            " set, so none is created: a new one would hold a signing key the running service does not know (its"
            " clients would get 401). Set SCIM_SECRETS_FILE to the service's file (the one `make run` prints), or"
            " SCIM_KEYVAULT_URL to its Key Vault"
        ),
    )


def open_relay(
    settings: Settings, store: Store, publisher: Publisher | None = None, signer: EventSigner | None = None
) -> Relay | None:
    """The change feed's relay over the store's outbox, when the feed is on; the queue SDK loads only then.
    With ``signer``, directories that opted in also get signed SETs in their SET log."""
    if publisher is None and not settings.change_feed:
        return None
    from scim.events.relay import Relay
    from scim.events.signed import SetAppender, SetStore

    if publisher is None:
        from scim.events.queue import ChangeQueues

        if settings.queues_connection_string:
            publisher = ChangeQueues.from_connection_string(settings.queues_connection_string, settings.table_prefix)
        else:
            publisher = ChangeQueues.from_endpoint(settings.queues_endpoint, settings.table_prefix)
    sets = None
    if signer is not None:
        sets = SetAppender(cast("SetStore", store), signer, issuer=settings.public_base_url, base_url=settings.base_url)
    relay = Relay(cast("OutboxStore", store), publisher, sets)
    relay.attach()
    return relay


def build_app(
    settings: Settings,
    *,
    store: Store | None = None,
    secret_store: SecretStore | None = None,
    publisher: Publisher | None = None,
) -> App:
    """Services over the given (or configured) stores, each store call traced as a child span."""
    raw_store = store or open_store(settings)
    secret_store = secret_store or open_secret_store(settings)
    signer = EventSigner(secret_store)
    relay = open_relay(settings, raw_store, publisher, signer)
    # A store that reports its own network calls (Table Storage) counts them; otherwise a call is the unit.
    # Only calls that leave the process get a child span: one around a dict lookup tells on-call nothing
    # and cost a fifth of the memory store's CPU per request (bench/load.py --profile).
    own_count = getattr(raw_store, "reports_round_trips", False)
    remote = getattr(raw_store, "remote", False)
    store = cast(Store, Traced(raw_store, "store", spans=remote, counts_round_trips=not own_count))
    # Secret lookups are cache hits on almost every request; Key Vault traces its own network calls.
    clients = ClientRegistry(store, secret_store)
    tokens = TokenService(secret_store, settings.issuer)
    keys = JwksCache()  # one cache of Entra's tenant keys for federation and Entra's own token
    return App(
        settings=settings,
        store=store,
        secrets=secret_store,
        users=UserService(store, RoleCatalog(store), settings.base_url),
        groups=GroupService(store, settings.base_url),
        clients=clients,
        tokens=tokens,
        token_endpoint=TokenEndpoint(
            clients,
            tokens,
            federation=FederationVerifier(settings.entra_jwks_url_template, settings.entra_issuer_template, keys=keys),
        ),
        cursors=Cursors(secret_store),
        event_signer=signer,
        events=EventPolls(cast(SetLog, store), retention=timedelta(days=settings.set_retention_days)),
        relay=relay,
        entra_issued=EntraIssuedVerifier(settings.entra_jwks_url_template, keys),
        health=HealthRecorder(store, instance=settings.instance_id),
    )


_current: App | None = None
_lock = asyncio.Lock()


async def current_app() -> App:
    """The process-wide App, built from the environment on first use (SDK clients are created once, lazily)."""
    global _current  # noqa: PLW0603 - one App per process, built lazily
    if _current is None:
        async with _lock:
            if _current is None:
                _current = build_app(load_settings())
    return _current


def install_app(app: App | None) -> None:
    """Make ``app`` the process-wide App (the local host and tests build their own)."""
    global _current  # noqa: PLW0603 - one App per process, built lazily
    _current = app


def managed_identity_token(scope: str) -> Callable[[], str]:
    """A token source for ``scope`` as this app's managed identity (the Entra rotation timer's Graph sign-in)."""
    from azure.identity import DefaultAzureCredential  # lazy: only the timer's runs pay for it

    credential = DefaultAzureCredential()

    def token() -> str:
        return str(credential.get_token(scope).token)

    return token
