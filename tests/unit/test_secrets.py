"""SecretStore contract on the memory and file stores, plus file-specific behaviour.

``SecretStoreContract`` is reused by tests/store/test_keyvault.py against the Key Vault double.
"""

from __future__ import annotations

import asyncio
import json
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scim.secrets import (
    SIGNING_KEY_SECRET,
    FileSecretStore,
    MemorySecretStore,
    SecretStore,
    SecretVersion,
    client_secret_name,
)

CLIENT = client_secret_name("5f0c2a1e-9b7d-4c3e-8a6f-1d2e3f4a5b6c")


def _close(a: datetime | None, b: datetime) -> bool:
    # Key Vault keeps whole seconds; the local stores keep microseconds.
    return a is not None and abs(a - b) <= timedelta(seconds=1)


class SecretStoreContract:
    """Behaviour every SecretStore has; a subclass supplies the ``store`` fixture."""

    async def test_missing_secret_is_empty_not_an_error(self, store: SecretStore) -> None:
        assert await store.versions(CLIENT) == []
        assert await store.disable_version(CLIENT, "0" * 32) is False
        assert await store.delete(CLIENT) is False

    async def test_versions_newest_first(self, store: SecretStore) -> None:
        added = [await store.add_version(SIGNING_KEY_SECRET, f"key-{i}") for i in range(3)]
        found = await store.versions(SIGNING_KEY_SECRET)
        assert [v.value for v in found] == ["key-2", "key-1", "key-0"]
        assert [v.version for v in found] == [a.version for a in reversed(added)]
        assert len({v.version for v in found}) == 3
        assert all(v.enabled and v.expires_on is None and v.created.utcoffset() == timedelta(0) for v in found)
        assert found[0].created >= found[1].created >= found[2].created

    async def test_add_returns_the_stored_version(self, store: SecretStore) -> None:
        expires = datetime.now(UTC) + timedelta(hours=1)
        made = await store.add_version(CLIENT, "s3cret", expires_on=expires)
        assert made.value == "s3cret" and made.enabled and made.version
        assert _close(made.expires_on, expires)
        assert made.created.utcoffset() == timedelta(0)
        assert abs(made.created - datetime.now(UTC)) < timedelta(minutes=1)
        (found,) = await store.versions(CLIENT)
        assert (found.version, found.value) == (made.version, "s3cret")
        assert _close(found.expires_on, expires)

    async def test_expired_versions_are_hidden(self, store: SecretStore) -> None:
        now = datetime.now(UTC)
        await store.add_version(CLIENT, "old", expires_on=now - timedelta(minutes=1))
        await store.add_version(CLIENT, "current", expires_on=now + timedelta(days=1))
        assert [v.value for v in await store.versions(CLIENT)] == ["current"]

    async def test_disable_hides_one_version(self, store: SecretStore) -> None:
        first = await store.add_version(CLIENT, "first")
        second = await store.add_version(CLIENT, "second")
        assert [v.value for v in await store.versions(CLIENT)] == ["second", "first"]
        assert await store.disable_version(CLIENT, second.version) is True
        assert [v.version for v in await store.versions(CLIENT)] == [first.version]
        assert await store.disable_version(CLIENT, second.version) is True  # already disabled: still exists
        assert await store.disable_version(CLIENT, "f" * 32) is False
        assert await store.disable_version(CLIENT, "") is False
        assert await store.disable_version(CLIENT, "../x") is False

    async def test_delete_removes_every_version(self, store: SecretStore) -> None:
        await store.add_version(CLIENT, "a")
        await store.add_version(CLIENT, "b")
        assert await store.delete(CLIENT) is True
        assert await store.versions(CLIENT) == []
        assert await store.delete(CLIENT) is False

    async def test_reads_see_the_stores_own_writes(self, store: SecretStore) -> None:
        # A caching store must drop its cached answer when it writes, even one that said "no secret".
        assert await store.versions(CLIENT) == []
        made = await store.add_version(CLIENT, "a")
        assert [v.value for v in await store.versions(CLIENT)] == ["a"]
        await store.add_version(CLIENT, "b")
        assert [v.value for v in await store.versions(CLIENT)] == ["b", "a"]
        await store.disable_version(CLIENT, made.version)
        assert [v.value for v in await store.versions(CLIENT)] == ["b"]
        await store.delete(CLIENT)
        assert await store.versions(CLIENT) == []

    async def test_names_are_case_insensitive_and_separate(self, store: SecretStore) -> None:
        await store.add_version("Client-ABC", "v")
        await store.add_version("client-other", "w")
        assert [v.value for v in await store.versions("client-abc")] == ["v"]
        assert [v.value for v in await store.versions("CLIENT-OTHER")] == ["w"]

    @pytest.mark.parametrize("name", ["", "a/b", "a_b", "x" * 128, "client-é"])
    async def test_invalid_names_are_rejected(self, store: SecretStore, name: str) -> None:
        with pytest.raises(ValueError, match="invalid secret name"):
            await store.versions(name)
        with pytest.raises(ValueError, match="invalid secret name"):
            await store.add_version(name, "v")

    async def test_naive_expiry_is_rejected(self, store: SecretStore) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            await store.add_version(CLIENT, "v", expires_on=datetime(2030, 1, 1))  # naive on purpose

    async def test_concurrent_adds_keep_every_version(self, store: SecretStore) -> None:
        made = await asyncio.gather(*(store.add_version(CLIENT, f"v{i}") for i in range(12)))
        found = await store.versions(CLIENT)
        assert sorted(v.value for v in found) == sorted(f"v{i}" for i in range(12))
        assert {v.version for v in found} == {m.version for m in made}


@pytest.fixture(params=["memory", "file"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SecretStore]:
    made: SecretStore = MemorySecretStore() if request.param == "memory" else FileSecretStore(tmp_path / "s.json")
    yield made
    await made.close()


class TestLocalStores(SecretStoreContract):
    pass


def test_value_is_not_in_repr() -> None:
    v = SecretVersion("abc", "hunter2-value", datetime.now(UTC), None, enabled=True)
    assert "hunter2-value" not in repr(v) and "abc" in repr(v)


def test_client_secret_name() -> None:
    assert CLIENT == "client-5f0c2a1e-9b7d-4c3e-8a6f-1d2e3f4a5b6c"
    for bad in ["5F0C2A1E-9B7D-4C3E-8A6F-1D2E3F4A5B6C", "not-a-guid", "5f0c2a1e9b7d4c3e8a6f1d2e3f4a5b6c"]:
        with pytest.raises(ValueError, match="lowercase GUID"):
            client_secret_name(bad)


def test_import_loads_no_azure_sdk() -> None:
    # The Key Vault and identity SDKs load on first use only: cold-start import budget (docs/architecture.md "Budgets").
    code = "import sys, scim.secrets; print(sorted(m for m in sys.modules if m.startswith(('azure', 'msal'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path.cwd())
    assert out.stdout.strip() == "[]"


async def test_file_is_private_and_replaced_atomically(tmp_path: Path) -> None:
    path = tmp_path / "dev" / "secrets.json"
    store = FileSecretStore(path)
    await store.add_version(CLIENT, "v1")
    path.chmod(0o644)  # someone widened it: the next write puts a 0600 file back
    await store.add_version(CLIENT, "v2")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["secrets.json", "secrets.json.lock"]


async def test_file_survives_a_new_instance(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    first = FileSecretStore(path)
    kept = await first.add_version(CLIENT, "kept", expires_on=datetime.now(UTC) + timedelta(days=1))
    hidden = await first.add_version(CLIENT, "hidden")
    await first.disable_version(CLIENT, hidden.version)
    assert await FileSecretStore(path).versions(CLIENT) == [kept]


async def test_two_instances_on_one_file_lose_nothing(tmp_path: Path) -> None:
    # scimctl and the dev host may write the same file at once; each write re-reads under the lock.
    path = tmp_path / "secrets.json"
    a, b = FileSecretStore(path), FileSecretStore(path)
    await asyncio.gather(*(s.add_version(CLIENT, f"{i}") for i in range(10) for s in (a, b)))
    assert len(await FileSecretStore(path).versions(CLIENT)) == 20


async def test_corrupt_file_error_does_not_quote_it(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text('{"secrets": {"client-x": [{"value": "leaked-value"', encoding="utf-8")
    with pytest.raises(ValueError, match="not a valid secret store") as info:
        await FileSecretStore(path).versions("client-x")
    assert "leaked-value" not in str(info.value) and info.value.__suppress_context__


async def test_file_format_is_plain_json(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    made = await FileSecretStore(path).add_version(SIGNING_KEY_SECRET, "k")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["secrets"][SIGNING_KEY_SECRET][0]["version"] == made.version
    assert len(made.version) == 32 and int(made.version, 16) >= 0
