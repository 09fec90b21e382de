"""KeyVaultSecretStore through the real async SecretClient against tests/doubles/keyvault.py over HTTPS."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scim.errors import StoreUnavailable
from scim.secrets import SIGNING_KEY_SECRET, KeyVaultSecretStore, SecretStoreRefused
from tests.doubles.keyvault import FakeCredential, KeyVaultDouble, make_self_signed_cert
from tests.unit.test_secrets import CLIENT, SecretStoreContract

TOKEN = "fake-access-token-for-the-double"
StoreFactory = Callable[..., KeyVaultSecretStore]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_self_signed_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture
async def vault(tls: tuple[Path, Path]) -> AsyncIterator[KeyVaultDouble]:
    double = KeyVaultDouble(token=TOKEN)
    await double.start(*tls)
    yield double
    await double.stop()


@pytest.fixture
async def make_store(vault: KeyVaultDouble, tls: tuple[Path, Path]) -> AsyncIterator[StoreFactory]:
    made: list[KeyVaultSecretStore] = []

    def factory(
        *, url: str | None = None, token: str = TOKEN, cache_ttl: float = 60.0, **kwargs: Any
    ) -> KeyVaultSecretStore:
        # The two conditions that let the real client talk to the double (docs/reference/azure.md §2): trust our
        # certificate, and accept a challenge resource that is not the vault's own domain.
        client_kwargs = {"connection_verify": str(tls[0]), "verify_challenge_resource": False, **kwargs}
        store = KeyVaultSecretStore(
            url or vault.url, FakeCredential(token), cache_ttl=cache_ttl, client_kwargs=client_kwargs
        )
        made.append(store)
        return store

    yield factory
    for store in made:
        await store.close()


@pytest.fixture
def store(make_store: StoreFactory) -> KeyVaultSecretStore:
    return make_store()


class TestKeyVaultContract(SecretStoreContract):
    pass


async def test_challenge_then_bearer_token(vault: KeyVaultDouble, tls: tuple[Path, Path]) -> None:
    credential = FakeCredential(TOKEN)
    kwargs = {"connection_verify": str(tls[0]), "verify_challenge_resource": False}
    store = KeyVaultSecretStore(vault.url, credential, client_kwargs=kwargs)
    await store.add_version(CLIENT, "v")
    await store.versions(CLIENT)
    await store.close()
    assert not credential.closed  # the caller's credential is the caller's to close
    first, *rest = vault.requests
    assert (first.method, first.authorized) == ("PUT", False)
    assert rest and all(r.authorized for r in rest)
    assert credential.requests == [(("https://vault.azure.net/.default",), vault.tenant_id)]


async def test_wrong_token_is_refused_without_leaking_it(make_store: StoreFactory, vault: KeyVaultDouble) -> None:
    store = make_store(token="not-the-right-token")
    with pytest.raises(SecretStoreRefused) as info:
        await store.versions(CLIENT)
    assert info.value.status == 401 and "not-the-right-token" not in str(info.value)
    assert not vault.served()


async def _seed(store: KeyVaultSecretStore) -> None:
    await store.add_version(CLIENT, "expired", expires_on=datetime.now(UTC) - timedelta(minutes=5))
    disabled = await store.add_version(CLIENT, "disabled")
    await store.disable_version(CLIENT, disabled.version)
    await store.add_version(CLIENT, "previous")
    await store.add_version(CLIENT, "current")


async def test_round_trips_per_versions_call(make_store: StoreFactory, vault: KeyVaultDouble) -> None:
    await _seed(make_store())
    cached, uncached = make_store(), make_store(cache_ttl=0)
    for store, expected in [(cached, [3, 0, 0]), (uncached, [3, 3, 3])]:
        counts = []
        for _ in range(3):
            before = len(vault.served())
            assert [v.value for v in await store.versions(CLIENT)] == ["current", "previous"]
            counts.append(len(vault.served()) - before)
        # Uncached: one list page plus one get per usable version (2 of the 4 versions are usable).
        assert counts == expected


async def test_cache_expires_after_ttl(make_store: StoreFactory, vault: KeyVaultDouble) -> None:
    store = make_store(cache_ttl=0.2)
    await store.add_version(SIGNING_KEY_SECRET, "k")
    await store.versions(SIGNING_KEY_SECRET)
    before = len(vault.served("GET"))
    await store.versions(SIGNING_KEY_SECRET)
    assert len(vault.served("GET")) == before
    await asyncio.sleep(0.25)
    await store.versions(SIGNING_KEY_SECRET)
    assert len(vault.served("GET")) == before + 2


async def test_concurrent_cold_calls_share_one_fetch(make_store: StoreFactory, vault: KeyVaultDouble) -> None:
    await make_store().add_version(SIGNING_KEY_SECRET, "k")
    store = make_store()
    before = len(vault.served())
    results = await asyncio.gather(*(store.versions(SIGNING_KEY_SECRET) for _ in range(10)))
    assert all([v.value for v in r] == ["k"] for r in results)
    assert len(vault.served()) - before == 2


async def test_other_instances_see_a_rotation_within_the_ttl(make_store: StoreFactory) -> None:
    writer, reader = make_store(), make_store(cache_ttl=0.2)
    await writer.add_version(SIGNING_KEY_SECRET, "old")
    assert [v.value for v in await reader.versions(SIGNING_KEY_SECRET)] == ["old"]
    await writer.add_version(SIGNING_KEY_SECRET, "new")
    # Each instance caches on its own: a new key is seen by others at most cache_ttl later, which is why
    # rotation keeps the old version enabled for longer than the TTL.
    assert [v.value for v in await reader.versions(SIGNING_KEY_SECRET)] == ["old"]
    await asyncio.sleep(0.25)
    assert [v.value for v in await reader.versions(SIGNING_KEY_SECRET)] == ["new", "old"]


async def test_cached_version_is_dropped_when_it_expires(make_store: StoreFactory) -> None:
    store = make_store(cache_ttl=60)
    expires = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0)  # Key Vault keeps whole seconds
    await store.add_version(CLIENT, "short", expires_on=expires)
    await store.add_version(CLIENT, "long")
    assert [v.value for v in await store.versions(CLIENT)] == ["long", "short"]
    await asyncio.sleep((expires - datetime.now(UTC)).total_seconds() + 0.05)
    assert [v.value for v in await store.versions(CLIENT)] == ["long"]


async def test_list_follows_next_link(make_store: StoreFactory, vault: KeyVaultDouble) -> None:
    writer = make_store()
    for i in range(30):
        await writer.add_version(SIGNING_KEY_SECRET, f"k{i}")
    before = len(vault.served())
    found = await make_store().versions(SIGNING_KEY_SECRET)
    assert [v.value for v in found] == [f"k{i}" for i in reversed(range(30))]
    lists = [r for r in vault.served()[before:] if r.path.endswith("/versions")]
    assert len(lists) == 2 and len(vault.served()) - before == 32


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_throttling_and_server_errors_are_unavailable(
    make_store: StoreFactory, vault: KeyVaultDouble, status: int
) -> None:
    store = make_store(retry_total=2, retry_backoff_factor=0)
    await store.add_version(CLIENT, "v")
    vault.fail_next(2, status, retry_after="0")
    assert [v.value for v in await store.versions(CLIENT)] == ["v"]  # the SDK's own retries absorb two faults
    fresh = make_store(retry_total=2, retry_backoff_factor=0)
    vault.fail_next(3, status, retry_after="0")
    with pytest.raises(StoreUnavailable) as info:
        await fresh.versions(CLIENT)
    assert not isinstance(info.value, SecretStoreRefused) and info.value.__suppress_context__


async def test_write_failure_is_unavailable_and_quiet(make_store: StoreFactory, vault: KeyVaultDouble) -> None:
    store = make_store(retry_total=0)
    await store.versions(CLIENT)  # finish the challenge first so the fault hits the write itself
    vault.fail_next(1, 503)
    with pytest.raises(StoreUnavailable) as info:
        await store.add_version(CLIENT, "value-that-must-not-leak")
    assert "value-that-must-not-leak" not in str(info.value)
    assert await store.versions(CLIENT) == []


async def test_timeout_is_unavailable(make_store: StoreFactory, vault: KeyVaultDouble) -> None:
    store = make_store(retry_total=0, read_timeout=0.1)
    await store.versions(CLIENT)
    vault.delay_next(1, 0.5)
    with pytest.raises(StoreUnavailable, match="unreachable"):
        await store.versions(SIGNING_KEY_SECRET)


async def test_refused_connection_is_unavailable(make_store: StoreFactory) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        store = make_store(url=f"https://127.0.0.1:{port}", retry_total=0)
        with pytest.raises(StoreUnavailable, match="unreachable"):
            await store.versions(CLIENT)


async def test_set_after_soft_delete_is_refused(store: KeyVaultSecretStore) -> None:
    # Soft delete keeps the name until purge; Key Vault answers 409 to a set on it.
    await store.add_version(CLIENT, "v")
    assert await store.delete(CLIENT) is True
    with pytest.raises(SecretStoreRefused) as info:
        await store.add_version(CLIENT, "again")
    assert (info.value.status, info.value.code) == (409, "Conflict")


@pytest.mark.parametrize("api_version", [None, "7.5", "7.6"])
async def test_api_versions(make_store: StoreFactory, vault: KeyVaultDouble, api_version: str | None) -> None:
    store = make_store(**({"api_version": api_version} if api_version else {}))
    made = await store.add_version(SIGNING_KEY_SECRET, "k")
    assert await store.disable_version(SIGNING_KEY_SECRET, made.version)
    assert await store.versions(SIGNING_KEY_SECRET) == []
    assert {r.api_version for r in vault.requests} == {api_version or "2026-04-01"}


def test_settings_that_would_leak_or_downgrade_are_rejected() -> None:
    with pytest.raises(ValueError, match="https"):
        KeyVaultSecretStore("http://127.0.0.1:1")
    with pytest.raises(ValueError, match="logging_enable"):
        KeyVaultSecretStore("https://kv.vault.azure.net", client_kwargs={"logging_enable": True})


async def test_no_log_record_holds_a_secret_value(
    make_store: StoreFactory, vault: KeyVaultDouble, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    value = "sv-0d1e2f3a4b5c6d7e8f9a"
    store = make_store(retry_total=1, retry_backoff_factor=0)
    made = await store.add_version(CLIENT, value)
    await store.versions(CLIENT)
    vault.fail_next(2, 503)
    with pytest.raises(StoreUnavailable):
        await make_store(retry_total=1, retry_backoff_factor=0).versions(CLIENT)
    await store.disable_version(CLIENT, made.version)
    await store.delete(CLIENT)
    assert any(r.name.startswith("azure.") for r in caplog.records)  # the SDK's loggers were captured
    assert any(r.name == "scim.secrets.keyvault" for r in caplog.records)
    for record in caplog.records:
        assert value not in record.getMessage() and value not in (record.exc_text or "")
    assert value not in caplog.text


async def test_calls_that_reach_key_vault_get_a_span_and_cache_hits_do_not(
    make_store: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from scim import telemetry

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    store = make_store(cache_ttl=60)
    await _seed(store)
    monkeypatch.setattr(telemetry, "_tracer", provider.get_tracer("scim"))
    await store.versions(CLIENT)
    cold = [s.name for s in exporter.get_finished_spans()]
    exporter.clear()
    await store.versions(CLIENT)
    assert cold and set(cold) == {"keyvault.secret"}
    assert exporter.get_finished_spans() == ()
