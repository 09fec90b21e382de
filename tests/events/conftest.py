"""The change feed on Azurite: tables and queues, an App per test on each store, and a reader of the queue."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest

import scim.cli
from scim.app import build_app, install_app
from scim.dev.azurite import Azurite
from scim.secrets import MemorySecretStore
from scim.store.base import Store
from scim.store.memory import MemoryStore
from scim.store.tables import TableStore
from tests.support.app import BASE
from tests.support.feed import Feed, fresh_prefix, open_feed


@pytest.fixture(params=["memory", pytest.param("tables", marks=pytest.mark.azurite)])
async def feed(request: pytest.FixtureRequest, azurite: Azurite) -> AsyncIterator[Feed]:
    """The feed on the memory store, then on the Table store, both publishing to Azurite's queue service."""
    opened = await open_feed(request.param, azurite)
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
        azurite: Azurite = request.getfixturevalue("azurite")
        prefix = fresh_prefix()
        make = lambda: TableStore.from_connection_string(azurite.connection_string, prefix)  # noqa: E731
    secrets = MemorySecretStore()
    monkeypatch.setattr(scim.cli, "app_factory", lambda s: build_app(s, store=make(), secret_store=secrets))
    monkeypatch.setenv("SCIM_PUBLIC_BASE_URL", BASE)
    yield make
