"""Shared fixtures (an App on the memory store, a client of its `dev` directory, the session's one Azurite) and the
hooks that mark each test by what it starts: ``azurite`` for the emulator, ``e2e`` for a real server."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator

import pytest

from scim.app import App, install_app
from scim.dev.azurite import Azurite
from tests.support import azurite as emulator
from tests.support.app import CLIENT_ID, Client, make_app
from tests.support.host import Host


@pytest.fixture
async def app() -> AsyncIterator[App]:
    app = await make_app()
    install_app(app)
    yield app
    install_app(None)
    await app.close()


@pytest.fixture
async def client(app: App) -> Client:
    token, _ = await app.tokens.issue(CLIENT_ID, "dev", ttl=3600)
    return Client(token)


# Fixtures whose tests need the marker: using one is what puts a test in that group, so the marker cannot be forgotten.
MARKED_BY = {"azurite": "azurite", "start_host": "e2e", "start_tables_host": "e2e"}
_watchdog: list[subprocess.Popen[bytes]] = []
GUARD = emulator.Guard()
GUARD.require(Azurite, "azurite")
GUARD.require(Host, "e2e")


def pytest_sessionstart(session: pytest.Session) -> None:
    _watchdog.append(emulator.start_watchdog())


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item) -> None:
    GUARD.item = item


def pytest_unconfigure(config: pytest.Config) -> None:
    for process in _watchdog:
        process.terminate()
        process.wait(timeout=10)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by the fixtures it uses, before ``-m`` selects (tryfirst: ahead of pytest's own hook)."""
    for item in items:
        for fixture, marker in MARKED_BY.items():
            if fixture in getattr(item, "fixturenames", ()) and item.get_closest_marker(marker) is None:
                item.add_marker(marker)


@pytest.fixture(scope="session")
def _azurite_session(request: pytest.FixtureRequest) -> Iterator[Azurite]:
    running = emulator.start_session(request.config)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def azurite(request: pytest.FixtureRequest, _azurite_session: Azurite) -> Azurite:
    """The session's Azurite (tables and queues, in memory); keep apart from other tests by a table prefix."""
    if request.node.get_closest_marker("azurite") is None:
        pytest.fail(f"{request.node.nodeid} uses Azurite: mark it azurite")
    return _azurite_session
