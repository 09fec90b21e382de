"""`make run` (scimctl serve on Table Storage with its own Azurite) as an operator lives with it:
a second start while one runs changes nothing, restarts reuse one dev client, and SIGTERM or Ctrl-C stop
the host and its Azurite cleanly, with the data saved."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from scim.cli import main
from scim.dev.azurite import connection_string, free_port
from scim.dev.localrun import DEV_CLIENT_FILE
from tests.support.host import ROOT, SCIMCTL, Host, make_run_env, plain_shell_env

pytestmark = [pytest.mark.e2e, pytest.mark.azurite, pytest.mark.slow]


@dataclass
class MakeRun:
    host: Host
    data: Path
    azurite_port: int

    def admin_env(self) -> dict[str, str]:
        """The banner's export line: what points scimctl at this host's store."""
        return {
            "SCIM_STORE": "tables",
            "SCIM_TABLES_CONNECTION_STRING": connection_string(self.azurite_port),
            "SCIM_SECRETS_FILE": str(self.data / "secrets.json"),
        }

    def dev_credentials(self) -> dict[str, str]:
        lines = (self.data / DEV_CLIENT_FILE).read_text(encoding="utf-8").splitlines()
        return dict(line.split("=", 1) for line in lines)


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[MakeRun]:
    env = make_run_env(tmp_path / ".data")
    host = Host(free_port(), env, tmp_path / "serve.log")
    host.start()
    yield MakeRun(host, tmp_path / ".data", int(env["SCIM_AZURITE_PORT"]))
    host.stop()


def _clients(run: MakeRun, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> list[str]:
    for name, value in run.admin_env().items():
        monkeypatch.setenv(name, value)
    assert main(["client", "list", "--json"]) == 0
    return [c["client_id"] for c in json.loads(capsys.readouterr().out)]


def _serve_beside(run: MakeRun, port: int) -> subprocess.CompletedProcess[str]:
    """`scimctl serve` on ``port`` with the running host's settings, to its end."""
    command = [str(SCIMCTL), "serve", "--port", str(port)]
    return subprocess.run(command, env=run.host.env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


def test_a_second_start_fails_before_it_prints_or_writes_anything(
    make_run: MakeRun, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Item 2: the second `make run` used to print a new banner and add a `dev` client, then fail on the port."""
    before = _clients(make_run, monkeypatch, capsys)
    remembered = make_run.dev_credentials()
    second = _serve_beside(make_run, make_run.host.port)
    assert second.returncode == 1
    assert "cannot listen on" in second.stderr and "another `make run`" in second.stderr
    assert "Client secret" not in second.stdout + second.stderr and "Traceback" not in second.stderr
    # Same HTTP port free but Azurite's taken: refused before seeding, too.
    other_port = _serve_beside(make_run, free_port())
    assert other_port.returncode == 1 and "already in use (another Azurite" in other_port.stderr
    assert "Client secret" not in other_port.stdout
    assert _clients(make_run, monkeypatch, capsys) == before
    assert make_run.dev_credentials() == remembered
    assert httpx.get(f"{make_run.host.url}/health", timeout=5).status_code == 200  # the first one is untouched


def test_restarts_reuse_one_dev_client(
    make_run: MakeRun, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Item 2: each start used to add another `dev` client with networks=any."""
    first = _clients(make_run, monkeypatch, capsys)
    credentials = make_run.dev_credentials()
    assert first == [credentials["SCIM_DEV_CLIENT_ID"]]
    assert (make_run.data / DEV_CLIENT_FILE).stat().st_mode & 0o077 == 0
    make_run.host.restart()
    make_run.host.restart()
    assert _clients(make_run, monkeypatch, capsys) == first
    form = {
        "grant_type": "client_credentials",
        "client_id": credentials["SCIM_DEV_CLIENT_ID"],
        "client_secret": credentials["SCIM_DEV_CLIENT_SECRET"],
    }
    assert httpx.post(f"{make_run.host.url}/oauth2/token", data=form, timeout=10).status_code == 200


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_host_and_its_azurite_with_the_data_saved(
    make_run: MakeRun, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], sig: signal.Signals
) -> None:
    """Item 3: SIGTERM used to leave Azurite running, SIGINT to print a KeyboardInterrupt traceback."""
    for name, value in make_run.admin_env().items():
        monkeypatch.setenv(name, value)
    # Written just before the signal, well inside Azurite's 5 s autosave: only a graceful stop keeps it.
    assert main(["directory", "create", "saved", "--json"]) == 0
    capsys.readouterr()
    process = make_run.host.process
    assert process is not None and _listening(make_run.azurite_port)
    process.send_signal(sig)
    assert process.wait(timeout=30) == 0
    output = make_run.host.output()
    assert "Traceback" not in output and "KeyboardInterrupt" not in output
    deadline = time.monotonic() + 10
    while _listening(make_run.azurite_port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _listening(make_run.azurite_port), "Azurite outlived the host"
    make_run.host.process = None
    make_run.host.start()
    assert main(["directory", "list", "--json"]) == 0
    assert '"saved"' in capsys.readouterr().out


def _healthy(port: int) -> bool:
    with contextlib.suppress(httpx.TransportError):
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
    return False


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.parametrize(
    ("to_group", "port_setting"),
    [(True, "PORT"), (False, "SCIM_PORT")],
    ids=["timeout: SIGTERM to the process group, make run PORT=", "supervisor: SIGTERM to make alone, SCIM_PORT="],
)
def test_sigterm_to_make_run_stops_the_whole_tree_and_frees_the_port(
    tmp_path: Path, to_group: bool, port_setting: str
) -> None:
    """The recipe ran through `/bin/sh -c`, which kept the signal, so `scimctl serve` and both
    Azurites outlived make and the next `make run` found the port taken; and make run had no port setting."""
    env = make_run_env(tmp_path / ".data")
    port = free_port()
    argv = ["make", "--no-print-directory", "run"]
    if port_setting == "PORT":
        argv.append(f"PORT={port}")
    else:
        env["SCIM_PORT"] = str(port)
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        # Its own process group, as a shell job or `timeout make run` has.
        make = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90  # make install's check, Azurite's start and the seed, on a busy machine
        while not _healthy(port):
            assert make.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)
        tree = psutil.Process(make.pid).children(recursive=True)  # Azurite too: scimctl starts it
        names = " ".join(" ".join(p.cmdline()) for p in tree)
        assert "scimctl" in names and "azurite" in names, names
        if to_group:
            os.killpg(make.pid, signal.SIGTERM)
        else:
            make.send_signal(signal.SIGTERM)
        make.wait(timeout=30)
        _, alive = psutil.wait_procs(tree, timeout=20)
        assert alive == [], [" ".join(p.cmdline()) for p in alive]
        ports = (port, int(env["SCIM_AZURITE_PORT"]), int(env["SCIM_AZURITE_QUEUE_PORT"]))
        assert all(_free(p) for p in ports), ports
        output = log.read_text(errors="replace")
        assert "Traceback" not in output, output
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(make.pid, signal.SIGKILL)
        # What a failed run left: Azurite runs in its own session, and its data lives under tmp_path.
        for leftover in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                if str(tmp_path) in " ".join(leftover.cmdline()):
                    leftover.kill()


def test_a_restart_keeps_the_dev_directory_s_policies(
    make_run: MakeRun, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each start reset dev's name policy to strict (while keeping its role mode)."""
    for name, value in make_run.admin_env().items():
        monkeypatch.setenv(name, value)
    assert main(["directory", "set-policy", "dev", "--policy", "normalize", "--role-mode", "multiple"]) == 0
    make_run.host.restart()
    capsys.readouterr()
    assert main(["directory", "list", "--json"]) == 0
    (dev,) = [d for d in json.loads(capsys.readouterr().out) if d["directory"] == "dev"]
    assert (dev["name_policy"], dev["role_mode"]) == ("normalize", "multiple"), dev


def test_test_hosts_reserve_azurite_s_queue_port_too(tmp_path: Path) -> None:
    """The docs test chose a free table port and took the port below it for queues, which
    another test's Azurite could hold; both are now chosen free and passed to `make run`'s settings."""
    env = make_run_env(tmp_path)
    tables, queues = int(env["SCIM_AZURITE_PORT"]), int(env["SCIM_AZURITE_QUEUE_PORT"])
    assert tables != queues and _free(tables) and _free(queues)


def test_the_banner_s_admin_line_reaches_scimctl_from_a_plain_shell(make_run: MakeRun, tmp_path: Path) -> None:
    """The banner pointed scimctl at the store but not scimctl itself, which make install
    leaves in .venv/bin, off PATH: pasting the line then running scimctl said `command not found`."""
    (line,) = [x.strip() for x in make_run.host.output().splitlines() if x.strip().startswith("export PATH=")]
    env = plain_shell_env()
    script = f"set -eu\n{line}\nscimctl directory list --json"
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "dev" in [d["directory"] for d in json.loads(done.stdout)]


def test_a_client_made_from_the_banner_s_shell_names_the_port_served(make_run: MakeRun, tmp_path: Path) -> None:
    """On a port other than 7071, `client create` from the banner's shell printed 7071's Base URL and Token URL."""
    (line,) = [x.strip() for x in make_run.host.output().splitlines() if x.strip().startswith("export PATH=")]
    script = f"set -eu\n{line}\nscimctl client create --directory dev --read-only --json"
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=plain_shell_env(), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    assert (made["base_url"], made["token_url"]) == (make_run.host.scim_url, make_run.host.token_url)
