"""scimctl against the local host on both stores: the commands run in this process (main()), the host serves
the same store, so what a command changes is what the next HTTP request sees.

* memory: the commands and the served App share one MemoryStore and secrets file (the memory store lives in
  one process, so the host is the function_app triggers called in-process, tests/conftest.py `Client`);
* tables: the commands read the environment as an admin's shell would, and the host is a real `scimctl serve`
  subprocess on the same Azurite tables and secrets file.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

import scim.cli
from scim.app import App, build_app, install_app
from scim.config import Settings
from scim.dev.azurite import Azurite, free_port
from scim.secrets import FileSecretStore
from scim.store.memory import MemoryStore
from tests.support.app import BASE
from tests.support.cli import Cli, Http
from tests.support.host import Host, host_env


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
    azurite: Azurite = request.getfixturevalue("azurite")
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
