"""SecretStore.set_expiry on the memory, file and Key Vault stores (the Key Vault one through the real SDK)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from scim.secrets import FileSecretStore, KeyVaultSecretStore, MemorySecretStore, SecretStore, client_secret_name
from tests.doubles.keyvault import FakeCredential, KeyVaultDouble, make_self_signed_cert

NAME = client_secret_name("5f0c2a1e-9b7d-4c3e-8a6f-1d2e3f4a5b6c")
TOKEN = "fake-access-token-for-the-double"


class ExpiringDouble(KeyVaultDouble):
    """The shared double, plus Key Vault's handling of `exp` in a PATCH of a version's attributes."""

    def _route(self, request: web.Request, parts: list[str], body: dict[str, Any]) -> web.Response:
        attributes = body.get("attributes") or {}
        if request.method == "PATCH" and len(parts) == 3 and "exp" in attributes:
            secret = self._secrets.get(parts[1].lower())
            version = self._find(secret, parts[2]) if secret is not None else None
            if version is not None:
                version.exp = attributes["exp"]
        return super()._route(request, parts, body)


@pytest.fixture(params=["memory", "file", "keyvault"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SecretStore]:
    if request.param == "memory":
        yield MemorySecretStore()
        return
    if request.param == "file":
        yield FileSecretStore(tmp_path / "secrets.json")
        return
    cert, key = make_self_signed_cert(tmp_path)
    double = ExpiringDouble(token=TOKEN)
    await double.start(cert, key)
    kwargs = {"connection_verify": str(cert), "verify_challenge_resource": False}
    vault = KeyVaultSecretStore(double.url, FakeCredential(TOKEN), client_kwargs=kwargs)
    yield vault
    await vault.close()
    await double.stop()


async def test_set_expiry_moves_one_version(store: SecretStore) -> None:
    old = await store.add_version(NAME, "old")
    new = await store.add_version(NAME, "new")
    soon = datetime.now(UTC) + timedelta(days=7)
    assert await store.set_expiry(NAME, old.version, soon)
    found = {v.version: v for v in await store.versions(NAME)}
    expires = found[old.version].expires_on
    assert expires is not None and abs(expires - soon) <= timedelta(seconds=1)
    assert found[new.version].expires_on is None
    assert await store.set_expiry(NAME, old.version, datetime.now(UTC) - timedelta(seconds=5))
    assert [v.version for v in await store.versions(NAME)] == [new.version]  # expired versions are not live


async def test_set_expiry_on_missing_things_is_false(store: SecretStore) -> None:
    when = datetime.now(UTC) + timedelta(days=1)
    assert await store.set_expiry(NAME, "0" * 32, when) is False
    await store.add_version(NAME, "v")
    assert await store.set_expiry(NAME, "0" * 32, when) is False
    assert await store.set_expiry(NAME, "", when) is False


async def test_set_expiry_needs_an_aware_datetime(store: SecretStore) -> None:
    made = await store.add_version(NAME, "v")
    with pytest.raises(ValueError, match="timezone"):
        await store.set_expiry(NAME, made.version, datetime.now() + timedelta(days=1))
