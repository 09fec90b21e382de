"""scimctl against the local host on both stores: the commands run in this process (main()), the host serves
the same store, so what a command changes is what the next HTTP request sees.

* memory: the commands and the served App share one MemoryStore and secrets file (the memory store lives in
  one process, so the host is the function_app triggers called in-process, tests/conftest.py `Client`);
* tables: the commands read the environment as an admin's shell would, and the host is a real `scimctl serve`
  subprocess on the same Azurite tables and secrets file.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

import scim.cli
from scim.app import App, build_app, install_app
from scim.cli import main
from scim.config import Settings
from scim.dev.azurite import Azurite, free_port
from scim.secrets import FileSecretStore
from scim.store.memory import MemoryStore
from tests.conftest import BASE, Client
from tests.e2e.conftest import Host, host_env

FORM = "application/x-www-form-urlencoded"


@dataclass
class Answer:
    status: int
    body: Any


class Http:
    """The served endpoint, whichever store backs it."""

    def __init__(self, base: str, host: Host | None) -> None:
        self.base = base
        self._host = host

    def call(self, method: str, path: str, *, token: str | None = None, body: Any = None, form: Any = None) -> Answer:
        headers = {"content-type": FORM if form else "application/scim+json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        raw = urlencode(form).encode() if form else (json.dumps(body).encode() if body is not None else b"")
        if self._host is None:
            reply = asyncio.run(Client(None).request(method, path, raw=raw, headers=headers, token=None))
            return Answer(reply.status, json.loads(reply.body) if reply.body else None)
        response = httpx.request(method, self.base + path, content=raw, headers=headers, timeout=15)
        return Answer(response.status_code, response.json() if response.content else None)

    def token(self, client_id: str, secret: str) -> Answer:
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        return self.call("POST", "/oauth2/token", form=form)


@dataclass
class Cli:
    """Runs scimctl's main(); records which commands ran, so a test can check that every command did."""

    capsys: pytest.CaptureFixture[str]
    store: str
    http: Http
    ran: set[tuple[str, ...]] = field(default_factory=set)
    err: str = ""
    out: str = ""

    def _record(self, argv: tuple[str, ...]) -> None:
        words = [a for a in argv if not a.startswith("-")]
        self.ran.add(tuple(words[:2]))
        self.ran.add(tuple(words[:1]))

    def __call__(self, *argv: str, code: int = 0) -> Any:
        """`scimctl --json ...`: the exit code, and the parsed JSON output."""
        self._record(argv)
        result = main(["--json", *argv])
        self.out, self.err = self.capsys.readouterr()
        assert result == code, (argv, self.out, self.err)
        return json.loads(self.out) if self.out.strip() else None

    def text(self, *argv: str, code: int = 0) -> str:
        self._record(argv)
        result = main(list(argv))
        self.out, self.err = self.capsys.readouterr()
        assert result == code, (argv, self.out, self.err)
        return self.out


@pytest.fixture(scope="session")
def cli_azurite() -> Iterator[Azurite]:
    with Azurite() as running:
        yield running


@pytest.fixture(params=["memory", pytest.param("tables", marks=[pytest.mark.azurite, pytest.mark.e2e])])
def cli(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Cli]:
    for name in [k for k in __import__("os").environ if k.startswith("SCIM_")]:
        monkeypatch.delenv(name)
    secrets_file = tmp_path / "secrets.json"
    if request.param == "memory":
        store, secret_store = MemoryStore(), FileSecretStore(secrets_file)
        monkeypatch.setenv("SCIM_PUBLIC_BASE_URL", BASE)

        def factory(settings: Settings) -> App:
            return build_app(settings, store=store, secret_store=secret_store)

        monkeypatch.setattr(scim.cli, "app_factory", factory)
        served = factory(Settings(public_base_url=BASE))
        served.clients.cache_for(0)  # as scimctl serve does (scim/dev/localrun.py)
        install_app(served)
        yield Cli(capsys, "memory", Http(BASE, None))
        install_app(None)
        return
    azurite: Azurite = request.getfixturevalue("cli_azurite")
    prefix = "cli" + secrets.token_hex(4)
    shared = {
        "SCIM_STORE": "tables",
        "SCIM_TABLES_CONNECTION_STRING": azurite.connection_string,
        "SCIM_TABLE_PREFIX": prefix,
        "SCIM_SECRETS_FILE": str(secrets_file),
    }
    port = free_port()
    host = Host(port, host_env("strict", **shared), tmp_path / "serve.log")
    host.start()
    for name, value in {**shared, "SCIM_PUBLIC_BASE_URL": host.url}.items():
        monkeypatch.setenv(name, value)
    try:
        yield Cli(capsys, "tables", Http(host.url, host))
    finally:
        host.stop()
