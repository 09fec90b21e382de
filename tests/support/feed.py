"""The change feed under test: an App publishing to Azurite's queue service, a reader of the queue, a CLI runner."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import pytest

from scim.app import App, build_app
from scim.cli import main
from scim.config import load_settings
from scim.dev.azurite import Azurite
from scim.dev.localrun import seed
from scim.events.queue import ChangeQueues
from scim.secrets import MemorySecretStore
from scim.store.memory import MemoryStore
from scim.store.tables import TableStore
from tests.support.app import BASE, CLIENT_ID, CLIENT_SECRET, Client

# Every type of change event schema v1 publishes (docs/integration.md "Event schema, version 1").
EVERY_TYPE = {
    "user.created",
    "user.updated",
    "user.disabled",
    "user.enabled",
    "role.granted",
    "role.revoked",
    "user.deleted",
    "group.created",
    "group.renamed",
    "group.updated",
    "member.added",
    "member.removed",
    "group.deleted",
}


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


def cli(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> str:
    result = main(list(argv))
    out, err = capsys.readouterr()
    assert result == code, (argv, out, err)
    return out
