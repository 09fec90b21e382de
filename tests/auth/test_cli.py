"""scimctl against an App the test holds (MemoryStore + FileSecretStore): outputs, exit codes and --json."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import scim.cli
from scim.app import App, build_app, install_app
from scim.auth import clients
from scim.cli import main
from scim.config import Settings
from scim.model import Resource
from scim.secrets import FileSecretStore
from scim.store.memory import MemoryStore
from tests.auth.helpers import token_request
from tests.support.app import BASE, Client
from tests.support.scimctl import Cli

run = asyncio.run  # main() runs its own event loop, so these tests are synchronous


@pytest.fixture
def shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """Every command builds its App on the same store and secret file, as a deployment's commands would."""
    store, secrets = MemoryStore(), FileSecretStore(tmp_path / "secrets.json")
    monkeypatch.setenv("SCIM_PUBLIC_BASE_URL", BASE)

    def factory(settings: Settings) -> App:
        return build_app(settings, store=store, secret_store=secrets)

    monkeypatch.setattr(scim.cli, "app_factory", factory)
    # The served App is another "instance" than each command's App; skip the 30 s cache bound (tested elsewhere).
    monkeypatch.setattr(clients, "CLIENT_CACHE_SECONDS", 0)
    app = factory(Settings(public_base_url=BASE))
    install_app(app)
    yield app
    install_app(None)


@pytest.fixture
def cli(shared: App, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys)


def test_directories(cli: Cli) -> None:
    assert cli("directory", "create", "contoso") == {
        "directory": "contoso",
        "name_policy": "strict",
        "role_mode": "single",
        "external_id": "shared",
    }
    changed = cli("directory", "set-policy", "contoso", "--policy", "normalize", "--role-mode", "multiple")
    assert changed == {
        "directory": "contoso",
        "name_policy": "normalize",
        "role_mode": "multiple",
        "external_id": "shared",
    }
    unique = cli("directory", "set-policy", "contoso", "--external-id", "unique")
    assert unique["external_id"] == "unique"
    changed = unique
    readme = ("--policy", "strict", "--role-mode", "single", "--external-id", "shared")  # the README's line
    assert cli("directory", "create", "fabrikam", *readme)["external_id"] == "shared"
    assert cli("directory", "list") == [changed, cli("directory", "create", "fabrikam")]
    cli("directory", "set-policy", "nowhere", "--policy", "create", code=1)
    assert "does not exist" in cli.err
    cli("directory", "set-policy", "contoso", code=1)
    cli("directory", "create", "bad id!", code=1)


def test_catalog_and_csv_import(cli: Cli, tmp_path: Path) -> None:
    cli("directory", "create", "contoso")
    assert cli("role", "add", "--directory", "contoso", "Auditor", "--display-name", "Auditors") == {
        "value": "Auditor",
        "display_name": "Auditors",
    }
    cli("role", "add", "--directory", "contoso", "Bad Name", code=1)
    assert "spaces" in cli.err or "valid" in cli.err
    csv_file = tmp_path / "roles.csv"
    csv_file.write_text("name,display name\nAuditor,Auditors\nOperator,Operators\n# a comment\n\nNão,x\nAdmin\n")
    result = cli("role", "import", "--directory", "contoso", str(csv_file), code=1)  # a row was refused
    assert result == {"added": ["Operator", "Admin"], "existing": ["Auditor"], "refused": ["Não"]}
    assert "importing roles: 4/4" in cli.err and "skipped 'Não'" in cli.err
    assert [r["value"] for r in cli("role", "list", "--directory", "contoso")] == ["Admin", "Auditor", "Operator"]
    assert cli("role", "remove", "--directory", "contoso", "Admin") == {"removed": "Admin", "held_by": []}
    cli("role", "remove", "--directory", "contoso", "Admin", code=1)

    groups = tmp_path / "groups.csv"
    groups.write_text("\n".join(f"Team{i}" for i in range(60)) + "\n")
    assert len(cli("group", "import", "--directory", "contoso", str(groups))["added"]) == 60
    assert cli.err.count("importing groups:") >= 10  # progress about twenty times
    listed = cli("group", "list", "--directory", "contoso")
    assert len(listed) == 60 and {"id", "display_name"} <= set(listed[0])
    cli("group", "add", "--directory", "contoso", "Team1", code=1)
    assert cli("group", "remove", "--directory", "contoso", "Team1") == {"removed": "Team1", "memberships_removed": 0}
    cli("group", "list", "--directory", "nowhere", code=1)
    cli("role", "import", "--directory", "contoso", str(tmp_path / "missing.csv"), code=1)


def test_users(cli: Cli, shared: App) -> None:
    cli("directory", "create", "contoso")
    for i in range(3):
        run(shared.store.create_user("contoso", Resource(f"id-{i}", {"userName": f"u{i}@x.example"}, "t", "t")))
    listed = cli("user", "list", "--directory", "contoso", "--count", "2")
    assert [u["userName"] for u in listed] == ["u0@x.example", "u1@x.example"]
    assert "3 users" in cli.err
    shown = cli("user", "show", "--directory", "contoso", "U2@X.example")
    assert shown["id"] == "id-2" and shown["data"]["userName"] == "u2@x.example"
    assert cli("user", "show", "--directory", "contoso", "id-1")["userName"] == "u1@x.example"
    cli("user", "show", "--directory", "contoso", "nobody", code=1)


def test_client_lifecycle(cli: Cli, shared: App) -> None:
    cli("directory", "create", "contoso")
    made = cli("client", "create", "--directory", "contoso", "--networks", "10.0.0.0/8", "2001:db8::/32")
    client_id, secret = made["client_id"], made["client_secret"]
    assert made["networks"] == ["10.0.0.0/8", "2001:db8::/32"]
    assert made["base_url"] == f"{BASE}/scim/v2" and made["token_url"] == f"{BASE}/oauth2/token"
    assert made["secret_expires"].startswith(("20", "21"))
    assert "shown once" in cli.err
    assert cli("client", "list") == [
        {"client_id": client_id, "directory": "contoso", "networks": made["networks"], "disabled": False}
    ]
    shown = cli("client", "show", "--client", client_id)
    assert len(shown["secrets"]) == 1 and secret not in json.dumps(shown)
    http = Client(None)
    assert run(token_request(http, client_id, secret, address="10.1.1.1")).status == 200
    assert run(token_request(http, client_id, secret, address="192.0.2.1")).status == 403

    cli("client", "set-networks", "--client", client_id, "any")
    assert run(token_request(http, client_id, secret, address="192.0.2.1")).status == 200
    cli("client", "set-networks", "--client", client_id, "nonsense", code=1)

    rotated = cli("client", "rotate-secret", "--client", client_id, "--expire-old-in-days", "3")
    assert rotated["previous_secret_expires"] is not None
    for s in (secret, rotated["client_secret"]):
        assert run(token_request(http, client_id, s)).status == 200

    assert cli("client", "disable", "--client", client_id)["disabled"] is True
    assert run(token_request(http, client_id, rotated["client_secret"])).status == 401
    assert cli("client", "enable", "--client", client_id)["disabled"] is False
    assert run(token_request(http, client_id, rotated["client_secret"])).status == 200

    cli("client", "delete", "--client", client_id)
    assert run(token_request(http, client_id, rotated["client_secret"])).status == 401
    cli("client", "delete", "--client", client_id, code=1)
    cli("client", "show", "--client", "not-a-client", code=1)
    cli("client", "create", "--directory", "nowhere", code=1)


def test_tokens(cli: Cli, shared: App) -> None:
    cli("directory", "create", "contoso")
    client_id = cli("client", "create", "--directory", "contoso")["client_id"]
    issued = cli("token", "issue", "--client", client_id)
    assert issued["expires_in"] == 3600 and issued["token_type"] == "Bearer"
    assert cli("token", "issue", "--client", client_id, "--ttl", "360")["expires_in"] == 21600
    cli("token", "issue", "--client", client_id, "--ttl", "30", code=1)
    cli("token", "issue", "--client", client_id, "--ttl", "361", code=1)
    long_lived = cli("token", "--client", client_id, "--long-lived")  # the documented short form
    assert long_lived["expires_in"] >= 3650 * 86400 and "Secret Token" in cli.err
    assert run(Client(long_lived["access_token"]).get("/scim/v2/Users")).status == 200
    listed = cli("token", "list", "--client", client_id)
    assert [t["token_id"] for t in listed] == [long_lived["token_id"]]
    assert cli("token", "revoke", "--client", client_id, "--token-id", long_lived["token_id"])["revoked"]
    assert run(Client(long_lived["access_token"]).get("/scim/v2/Users")).status == 401
    assert cli("token", "list", "--client", client_id) == []
    cli("token", "revoke", "--client", client_id, "--token-id", long_lived["token_id"], code=1)
    cli("client", "disable", "--client", client_id)
    cli("token", "issue", "--client", client_id, code=1)


def test_keys(cli: Cli) -> None:
    cli("directory", "create", "contoso")
    client_id = cli("client", "create", "--directory", "contoso")["client_id"]
    cli("token", "issue", "--client", client_id)  # creates the first signing key
    (first,) = cli("key", "list")
    assert first["signing"] is True
    made = cli("key", "rotate")
    keys = cli("key", "list")
    assert [k["key_id"] for k in keys] == [made["key_id"], first["key_id"]]
    assert [k["signing"] for k in keys] == [False, True]  # the new key waits 90 s before it signs
    cli("key", "retire", "--older-than", "1h", code=1)
    # The floor read `6:00:30`; it is written as the option takes it, and taking it works.
    floor = re.search(r"at least (\S+) \(the longest token lifetime\)", cli.err)
    assert floor and floor[1] == "6h30s", cli.err
    assert cli("key", "retire", "--older-than", floor[1]) == []
    assert cli("key", "retire") == []  # nothing stopped signing yet
    with pytest.raises(SystemExit) as exit_info:
        main(["key", "retire", "--older-than", "soon"])
    assert exit_info.value.code == 2


def test_human_output_and_usage_errors(cli: Cli) -> None:
    assert "(none)" in cli.text("directory", "list")
    cli.text("directory", "create", "contoso")
    assert "directory=contoso" in cli.text("directory", "list")
    assert cli.text("client", "list", "--json").strip() == "[]"  # --json after the subcommand works too
    with pytest.raises(SystemExit) as exit_info:
        main(["client", "frobnicate"])
    assert exit_info.value.code == 2


def test_settings_errors_exit_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SCIM_STORE", "cassandra")
    assert main(["directory", "list"]) == 2
    assert "SCIM_STORE" in capsys.readouterr().err


def test_check_lists_dangling_managers(cli: Cli, shared: App) -> None:
    """`scimctl check` (README) names users whose manager is no user; they are not an inconsistency to repair."""
    cli("directory", "create", "contoso")
    manager = {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "SuzzyQ"}}}
    user = Resource("u1", {"userName": "a@contoso.com", **manager}, "c", "c")
    asyncio.run(shared.store.create_user("contoso", user))
    report = cli("check", "--directory", "contoso", "--repair")
    assert report["consistent"] is True and report["repaired"] == 0
    assert report["dangling_managers"] == ["user u1 has manager 'SuzzyQ', which is not a user of this directory"]
