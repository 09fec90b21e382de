"""Every scimctl command against the local host, on the memory store and on Table Storage.

One scenario per store runs every command with --json (exit codes and output asserted) and checks, over HTTP,
that the served endpoint sees each change at once; the last assertion fails when a command is added to
scimctl without being run here (or in the file ELSEWHERE names).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

import scim.cli
from scim.app import build_app
from scim.config import DOCTOR_SECRET_ENV
from scim.secrets import MemorySecretStore
from scim.store.memory import MemoryStore
from tests.support.cli import Cli

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTRA = ("setup", "rotate", "rotate-due", "test-connection", "check", "provision", "status")
# Commands whose real run lives in another file (they need their own process or a real socket).
ELSEWHERE: dict[tuple[str, ...], str] = {
    ("serve",): "tests/cli/test_serve.py (and every e2e host)",
    ("doctor",): "tests/auth/test_doctor.py on memory; here on tables",
    **{("entra", name): "tests/entra/ (against the Graph double, tests/doubles/graph.py)" for name in ENTRA},
    ("client", "set-rotation"): "tests/entra/test_rotation_schedule.py (it acts through the Graph double)",
    # The change feed's commands need Azurite's queue service.
    ("changes", "tail"): "tests/events/test_cli_feed.py and tests/e2e/test_integration_docs.py",
    ("changes", "sweep"): "tests/events/test_cli_feed.py and tests/e2e/test_integration_docs.py",
    ("changes", "replay"): "tests/events/test_cli_feed.py and tests/e2e/test_integration_docs.py",
    ("export",): "tests/events/test_export.py on both stores",
    # Each verdict needs the record a served app writes: driven in-process on memory and Azurite.
    ("status",): "tests/cli/test_status.py on both stores, tests/entra/test_status.py for quarantined",
    ("import",): "tests/events/test_export.py on both stores",
}


def leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every runnable command path of the parser, e.g. ("client", "set-networks")."""
    found: set[tuple[str, ...]] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found |= leaves(child, (*path, name))
    return found or {path}


def _sub_actions(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.Action]]:
    out: list[tuple[str, argparse.Action]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                out += [(f"{name} {where}".strip(), a) for where, a in _sub_actions(child)]
        elif not isinstance(action, argparse._HelpAction):
            out.append(("", action))
    return out


def test_every_option_has_help_text() -> None:
    """`scimctl <command> --help` explains every option and argument."""
    actions = _sub_actions(scim.cli._parser())
    missing = [f"{where}: {'/'.join(a.option_strings) or a.dest}" for where, a in actions if not a.help]
    assert missing == []


def _provision(cli: Cli, token: str) -> tuple[str, str]:
    """A user holding Auditor, member of FinanceTeam, created the way Entra does (POST, then PATCH the group)."""
    made = cli.http.call(
        "POST",
        "/scim/v2/Users",
        token=token,
        body={"schemas": [USER], "userName": "alice@contoso.example", "roles": [{"value": "Auditor"}]},
    )
    assert made.status == 201, made.body
    (group,) = [g for g in cli("group", "list", "--directory", "contoso") if g["display_name"] == "FinanceTeam"]
    add = {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": made.body["id"]}]}]}
    assert cli.http.call("PATCH", f"/scim/v2/Groups/{group['id']}", token=token, body=add).status == 204
    return made.body["id"], group["id"]


def test_every_command_against_the_local_host(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Directories.
    created = cli("directory", "create", "contoso")
    assert created == {"directory": "contoso", "name_policy": "strict", "role_mode": "single", "external_id": "shared"}
    assert cli("directory", "set-policy", "contoso", "--role-mode", "multiple")["role_mode"] == "multiple"
    assert "contoso" in [d["directory"] for d in cli("directory", "list")]

    # Catalog.
    assert cli("role", "add", "--directory", "contoso", "Auditor") == {"value": "Auditor", "display_name": "Auditor"}
    roles_csv = tmp_path / "roles.csv"
    roles_csv.write_text("name\nOperator\nBad Name\n", encoding="utf-8")
    # Refused rows used to exit 0, so a script could not tell.
    assert cli("role", "import", "--directory", "contoso", str(roles_csv), code=1) == {
        "added": ["Operator"],
        "existing": [],
        "refused": ["Bad Name"],
    }
    assert "skipped 'Bad Name'" in cli.err
    bad_groups_csv = tmp_path / "bad-groups.csv"
    bad_groups_csv.write_text("Finance Team\n", encoding="utf-8")
    assert cli("group", "import", "--directory", "contoso", str(bad_groups_csv), code=1)["refused"] == ["Finance Team"]
    assert [r["value"] for r in cli("role", "list", "--directory", "contoso")] == ["Auditor", "Operator"]
    assert cli("group", "add", "--directory", "contoso", "FinanceTeam")["display_name"] == "FinanceTeam"
    groups_csv = tmp_path / "groups.csv"
    groups_csv.write_text("PAM-Operators\n", encoding="utf-8")
    assert cli("group", "import", "--directory", "contoso", str(groups_csv))["added"] == ["PAM-Operators"]
    assert sorted(g["display_name"] for g in cli("group", "list", "--directory", "contoso")) == [
        "FinanceTeam",
        "PAM-Operators",
    ]

    # A client without --networks is accepted from anywhere, and scimctl says so (item 9).
    made = cli("client", "create", "--directory", "contoso")
    assert made["networks"] == ["any"] and "no --networks given" in cli.err
    client_id, secret = made["client_id"], made["client_secret"]
    assert cli("client", "create", "--directory", "contoso", "--networks", "10.0.0.0/8")["networks"] == ["10.0.0.0/8"]
    assert "no --networks" not in cli.err
    assert client_id in [c["client_id"] for c in cli("client", "list")]
    shown = cli("client", "show", "--client", client_id)
    assert len(shown["secrets"]) == 1 and secret not in cli.out
    human = cli.text("client", "show", "--client", client_id)
    assert "{'" not in human and 'secrets=[{"id":' in human  # JSON, never a Python dict (item 9)

    token = cli.http.token(client_id, secret)
    assert token.status == 200, token.body
    user_id, group_id = _provision(cli, token.body["access_token"])

    # Users show roles and groups (item 9).
    listed = cli("user", "list", "--directory", "contoso")
    assert [(u["userName"], u["roles"], u["groups"]) for u in listed] == [
        ("alice@contoso.example", ["Auditor"], ["FinanceTeam"])
    ]
    assert cli("user", "show", "--directory", "contoso", "ALICE@contoso.example")["id"] == user_id
    human = cli.text("user", "show", "--directory", "contoso", user_id)
    assert "{'" not in human and "roles=Auditor" in human and "groups=FinanceTeam" in human

    # Removing a name in use needs --force and says what depends on it and what follows (item 7).
    cli("role", "remove", "--directory", "contoso", "Auditor", code=1)
    assert "held by 1 user (alice@contoso.example)" in cli.err
    assert "--force" in cli.err and "400 invalidValue" in cli.err
    assert "Auditor" in [r["value"] for r in cli("role", "list", "--directory", "contoso")]
    assert cli("role", "remove", "--directory", "contoso", "Auditor", "--force") == {
        "removed": "Auditor",
        "held_by": ["alice@contoso.example"],
    }
    assert "still show 'Auditor'" in cli.err
    assert cli("user", "list", "--directory", "contoso")[0]["roles"] == ["Auditor"]  # as it said
    assert cli("role", "remove", "--directory", "contoso", "Operator") == {"removed": "Operator", "held_by": []}
    cli("role", "remove", "--directory", "contoso", "Operator", code=1)
    assert "does not exist" in cli.err
    cli("group", "remove", "--directory", "contoso", "FinanceTeam", code=1)
    assert "has 1 member" in cli.err and group_id in cli.err and "404" in cli.err and "--force" in cli.err
    assert cli("group", "remove", "--directory", "contoso", "FinanceTeam", "--force") == {
        "removed": "FinanceTeam",
        "memberships_removed": 1,
    }
    assert cli.http.call("GET", f"/scim/v2/Groups/{group_id}", token=token.body["access_token"]).status == 404
    assert cli("group", "remove", "--directory", "contoso", "PAM-Operators")["memberships_removed"] == 0

    # check runs on either store (item 1: it used to end in "TypeError: cannot check a Traced").
    report = cli("check", "--directory", "contoso")
    assert (report["consistent"], report["users"], report["groups"], report["issues"]) == (True, 1, 0, [])
    assert cli("check", "--directory", "contoso", "--repair")["repaired"] == 0
    assert "consistent=True" in cli.text("check", "--directory", "contoso")
    cli("check", "--directory", "nowhere", code=1)
    assert "does not exist" in cli.err

    # Network changes reach the running host at once (item 5, security.md §7).
    cli("client", "set-networks", "--client", client_id, "10.0.0.0/8")
    assert cli.http.token(client_id, secret).status == 403
    cli("client", "set-networks", "--client", client_id, "any")
    assert cli.http.token(client_id, secret).status == 200

    # Secrets, disable and enable.
    rotated = cli("client", "rotate-secret", "--client", client_id, "--expire-old-in-days", "0")
    assert cli.http.token(client_id, rotated["client_secret"]).status == 200
    assert cli.http.token(client_id, secret).status == 401
    assert cli("client", "disable", "--client", client_id)["disabled"] is True
    assert cli.http.token(client_id, rotated["client_secret"]).status == 401
    assert cli("client", "enable", "--client", client_id)["disabled"] is False
    assert cli.http.token(client_id, rotated["client_secret"]).status == 200

    # Tokens.
    issued = cli("token", "issue", "--client", client_id, "--ttl", "120")
    assert issued["expires_in"] == 7200
    long_lived = cli("token", "--client", client_id, "--long-lived")  # the documented short form
    assert cli.http.call("GET", "/scim/v2/Users", token=long_lived["access_token"]).status == 200
    assert [t["token_id"] for t in cli("token", "list", "--client", client_id)] == [long_lived["token_id"]]
    assert cli("token", "revoke", "--client", client_id, "--token-id", long_lived["token_id"])["revoked"]
    assert cli("token", "list", "--client", client_id) == []

    # Signing keys.
    before = cli("key", "list")
    made_key = cli("key", "rotate")
    assert [k["key_id"] for k in cli("key", "list")] == [made_key["key_id"], *[k["key_id"] for k in before]]
    assert cli("key", "retire") == []

    if cli.store == "tables":
        _doctor_from_outside_the_client_networks(cli, monkeypatch)

    assert cli("client", "delete", "--client", client_id) == {"deleted": client_id, "effective_within_seconds": 30}
    assert cli.http.token(client_id, rotated["client_secret"]).status == 401

    untested = leaves(scim.cli._parser()) - cli.ran - ELSEWHERE.keys()
    assert untested == set(), "run the new command here, or name the file that runs it in ELSEWHERE"


def _doctor_from_outside_the_client_networks(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """Doctor with a client limited to Entra's ranges says why it is 403 and what to do."""
    entra = cli("client", "create", "--directory", "contoso", "--networks", "20.190.128.0/18", "40.126.0.0/18")
    base = cli.http.base + "/scim/v2"
    monkeypatch.setenv(DOCTOR_SECRET_ENV, entra["client_secret"])
    checks: list[dict[str, Any]] = cli("doctor", "--base-url", base, "--client-id", entra["client_id"], code=1)
    (failed,) = checks
    assert failed["step"] == "token" and "403 network" in failed["detail"]
    assert "doctor-only client" in failed["detail"] and "--networks 127.0.0.1" in failed["detail"]
    doctor_only = cli("client", "create", "--directory", "contoso", "--networks", "127.0.0.1", "--secret-days", "1")
    monkeypatch.setenv(DOCTOR_SECRET_ENV, doctor_only["client_secret"])
    checks = cli("doctor", "--base-url", base, "--client-id", doctor_only["client_id"])
    assert [c["ok"] for c in checks] == [True, True, True, True]
    cli("client", "delete", "--client", doctor_only["client_id"])


def test_client_pinned_to_a_tenant_for_entras_own_token(cli: Cli) -> None:
    cli("directory", "create", "contoso")
    tenant = "0b6c3d4e-5f60-4718-8293-a4b5c6d7e8f9"
    made = cli("client", "create", "--directory", "contoso", "--entra-issued-tenant", tenant.upper())
    assert made["entra_issued_tenant"] == tenant and "client_secret" not in made
    assert "leave Secret Token blank" in cli.err and "testing option" in cli.err
    assert cli("client", "show", "--client", made["client_id"])["entra_issued_tenant"] == tenant
    cli("client", "create", "--directory", "contoso", "--entra-issued-tenant", tenant, code=1)
    assert "one tenant feeds one client" in cli.err
    cli("client", "create", "--directory", "contoso", "--entra-issued-tenant", "contoso.example", code=1)
    assert "Directory (tenant) ID, a GUID" in cli.err


def test_a_file_that_cannot_be_opened_is_named_in_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`[Errno 2] No such file or directory: '…/dev.json.partial'` named a temporary file."""
    store, secrets = MemoryStore(), MemorySecretStore()
    monkeypatch.setattr(scim.cli, "app_factory", lambda s: build_app(s, store=store, secret_store=secrets))
    assert scim.cli.main(["directory", "create", "dev"]) == 0
    capsys.readouterr()
    target = tmp_path / "missing" / "dev.json"
    assert scim.cli.main(["export", "--directory", "dev", "--output", str(target)]) == 1
    assert capsys.readouterr().err == f"scimctl: {target}: No such file or directory\n"
    for argv in (["import", str(tmp_path / "nope.json")], ["role", "import", "--directory", "dev", "nope.csv"]):
        assert scim.cli.main(argv) == 1
        err = capsys.readouterr().err
        assert err.endswith(f"{argv[-1]}: No such file or directory\n") and "Errno" not in err, err
