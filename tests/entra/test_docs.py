"""Every `scimctl entra` command that docs/deploy.md shows runs here, in order, against the Graph double."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from scim.cli import main
from tests.doubles.graph import GraphDouble
from tests.support.scimctl import Cli

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
REAL_TENANT = "# needs a real Entra tenant"


def documented() -> list[list[str]]:
    """The `scimctl entra` lines of the fenced blocks marked as needing a real tenant."""
    commands = []
    for block in re.findall(r"```(?:bash|sh)\n(.*?)```", DEPLOY.read_text(), flags=re.S):
        if REAL_TENANT not in block:
            continue
        for line in block.splitlines():
            if line.startswith("scimctl entra "):
                commands.append(shlex.split(line, comments=True)[1:])
    return commands


def test_the_documented_sequence_runs(cli: Cli, graph: GraphDouble) -> None:
    commands = documented()
    assert [c[:2] for c in commands] == [
        ["entra", "setup"], ["entra", "setup"], ["entra", "check"], ["entra", "setup"], ["entra", "rotate"],
        ["entra", "provision"], ["entra", "status"],
    ]  # fmt: skip
    cli("directory", "create", "contoso")
    cli("role", "add", "--directory", "contoso", "Auditor")
    cli("group", "add", "--directory", "contoso", "PAM-Operators")
    graph.add_user("alice@contoso.com", "Alice")
    for argv in commands:
        if argv[1] == "check":  # what an admin does between setup and check: assign a user and a group
            sp_id = graph.sp_named("SCIM contoso")["id"]
            graph.assign(sp_id, next(iter(graph.users)), "Auditor")
            graph.assign(sp_id, graph.add_group("PAM-Operators"), "Auditor")
        out = cli.text(*argv)
        assert out.strip(), argv
    assert graph.job_of(graph.sp_named("SCIM contoso")["id"]).state == "Active"


def test_every_entra_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("setup", "rotate", "test-connection", "check", "status", "provision"):
        with pytest.raises(SystemExit) as stopped:
            main(["entra", command, "--help"])
        assert stopped.value.code == 0
        text = capsys.readouterr().out
        assert "--tenant" in text and "--sign-in {interactive,device-code,secret,certificate}" in text
    assert "--saml-metadata URL|FILE" in _help("setup", capsys) and "--dry-run" in _help("setup", capsys)


def _help(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        main(["entra", command, "--help"])
    return capsys.readouterr().out


def test_the_parser_offers_exactly_the_modes_setup_knows() -> None:
    import scim.cli.entra
    from scim.entra.modes import AUTH_MODES, HOW

    assert scim.cli.entra.AUTH_MODES == AUTH_MODES and set(HOW) == set(AUTH_MODES)
