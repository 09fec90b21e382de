"""The real local host in a subprocess (`scimctl serve`), on the memory store or on Table Storage (Azurite).

Each test gets a fresh server on a free port, so suites that assume an empty store at start
(Microsoft's Postman collection does) see one.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from scim.dev.azurite import Azurite, free_port
from tests.support.host import Host, StartHost, host_env


@pytest.fixture
def start_host(tmp_path: Path) -> Iterator[StartHost]:
    """Start `scimctl serve` on the memory store: ``start_host(policy, **SCIM_env)``; all stop at teardown."""
    hosts: list[Host] = []

    def start(policy: str = "create", **extra: str) -> Host:
        port = free_port()
        host = Host(port, host_env(policy, **extra), tmp_path / f"scimctl-{port}.log")
        hosts.append(host)
        host.start()
        return host

    yield start
    for host in hosts:
        host.stop()


@pytest.fixture
def start_tables_host(start_host: StartHost, azurite: Azurite, tmp_path: Path) -> StartHost:
    """Like start_host, on Table Storage in Azurite, with its own tables and secrets file."""
    prefix = "e2e" + secrets.token_hex(4)

    def start(policy: str = "create", **extra: str) -> Host:
        return start_host(
            policy,
            SCIM_STORE="tables",
            SCIM_TABLES_CONNECTION_STRING=azurite.connection_string,
            SCIM_TABLE_PREFIX=prefix,
            SCIM_SECRETS_FILE=str(tmp_path / "secrets.json"),
            **extra,
        )

    return start
