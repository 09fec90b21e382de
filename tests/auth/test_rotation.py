"""Secrets and signing keys rotated while requests run: no valid request is refused, revoked things stop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from scim.app import App, build_app, install_app
from scim.auth import keyring
from scim.auth.clients import NewClient
from scim.config import load_settings
from scim.secrets import SIGNING_KEY_SECRET, FileSecretStore, MemorySecretStore, SecretStore
from scim.service.admin import AdminService
from scim.service.directories import AdminError
from scim.store.memory import MemoryStore
from tests.auth.helpers import get_token, token_request
from tests.support.app import BASE, Client

USERS = "/scim/v2/Users"


@pytest.fixture(params=["memory", "file"])
async def rig(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[App, AdminService, str, str]]:
    """An App on the memory store with a memory or file secret store, one directory and one client."""
    secrets: SecretStore = MemorySecretStore() if request.param == "memory" else FileSecretStore(tmp_path / "s.json")
    app = build_app(load_settings({"SCIM_PUBLIC_BASE_URL": BASE}), store=MemoryStore(), secret_store=secrets)
    admin = AdminService(app.store, app.clients, app.tokens)
    await app.tokens.ensure_signing_key()
    await admin.ensure_directory("dev")
    registration = await admin.create_client(NewClient("dev", ["any"]))
    install_app(app)
    yield app, admin, registration.client.id, registration.secret
    install_app(None)
    await app.close()


async def test_rotations_while_requests_run(
    rig: tuple[App, AdminService, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, admin, client_id, first_secret = rig
    # New keys sign at once, so tokens signed with several keys are in flight together.
    monkeypatch.setattr(keyring, "KEY_PROPAGATION_SECONDS", 0)
    current = {"secret": first_secret}
    refused: list[str] = []
    done = asyncio.Event()
    served = 0

    async def worker() -> None:
        nonlocal served
        http = Client(None)
        while not done.is_set():
            secret = current["secret"]
            reply = await token_request(http, client_id, secret)
            if reply.status != 200:
                refused.append(f"token {reply.status} {reply.body!r}")
                continue
            http.token = reply.json["access_token"]
            for _ in range(3):
                answer = await http.get(USERS)
                if answer.status != 200:
                    refused.append(f"scim {answer.status} {answer.body!r}")
                served += 1
                await asyncio.sleep(0)

    async def rotator() -> None:
        for _ in range(5):
            await asyncio.sleep(0.02)
            await admin.keys.rotate()
            await asyncio.sleep(0.02)
            # The previous secret stays valid for a day, so a worker holding it is never refused.
            registration = await admin.rotate_secret(client_id, expire_old_in_days=1)
            current["secret"] = registration.secret
            # Retiring with the default floor cuts no live token.
            assert await admin.keys.retire(timedelta(hours=7)) == []
        await asyncio.sleep(0.02)
        done.set()

    await asyncio.gather(rotator(), *(worker() for _ in range(8)))
    assert refused == []
    assert served > 50
    assert len(await app.secrets.versions(SIGNING_KEY_SECRET)) == 6
    assert len(await app.clients.secret_versions(client_id)) == 2  # the new secret and the previous one


async def test_secret_rotation_limits_and_expiry(rig: tuple[App, AdminService, str, str]) -> None:
    app, admin, client_id, first = rig
    second = (await admin.rotate_secret(client_id, expire_old_in_days=7)).secret
    versions = await app.clients.secret_versions(client_id)
    assert len(versions) == 2
    expires = versions[1].expires_on
    assert expires is not None
    assert abs(expires - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=1)
    for secret in (first, second):
        assert (await token_request(Client(None), client_id, secret)).status == 200
    third = (await admin.rotate_secret(client_id, expire_old_in_days=7)).secret
    # Two active at most: the first secret is disabled by the second rotation.
    assert (await token_request(Client(None), client_id, first)).status == 401
    assert (await token_request(Client(None), client_id, second)).status == 200
    await admin.rotate_secret(client_id, expire_old_in_days=0)
    assert (await token_request(Client(None), client_id, third)).status == 401
    assert len(await app.clients.secret_versions(client_id)) == 1
    with pytest.raises(AdminError):
        await admin.rotate_secret(client_id, expire_old_in_days=-1)


async def test_an_expired_secret_issues_no_token(rig: tuple[App, AdminService, str, str]) -> None:
    app, _, client_id, secret = rig
    (version,) = await app.clients.secret_versions(client_id)
    assert version.expires_on is not None  # new secrets expire (730 days by default)
    await app.secrets.set_expiry(f"client-{client_id}", version.version, datetime.now(UTC) - timedelta(seconds=1))
    assert (await token_request(Client(None), client_id, secret)).status == 401


async def test_key_retire_keeps_live_tokens_and_cuts_old_ones(
    rig: tuple[App, AdminService, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _app, admin, client_id, secret = rig
    monkeypatch.setattr(keyring, "KEY_PROPAGATION_SECONDS", 0)
    http = Client(None)
    http.token = await get_token(http, client_id, secret)
    long_lived = (await admin.issue_token(client_id, long_lived=True)).token
    await asyncio.sleep(0.01)
    await admin.keys.rotate()
    keys = await admin.keys.keys()
    assert [k.signing for k in keys] == [True, False]
    assert keys[1].stopped_signing is not None
    with pytest.raises(ValueError, match="at least"):
        await admin.keys.retire(timedelta(hours=1))
    assert (await http.get(USERS)).status == 200  # signed with the old key, still enabled
    retired = await admin.keys.retire(timedelta(0), force=True)
    assert [k.version for k in retired] == [keys[1].version]
    assert (await http.get(USERS)).status == 401
    assert (await Client(long_lived).get(USERS)).status == 200  # long-lived tokens have keys of their own
    http.token = await get_token(http, client_id, secret)
    assert (await http.get(USERS)).status == 200
    assert await admin.keys.retire(timedelta(0), force=True) == []  # never the key that signs


async def test_new_keys_wait_before_signing(rig: tuple[App, AdminService, str, str]) -> None:
    """A key younger than the secret cache's minute does not sign: other instances may not know it yet."""
    _app, admin, client_id, secret = rig
    before = [k.version for k in await admin.keys.keys() if k.signing]
    made = await admin.keys.rotate()
    keys = await admin.keys.keys()
    assert [k.version for k in keys if k.signing] == before
    assert keys[0].version == made.version and not keys[0].signing
    token = await get_token(Client(None), client_id, secret)
    assert jwt.get_unverified_header(token)["kid"] == before[0]


async def test_long_lived_tokens_list_and_revoke(rig: tuple[App, AdminService, str, str]) -> None:
    _app, admin, client_id, _ = rig
    first = await admin.issue_token(client_id, long_lived=True)
    second = await admin.issue_token(client_id, long_lived=True)
    assert first.expires_in >= 3650 * 24 * 3600
    listed = [v.version for v in await admin.keys.long_lived(client_id)]
    assert set(listed) == {first.token_id, second.token_id}
    await admin.revoke_token(client_id, first.token_id)
    assert (await Client(first.token).get(USERS)).status == 401
    assert (await Client(second.token).get(USERS)).status == 200
    assert [v.version for v in await admin.keys.long_lived(client_id)] == [second.token_id]
    with pytest.raises(AdminError):
        await admin.revoke_token(client_id, first.token_id)


async def test_disable_reaches_other_instances_within_the_cache_bound(
    rig: tuple[App, AdminService, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another instance (its own registry cache) refuses a disabled client's token once its cache entry ages out."""
    from scim.auth import clients
    from scim.auth.clients import ClientRegistry

    app, admin, client_id, secret = rig
    monkeypatch.setattr(clients, "CLIENT_CACHE_SECONDS", 0.2)
    token = await get_token(Client(None), client_id, secret)
    other_instance = ClientRegistry(app.store, app.secrets)
    claims = await app.tokens.verify(token)
    assert (await other_instance.caller(claims, "127.0.0.1")).client_id == client_id
    await admin.update_client(client_id, disabled=True)
    assert (await other_instance.caller(claims, "127.0.0.1")).client_id == client_id  # cached, within the bound
    await asyncio.sleep(0.25)
    with pytest.raises(Exception, match="disabled"):
        await other_instance.caller(claims, "127.0.0.1")
    assert clients.CLIENT_CACHE_SECONDS <= 60
