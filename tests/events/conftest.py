"""The change feed on Azurite: tables and queues, an App per test on each store, and a reader of the queue."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import scim.cli
from scim.app import App, build_app, install_app
from scim.cli import main
from scim.config import load_settings
from scim.dev.localrun import seed
from scim.events.queue import ChangeQueues
from scim.secrets import MemorySecretStore
from scim.store.base import Store
from scim.store.memory import MemoryStore
from scim.store.tables import TableStore
from tests.conftest import BASE, CLIENT_ID, CLIENT_SECRET, Client
from tests.support.azurite import Azurite


@pytest.fixture(scope="session")
def azurite_queues() -> Iterator[Azurite]:
    """Azurite's table and queue services, in memory, for the session."""
    with Azurite(queue=True) as running:
        yield running


def fresh_prefix() -> str:
    return "f" + secrets.token_hex(5)


@dataclass
class Feed:
    """An App with the change feed on, the HTTP client of its `dev` directory, and a consumer of the queue."""

    app: App
    http: Client
    queues: ChangeQueues
    prefix: str

    async def events(self, directory: str = "dev") -> list[dict[str, Any]]:
        """Every event published so far (after the relay's background work), consumed from the queue."""
        assert self.app.relay is not None
        await self.app.relay.flush()
        found: list[dict[str, Any]] = []
        while batch := await self.queues.receive(directory, limit=32):
            for message in batch:
                found.append(json.loads(message.text))
                await self.queues.delete(directory, message)
        return sorted(found, key=lambda e: (e["sequence"] or 0, e["time"]))


def feed_settings(azurite: Azurite, prefix: str) -> Any:
    return load_settings(
        {
            "SCIM_STORE": "memory",
            "SCIM_PUBLIC_BASE_URL": BASE,
            "SCIM_QUEUES_CONNECTION_STRING": azurite.queue_connection_string,
            "SCIM_TABLE_PREFIX": prefix,
        }
    )


async def open_feed(kind: str, azurite: Azurite, prefix: str | None = None) -> Feed:
    prefix = prefix or fresh_prefix()
    store = MemoryStore() if kind == "memory" else TableStore.from_connection_string(azurite.connection_string, prefix)
    app = build_app(feed_settings(azurite, prefix), store=store, secret_store=MemorySecretStore())
    await seed(app, CLIENT_ID, CLIENT_SECRET, "create")
    token, _ = await app.tokens.issue(CLIENT_ID, "dev", ttl=3600)
    return Feed(
        app, Client(token), ChangeQueues.from_connection_string(azurite.queue_connection_string, prefix), prefix
    )


@pytest.fixture(params=["memory", pytest.param("tables", marks=pytest.mark.azurite)])
async def feed(request: pytest.FixtureRequest, azurite_queues: Azurite) -> AsyncIterator[Feed]:
    """The feed on the memory store, then on the Table store, both publishing to Azurite's queue service."""
    opened = await open_feed(request.param, azurite_queues)
    install_app(opened.app)
    try:
        yield opened
    finally:
        install_app(None)
        await opened.app.close()
        await opened.queues.close()


@pytest.fixture(params=["memory", pytest.param("tables", marks=pytest.mark.azurite)])
def stores(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], Store]]:
    """A new store object per scimctl command, all on the same data (as commands against one deployment are)."""
    if request.param == "memory":
        shared = MemoryStore()
        make: Callable[[], Store] = lambda: shared  # noqa: E731
    else:
        azurite: Azurite = request.getfixturevalue("azurite_queues")
        prefix = fresh_prefix()
        make = lambda: TableStore.from_connection_string(azurite.connection_string, prefix)  # noqa: E731
    secrets = MemorySecretStore()
    monkeypatch.setattr(scim.cli, "app_factory", lambda s: build_app(s, store=make(), secret_store=secrets))
    monkeypatch.setenv("SCIM_PUBLIC_BASE_URL", BASE)
    yield make


def cli(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> str:
    result = main(list(argv))
    out, err = capsys.readouterr()
    assert result == code, (argv, out, err)
    return out
