"""Start and stop the Azurite table service (npm, pinned in package.json) for `make run` and the tests.

Usage::

    with Azurite() as azurite:                     # in memory, a free port
        conn = azurite.connection_string
    with Azurite(location=Path(".data")) as azurite:  # on disk, survives restarts
        ...
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
BINARY = ROOT / "node_modules" / ".bin" / "azurite-table"
# The emulator's well-known development account (public, documented by Microsoft; not a secret).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def connection_string(port: int) -> str:
    """The development-account connection string for a table endpoint on 127.0.0.1:<port>."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"TableEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
    )


class Azurite:
    """One azurite-table process; a context manager, restartable on the same port and location."""

    def __init__(self, *, location: Path | None = None, port: int | None = None, startup_timeout: float = 30.0) -> None:
        self.location = location
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def connection_string(self) -> str:
        return connection_string(self.port)

    def start(self) -> None:
        """Launch the process and wait until it accepts connections."""
        if not BINARY.exists():
            raise RuntimeError(f"{BINARY} is missing: run `npm ci` first")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
            # Without this check the readiness probe below would find the other process and report success.
            raise RuntimeError(
                f"port {self.port} is already in use (another Azurite, e.g. another `make run`?); stop it or set "
                "SCIM_AZURITE_PORT"
            )
        args = [str(BINARY), "--tableHost", "127.0.0.1", "--tablePort", str(self.port)]
        args += ["--disableTelemetry", "--skipApiVersionCheck", "--silent"]
        # Idle connections outlive the client's 15 s pool timeout, so the client always closes first:
        # with Azurite's 5 s default a busy server reset sockets the client was about to reuse.
        args += ["--tableKeepAliveTimeout", "60"]
        if self.location is None:
            args.append("--inMemoryPersistence")
        else:
            self.location.mkdir(parents=True, exist_ok=True)
            args += ["--location", str(self.location)]
        # Output goes to a file, not a pipe: a pipe nobody drains would block the emulator once full.
        log = self._log = tempfile.TemporaryFile()  # noqa: SIM115
        # A session of its own: Ctrl-C in the terminal reaches only our process, which then stops Azurite with one
        # SIGINT (Azurite saves on its first SIGINT; a second one, straight from the terminal, would kill it unsaved).
        self._process = subprocess.Popen(  # noqa: S603 - our own arguments
            args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log.seek(0)
                output = log.read().decode(errors="replace").strip()
                raise RuntimeError(f"azurite-table exited with {self._process.returncode}: {output}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"azurite-table did not listen on port {self.port} within {self.startup_timeout} s")

    def stop(self) -> None:
        """Stop gracefully (SIGINT), then terminate, then kill if it lingers."""
        process, self._process = self._process, None
        log, self._log = self._log, None
        if process is not None and process.poll() is None:
            # SIGINT is Azurite's graceful stop: it saves its database. SIGTERM would drop whatever
            # arrived since the last autosave (LokiJS, every 5 s), so it is only the fallback.
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
                process.send_signal(sig)
                try:
                    process.wait(timeout=10)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if log is not None:
            log.close()

    def restart(self) -> None:
        """Stop and start again on the same port (and location)."""
        self.stop()
        self.start()

    def __enter__(self) -> Azurite:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
