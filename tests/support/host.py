"""The real local host in a subprocess (`scimctl serve`), and the environments a test gives it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from scim.dev.azurite import free_port


def _scimctl() -> Path:
    """The scimctl of the interpreter running the tests (its venv's bin), else the one on PATH."""
    beside = Path(sys.executable).parent / "scimctl"
    if beside.exists():
        return beside
    found = shutil.which("scimctl")
    if found is None:
        raise RuntimeError(f"no scimctl beside {sys.executable} nor on PATH: run `make install`")
    return Path(found)


SCIMCTL = _scimctl()
ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"  # Entra client ids are lowercase GUIDs
CLIENT_SECRET = "e2e-secret-" + "s" * 40
STARTUP_TIMEOUT = 30.0


@dataclass
class Host:
    """One `scimctl serve` process and what a client needs to reach it."""

    port: int
    env: dict[str, str]
    log: Path
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def scim_url(self) -> str:
        """The Base URL an admin pastes into Entra as the Tenant URL."""
        return f"{self.url}/scim/v2"

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth2/token"

    def token(self) -> str:
        """A bearer token from the token endpoint (client credentials in a form body)."""
        form = {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret}
        response = httpx.post(self.token_url, data=form, timeout=10)
        response.raise_for_status()
        return str(response.json()["access_token"])

    def start(self) -> None:
        """Launch the server and wait until /health answers 200."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(SCIMCTL), "serve", "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"scimctl serve exited with {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"scimctl serve did not answer /health within {STARTUP_TIMEOUT} s:\n{self.output()}")

    def stop(self) -> None:
        """Terminate the server; kill it if it lingers."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def restart(self) -> None:
        """Stop and start on the same port with the same settings (the store decides what survives)."""
        self.stop()
        self.start()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


StartHost = Callable[..., Host]


def host_env(policy: str, **extra: str) -> dict[str, str]:
    """The server's environment: this one, less any SCIM_* the developer has set, plus the test's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_")}
    env.update(
        SCIM_STORE="memory",
        SCIM_DEV_CLIENT_ID=CLIENT_ID,
        SCIM_DEV_CLIENT_SECRET=CLIENT_SECRET,
        SCIM_NAME_POLICY=policy,
    )
    env.update(extra)
    return env


def plain_shell_env() -> dict[str, str]:
    """This environment as a user's shell has it after `make install`: no SCIM_*, and neither the project's
    .venv/bin on PATH nor the venv activated (pytest may run from an activated one)."""
    venv_bin = SCIMCTL.parent.resolve()
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p).resolve() != venv_bin]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_") and k != "VIRTUAL_ENV"}
    env["PATH"] = os.pathsep.join(path)
    return env


def make_run_env(data: Path) -> dict[str, str]:
    """`make run`'s environment for a test: data under `data`, Azurite's table and queue ports each chosen free
    (left to itself the queue port is the one below the table port, which another test's Azurite may hold)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_")}
    table_port = free_port()
    queue_port = free_port()
    while queue_port == table_port:
        queue_port = free_port()
    env.update(
        SCIM_STORE="tables",
        SCIM_DATA_DIR=str(data),
        SCIM_AZURITE_PORT=str(table_port),
        SCIM_AZURITE_QUEUE_PORT=str(queue_port),
    )
    return env
