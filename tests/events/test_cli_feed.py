"""The scimctl commands docs/integration.md shows: read-only clients, value opt-in, changes tail and sweep."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import scim.cli
from scim.app import build_app
from scim.cli import main
from scim.dev.azurite import Azurite
from scim.secrets import MemorySecretStore
from scim.store.memory import MemoryStore
from tests.support.app import BASE
from tests.support.feed import fresh_prefix

pytestmark = pytest.mark.azurite


@pytest.fixture
def deployment(azurite: Azurite, monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryStore]:
    """Every command on one store, with the feed on (its queue service is Azurite's)."""
    store, secrets = MemoryStore(), MemorySecretStore()
    monkeypatch.setattr(scim.cli, "app_factory", lambda s: build_app(s, store=store, secret_store=secrets))
    monkeypatch.setenv("SCIM_PUBLIC_BASE_URL", BASE)
    monkeypatch.setenv("SCIM_QUEUES_CONNECTION_STRING", azurite.queue_connection_string)
    monkeypatch.setenv("SCIM_TABLE_PREFIX", fresh_prefix())
    yield store


def run(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> str:
    result = main(list(argv))
    out, err = capsys.readouterr()
    assert result == code, (argv, out, err)
    return out


def test_the_documented_feed_commands(deployment: MemoryStore, capsys: pytest.CaptureFixture[str]) -> None:
    made = json.loads(run(capsys, "directory", "create", "contoso", "--event-values", "on", "--json"))
    assert made["event_values"] is True
    reader = json.loads(run(capsys, "client", "create", "--directory", "contoso", "--read-only", "--json"))
    assert reader["read_only"] is True and reader["client_secret"]
    run(capsys, "directory", "set-policy", "contoso", "--event-values", "off")
    assert "event_values" not in json.loads(run(capsys, "directory", "list", "--json"))[0]
    run(capsys, "directory", "set-policy", "contoso", "--event-values", "on")
    run(capsys, "group", "add", "--directory", "contoso", "FinanceTeam")  # a catalog group is a group created

    peeked = run(capsys, "changes", "tail", "--directory", "contoso", "--peek")
    assert json.loads(peeked)["type"] == "group.created"  # still queued
    lines = run(capsys, "changes", "tail", "--directory", "contoso", "--count", "1").splitlines()
    event = json.loads(lines[0])
    assert (event["type"], event["directory"], event["values"]) == (
        "group.created",
        "contoso",
        {"displayName": "FinanceTeam"},
    )
    assert run(capsys, "changes", "tail", "--directory", "contoso", "--wait", "1") == ""  # consumed: nothing left
    assert json.loads(run(capsys, "changes", "sweep", "--json")) == {"published": 0}


def test_the_feed_commands_explain_a_feed_that_is_off(
    deployment: MemoryStore, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCIM_QUEUES_CONNECTION_STRING")
    run(capsys, "directory", "create", "contoso")
    run(capsys, "changes", "tail", "--directory", "contoso", "--wait", "1", code=1)
    run(capsys, "changes", "sweep", code=1)
