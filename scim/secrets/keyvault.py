"""Key Vault secret store: the async SecretClient behind a per-name TTL cache.

azure.keyvault and azure.identity are imported on first use, so importing this module costs nothing
at cold start (the Functions host gives an app 30 s to initialise; docs/architecture.md "Budgets").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scim.errors import StoreUnavailable
from scim.secrets._base import SecretStoreRefused, SecretVersion, check_expiry, check_name, is_version_id, live
from scim.telemetry import client_span

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential
    from azure.keyvault.secrets import SecretProperties
    from azure.keyvault.secrets.aio import SecretClient

log = logging.getLogger(__name__)

# A SCIM request waits on these calls: fail within seconds and let Entra retry the 503, instead of the SDK
# defaults (300 s connect and read timeouts, 10 retries with up to 120 s backoff).
_CLIENT_DEFAULTS: dict[str, Any] = {
    "connection_timeout": 5.0,
    "read_timeout": 10.0,
    "retry_total": 2,
    "retry_backoff_factor": 0.4,
    "retry_backoff_max": 2,
}


class _Missing(Exception):
    """Key Vault answered 404: the secret or version does not exist (or is soft-deleted)."""


class KeyVaultSecretStore:
    """Secrets in Azure Key Vault; versions() is cached per name for ``cache_ttl`` seconds (0 disables it)."""

    def __init__(
        self,
        vault_url: str,
        credential: AsyncTokenCredential | None = None,
        *,
        cache_ttl: float = 60.0,
        client_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if not vault_url.startswith("https://"):
            # The SDK refuses bearer tokens over plain http; say so now rather than on the first request.
            raise ValueError("vault_url must be an https:// URL")
        kwargs = {**_CLIENT_DEFAULTS, **(client_kwargs or {})}
        if kwargs.get("logging_enable"):
            raise ValueError("logging_enable makes the SDK log bodies, and Key Vault bodies hold secret values")
        self._url = vault_url
        self._credential = credential
        self._owns_credential = credential is None
        self._kwargs = kwargs
        self._ttl = cache_ttl
        self._client: SecretClient | None = None
        self._cache: dict[str, tuple[float, list[SecretVersion]]] = {}
        self._generation: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def versions(self, name: str) -> list[SecretVersion]:
        """Enabled, unexpired versions, newest first; [] when the secret does not exist.

        Uncached: one list call per 25 versions, then one get per usable version, in parallel.
        """
        key = check_name(name)
        found = self._fresh(key)
        if found is None:
            # A cold instance often gets a burst of requests: concurrent misses for one name share one fetch.
            async with self._locks.setdefault(key, asyncio.Lock()):
                found = self._fresh(key)
                if found is None:
                    generation = self._generation.get(key, 0)
                    found = await self._fetch(name)
                    # A write during the fetch bumped the generation: what we read may predate it, so don't keep it.
                    if self._ttl > 0 and self._generation.get(key, 0) == generation:
                        self._cache[key] = (time.monotonic() + self._ttl, found)
        return live(found)  # filter again: a cached version may have expired since it was fetched

    async def add_version(self, name: str, value: str, *, expires_on: datetime | None = None) -> SecretVersion:
        """Set a new version (Key Vault makes it the current one) and return it."""
        key, expires = check_name(name), check_expiry(expires_on)
        client = self._get_client()
        try:
            with _mapped(name):
                secret = await client.set_secret(name, value, expires_on=expires)
        finally:
            self._invalidate(key)  # even on a timeout: the vault may have applied the write
        props = secret.properties
        enabled = True if props.enabled is None else props.enabled
        created = props.created_on or datetime.now(UTC)
        return SecretVersion(props.version or "", value, created, props.expires_on, enabled)

    async def disable_version(self, name: str, version: str) -> bool:
        """Disable one version; False when the secret or the version does not exist."""
        return await self._update_version(name, version, enabled=False)

    async def set_expiry(self, name: str, version: str, expires_on: datetime) -> bool:
        """Set one version's expiry attribute; False when the secret or the version does not exist."""
        return await self._update_version(name, version, expires_on=check_expiry(expires_on))

    async def _update_version(self, name: str, version: str, **attributes: Any) -> bool:
        """Change one version's attributes; False when the secret or the version does not exist."""
        key = check_name(name)
        if not is_version_id(version):
            return False  # an empty version would address the current version in the REST path
        client = self._get_client()
        try:
            with _mapped(name):
                await client.update_secret_properties(name, version, **attributes)
        except _Missing:
            return False
        finally:
            self._invalidate(key)
        return True

    async def delete(self, name: str) -> bool:
        """Soft-delete every version (the vault keeps them for its retention period); False when absent.

        The async client's delete_secret is the sync begin_delete_secret: it polls until the deletion completes.
        """
        key = check_name(name)
        client = self._get_client()
        try:
            with _mapped(name):
                await client.delete_secret(name)
        except _Missing:
            return False
        finally:
            self._invalidate(key)
        return True

    async def close(self) -> None:
        """Close the client's connections, and the credential when this store created it."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()
        if self._owns_credential and self._credential is not None:
            credential, self._credential = self._credential, None
            await credential.close()

    def _get_client(self) -> SecretClient:
        if self._client is None:
            from azure.keyvault.secrets.aio import SecretClient  # lazy: import-time budget

            if self._credential is None:
                from azure.identity.aio import DefaultAzureCredential  # lazy, as above

                self._credential = DefaultAzureCredential()
            self._client = SecretClient(self._url, self._credential, **self._kwargs)
        return self._client

    def _fresh(self, key: str) -> list[SecretVersion] | None:
        hit = self._cache.get(key)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def _invalidate(self, key: str) -> None:
        self._generation[key] = self._generation.get(key, 0) + 1
        self._cache.pop(key, None)

    async def _fetch(self, name: str) -> list[SecretVersion]:
        client = self._get_client()
        try:
            with _mapped(name):
                listed = [p async for p in client.list_properties_of_secret_versions(name)]
        except _Missing:
            return []
        now = datetime.now(UTC)
        usable = [p for p in listed if _usable(p, now)]
        fetched = await asyncio.gather(*(self._value(client, name, p) for p in usable), return_exceptions=True)
        for outcome in fetched:
            if isinstance(outcome, BaseException):
                raise outcome
        found = [v for v in fetched if isinstance(v, SecretVersion)]
        log.debug("secret %s: %d versions listed, %d usable", name, len(listed), len(found))
        return found

    async def _value(self, client: SecretClient, name: str, props: SecretProperties) -> SecretVersion | None:
        try:
            with _mapped(name):
                secret = await client.get_secret(name, props.version)
        except _Missing:
            return None  # deleted between the list and the get
        if secret.value is None or props.created_on is None or props.version is None:
            return None
        return SecretVersion(props.version, secret.value, props.created_on, props.expires_on, enabled=True)


def _usable(props: SecretProperties, now: datetime) -> bool:
    # Key Vault lists disabled, expired and not-yet-valid versions too; a get on a disabled one answers 403.
    return (
        bool(props.enabled and props.version)
        and (props.expires_on is None or props.expires_on > now)
        and (props.not_before is None or props.not_before <= now)
    )


@contextlib.contextmanager
def _mapped(name: str) -> Iterator[None]:
    """Turn SDK errors into store errors; ``from None`` drops the SDK text, which can quote the request."""
    from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError

    try:
        # Only calls that reach Key Vault get a span; cache hits cost nothing.
        with client_span("keyvault.secret"):
            yield
    except ResourceNotFoundError:
        raise _Missing from None
    except HttpResponseError as exc:
        status = exc.status_code
        if status is None or status in (408, 429) or status >= 500:
            raise StoreUnavailable(f"Key Vault unavailable for secret {name!r} ({status})") from None
        raise SecretStoreRefused(name, status, exc.error.code if exc.error else None) from None
    except (AzureError, TimeoutError) as exc:
        # ServiceRequestError (connect), ServiceResponseError (read), their *TimeoutError kinds, credential failures.
        raise StoreUnavailable(f"Key Vault unreachable for secret {name!r} ({type(exc).__name__})") from None
