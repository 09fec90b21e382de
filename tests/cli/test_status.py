"""`scimctl status`: each verdict driven through the function app's triggers on memory and on Azurite, then read
back by the command from the service's own record (quarantined, Entra's word, is in tests/entra/test_status.py)."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

import scim.cli
from scim.app import App, build_app, install_app
from scim.cli import main
from scim.config import load_settings
from scim.dev.azurite import Azurite
from scim.dev.localrun import seed
from scim.errors import StoreUnavailable
from scim.secrets import MemorySecretStore
from scim.service.admin import AdminService
from scim.service.health_recorder import HealthRecorder
from scim.store.base import Store
from scim.store.memory import MemoryStore
from scim.store.tables import TableStore
from tests.support.app import BASE, CLIENT_ID, CLIENT_SECRET, Client

USER = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "status.user@contoso.com"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
Drive = Callable[[App, Client], Awaitable[None]]


@pytest.fixture(params=["memory", pytest.param("tables", marks=pytest.mark.azurite)])
def open_store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], Store]]:
    """A store factory: the served app and the command each open one on the same data, as in a deployment."""
    for name in [k for k in __import__("os").environ if k.startswith("SCIM_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SCIM_PUBLIC_BASE_URL", BASE)
    if request.param == "memory":
        memory = MemoryStore()
        monkeypatch.setattr(scim.cli, "app_factory", lambda s: build_app(s, store=memory, secret_store=SECRETS))
        yield lambda: memory
        return
    azurite: Azurite = request.getfixturevalue("azurite")
    prefix = "st" + secrets.token_hex(4)
    monkeypatch.setattr(scim.cli, "app_factory", lambda s: build_app(s, secret_store=SECRETS))
    monkeypatch.setenv("SCIM_STORE", "tables")
    monkeypatch.setenv("SCIM_TABLES_CONNECTION_STRING", azurite.connection_string)
    monkeypatch.setenv("SCIM_TABLE_PREFIX", prefix)
    yield lambda: TableStore.from_connection_string(azurite.connection_string, prefix)


SECRETS = MemorySecretStore()


def serve(open_store: Callable[[], Store], drive: Drive, *, hours_ago: float = 0.0) -> None:
    """Seed the directory `dev`, run ``drive`` against the function app, and let the record be written."""

    async def run() -> None:
        settings = load_settings({"SCIM_STORE": "memory", "SCIM_PUBLIC_BASE_URL": BASE})
        app = build_app(settings, store=open_store(), secret_store=SECRETS)
        app.health = HealthRecorder(app.store, clock=lambda: time.time() - hours_ago * 3600)
        await seed(app, CLIENT_ID, CLIENT_SECRET, "strict")
        await AdminService(app.store, app.clients, app.tokens).add_role("dev", "Auditor")
        install_app(app)
        try:
            token, _ = await app.tokens.issue(CLIENT_ID, "dev", ttl=3600)
            await drive(app, Client(token))
        finally:
            install_app(None)
            await app.close()  # writes the record now rather than within the minute

    asyncio.run(run())


def status(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = main(["--json", "status", *argv])
    return code, json.loads(capsys.readouterr().out)


async def _healthy(app: App, client: Client) -> None:
    assert (await client.get("/scim/v2/Users")).status == 200
    assert (await client.get("/scim/v2/Groups")).status == 200


async def _refusing(app: App, client: Client) -> None:
    await _healthy(app, client)
    body = {**USER, "userName": "x@contoso.com", "roles": [{"primary": True, "value": "Auditer"}]}
    for _ in range(3):  # Entra retries the object every cycle
        assert (await client.post("/scim/v2/Users", body)).status == 400


async def _failing(app: App, client: Client) -> None:
    await _healthy(app, client)

    class Down:
        def __getattr__(self, name: str) -> Any:
            async def fail(*args: Any, **kwargs: Any) -> Any:
                raise StoreUnavailable("storage down")

            return fail

    app.users._store = Down()
    assert (await client.get("/scim/v2/Users/any-id")).status == 503


async def _unauthenticated(app: App, client: Client) -> None:
    await _healthy(app, client)
    form = f"grant_type=client_credentials&client_id={CLIENT_ID}&client_secret=rotated-in-entra-not-here"
    for _ in range(2):
        reply = await client.request("POST", "/oauth2/token", raw=form.encode(), headers=FORM, token=None)
        assert reply.status == 401


def test_healthy(open_store: Callable[[], Store], capsys: pytest.CaptureFixture[str]) -> None:
    serve(open_store, _healthy)
    code, (found,) = status(capsys, "--directory", "dev")
    assert (code, found["verdict"], found["exit_code"]) == (0, "healthy", 0)
    assert found["hour"]["requests"] == 2 and found["last_request"]


def test_idle_when_the_last_request_is_older_than_a_cycle(
    open_store: Callable[[], Store], capsys: pytest.CaptureFixture[str]
) -> None:
    serve(open_store, _healthy, hours_ago=2)
    code, (found,) = status(capsys, "--directory", "dev")
    assert (code, found["verdict"]) == (3, "idle")
    assert found["hour"]["requests"] == 0 and found["day"]["requests"] == 2
    # a shorter cycle makes a fresh record idle too; a directory nobody called is idle
    serve(open_store, _healthy)
    assert status(capsys, "--directory", "dev", "--idle-after", "2h")[1][0]["verdict"] == "healthy"


def test_refusing_names_the_values_entra_sent_and_the_closest_role(
    open_store: Callable[[], Store], capsys: pytest.CaptureFixture[str]
) -> None:
    serve(open_store, _refusing)
    code, (found,) = status(capsys, "--directory", "dev")
    assert (code, found["verdict"]) == (4, "refusing")
    assert found["refused_values"] == [{"reason": "unknown_role", "value": "Auditer", "count": 3, "closest": "Auditor"}]
    assert found["hour"]["refusals"] == {"unknown_role": 3}
    text = main(["status", "--directory", "dev"]), capsys.readouterr().out
    assert (
        text[0] == 4 and "REFUSING" in text[1] and "refused unknown_role: 'Auditer' x3 (closest: 'Auditor')" in text[1]
    )


def test_failing_on_storage_faults(open_store: Callable[[], Store], capsys: pytest.CaptureFixture[str]) -> None:
    serve(open_store, _failing)
    code, (found,) = status(capsys, "--directory", "dev")
    assert (code, found["verdict"], found["hour"]["server_errors"]) == (6, "failing", 1)


def test_unauthenticated_when_token_requests_fail_and_nothing_succeeds_after(
    open_store: Callable[[], Store], capsys: pytest.CaptureFixture[str]
) -> None:
    serve(open_store, _unauthenticated)
    code, (found,) = status(capsys, "--directory", "dev")
    assert (code, found["verdict"], found["hour"]["auth_failures"]) == (5, "unauthenticated", 2)
    assert found["hour"]["refusals"]["invalid_client"] == 2


def test_every_directory_and_the_worst_exit_code(
    open_store: Callable[[], Store], capsys: pytest.CaptureFixture[str]
) -> None:
    serve(open_store, _refusing)
    assert main(["directory", "create", "quiet"]) == 0
    capsys.readouterr()
    code, found = status(capsys)
    assert {h["directory"]: h["verdict"] for h in found} == {"dev": "refusing", "quiet": "idle"}
    assert code == 4
    assert main(["status", "--directory", "nowhere"]) == 1
