"""The scimctl commands docs/integration.md shows: read-only clients, value opt-in, changes tail and sweep."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

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


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """What scimctl says on stderr when it refuses a command (exit 1)."""
    assert main(list(argv)) == 1
    return capsys.readouterr().err


def test_the_documented_signed_event_commands(deployment: MemoryStore, capsys: pytest.CaptureFixture[str]) -> None:
    """docs/integration.md section 4: the format opt-in makes the event key, which rotates and retires with
    `key ... --events` apart from the token signing key; `changes replay` moves a read-only client only."""
    run(capsys, "directory", "create", "contoso")
    assert json.loads(run(capsys, "key", "list", "--events", "--json")) == []
    made = json.loads(run(capsys, "directory", "set-policy", "contoso", "--event-format", "both", "--json"))
    assert made["event_format"] == "both"
    first = json.loads(run(capsys, "key", "list", "--events", "--json"))
    assert len(first) == 1 and first[0]["signing"] is True
    tokens = json.loads(run(capsys, "key", "list", "--json"))
    assert {k["key_id"] for k in tokens}.isdisjoint({first[0]["key_id"]})
    rotated = json.loads(run(capsys, "key", "rotate", "--events", "--json"))
    assert len(json.loads(run(capsys, "key", "list", "--events", "--json"))) == 2
    assert rotated["key_id"] != first[0]["key_id"]
    assert "SET retention window" in refused(capsys, "key", "retire", "--events", "--older-than", "1h")
    assert json.loads(run(capsys, "key", "retire", "--events", "--json")) == []  # nothing stopped signing long ago

    reader = json.loads(run(capsys, "client", "create", "--directory", "contoso", "--read-only", "--json"))
    since = "2026-01-01T00:00:00Z"
    replay = json.loads(run(capsys, "changes", "replay", "--client", reader["client_id"], "--since", since, "--json"))
    assert replay["client"] == reader["client_id"] and replay["directory"] == "contoso"
    writer = json.loads(run(capsys, "client", "create", "--directory", "contoso", "--json"))
    assert "not read-only" in refused(capsys, "changes", "replay", "--client", writer["client_id"], "--since", since)
    assert "ISO 8601" in refused(capsys, "changes", "replay", "--client", reader["client_id"], "--since", "soon")


def test_importing_a_set_directory_makes_the_event_key(
    deployment: MemoryStore, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run(capsys, "directory", "create", "src")
    exported = tmp_path / "src.json"
    run(capsys, "export", "--directory", "src", "--output", str(exported))
    doc = json.loads(exported.read_text(encoding="utf-8"))
    doc["directory"]["eventFormat"] = "set"
    exported.write_text(json.dumps(doc), encoding="utf-8")
    assert json.loads(run(capsys, "key", "list", "--events", "--json")) == []
    run(capsys, "import", str(exported), "--directory", "dst")
    assert [
        d["event_format"] for d in json.loads(run(capsys, "directory", "list", "--json")) if d["directory"] == "dst"
    ] == ["set"]
    assert len(json.loads(run(capsys, "key", "list", "--events", "--json"))) == 1
