"""scimctl never creates a stray secrets file in the folder it is run from.

Without SCIM_SECRETS_FILE it used `./.data/secrets.json` of the shell's folder: a new signing key the running
service did not know, so every client created there got 401. Now the file is the data directory's (SCIM_DATA_DIR,
or the repository's .data, as `make run` uses), and a missing one is created only where a setting says so.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

import scim.config
from scim.cli import main
from scim.dev.azurite import Azurite

pytestmark = pytest.mark.azurite


@pytest.fixture
def elsewhere(azurite: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """An admin's shell in another folder, pointed at a Table store, with no secrets setting."""
    for name in [k for k in __import__("os").environ if k.startswith("SCIM_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SCIM_STORE", "tables")
    monkeypatch.setenv("SCIM_TABLES_CONNECTION_STRING", azurite.connection_string)
    monkeypatch.setenv("SCIM_TABLE_PREFIX", "sec" + secrets.token_hex(4))
    repository_data = tmp_path / "repository" / ".data"
    monkeypatch.setattr(scim.config, "REPOSITORY_DATA_DIR", repository_data)  # where this checkout's .data would be
    shell = tmp_path / "somewhere-else"
    shell.mkdir()
    monkeypatch.chdir(shell)
    return shell, repository_data


def test_a_missing_secrets_file_is_not_created_and_the_setting_is_named(
    elsewhere: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    shell, repository_data = elsewhere
    assert main(["directory", "create", "dev"]) == 0  # commands that hold no secret still work
    capsys.readouterr()
    assert main(["client", "create", "--directory", "dev"]) == 1
    err = capsys.readouterr().err
    assert "SCIM_SECRETS_FILE" in err and str(repository_data / "secrets.json") in err and "Traceback" not in err
    assert list(shell.iterdir()) == [] and not repository_data.exists()


def test_without_a_setting_scimctl_uses_the_data_directorys_file_from_any_folder(
    elsewhere: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shell, repository_data = elsewhere
    monkeypatch.setenv("SCIM_SECRETS_FILE", str(repository_data / "secrets.json"))  # as `make run` sets it
    assert main(["directory", "create", "dev"]) == 0
    assert main(["client", "create", "--directory", "dev"]) == 0
    monkeypatch.delenv("SCIM_SECRETS_FILE")
    before = (repository_data / "secrets.json").read_text()
    capsys.readouterr()
    assert main(["client", "create", "--directory", "dev", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["client_id"]
    assert (repository_data / "secrets.json").read_text() != before  # the new client's secret went there
    assert list(shell.iterdir()) == []
