"""Start and stop the Azurite table (and queue) services (npm, pinned in package.json) for `make run` and tests.

Usage::

    with Azurite() as azurite:                     # in memory, a free port
        conn = azurite.connection_string
    with Azurite(location=Path(".data")) as azurite:  # on disk, survives restarts
        ...
    with Azurite(queue=True) as azurite:           # also azurite-queue, for the change feed
        azurite.queue_connection_string
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

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / "node_modules" / ".bin" / "azurite-table"
QUEUE_BINARY = ROOT / "node_modules" / ".bin" / "azurite-queue"
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


def queue_connection_string(port: int) -> str:
    """The development-account connection string for a queue endpoint on 127.0.0.1:<port>."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"QueueEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
    )


class _Process:
    """One emulator process: launched, awaited on its port, stopped gracefully."""

    def __init__(self, binary: Path, args: list[str], port: int, setting: str) -> None:
        self.binary, self.args, self.port, self.setting = binary, args, port, setting
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout: float) -> None:
        """Launch the process and wait until it accepts connections."""
        if not self.binary.exists():
            raise RuntimeError(f"{self.binary} is missing: run `npm ci` first")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
            # Without this check the readiness probe below would find the other process and report success.
            raise RuntimeError(
                f"port {self.port} is already in use (another Azurite, e.g. another `make run`?); stop it or set "
                f"{self.setting}"
            )
        # Output goes to a file, not a pipe: a pipe nobody drains would block the emulator once full.
        log = self._log = tempfile.TemporaryFile()  # noqa: SIM115
        # A session of its own: Ctrl-C in the terminal reaches only our process, which then stops Azurite with one
        # SIGINT (Azurite saves on its first SIGINT; a second one, straight from the terminal, would kill it unsaved).
        self._process = subprocess.Popen(  # noqa: S603 - our own arguments
            [str(self.binary), *self.args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log.seek(0)
                output = log.read().decode(errors="replace").strip()
                raise RuntimeError(f"{self.binary.name} exited with {self._process.returncode}: {output}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.binary.name} did not listen on port {self.port} within {timeout} s")

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


class Azurite:
    """azurite-table (and with ``queue``, azurite-queue); a context manager, restartable on the same ports."""

    def __init__(
        self,
        *,
        location: Path | None = None,
        port: int | None = None,
        startup_timeout: float = 30.0,
        queue: bool = False,
        queue_port: int | None = None,
    ) -> None:
        self.location = location
        self.port = port or free_port()
        self.queue_port = (queue_port or free_port()) if queue else None
        self.startup_timeout = startup_timeout
        self._processes: list[_Process] = []

    @property
    def connection_string(self) -> str:
        return connection_string(self.port)

    @property
    def queue_connection_string(self) -> str:
        if self.queue_port is None:
            raise RuntimeError("this Azurite runs no queue service: pass queue=True")
        return queue_connection_string(self.queue_port)

    def _storage(self, kind: str) -> list[str]:
        if self.location is None:
            return ["--inMemoryPersistence"]
        where = self.location if kind == "table" else self.location / "queue"
        where.mkdir(parents=True, exist_ok=True)
        return ["--location", str(where)]

    def start(self) -> None:
        """Launch the processes and wait until they accept connections."""
        common = ["--disableTelemetry", "--skipApiVersionCheck", "--silent"]
        args = ["--tableHost", "127.0.0.1", "--tablePort", str(self.port), *common]
        # Idle connections outlive the client's 15 s pool timeout, so the client always closes first:
        # with Azurite's 5 s default a busy server reset sockets the client was about to reuse.
        args += ["--tableKeepAliveTimeout", "60", *self._storage("table")]
        self._processes = [_Process(BINARY, args, self.port, "SCIM_AZURITE_PORT")]
        if self.queue_port is not None:
            queue_args = ["--queueHost", "127.0.0.1", "--queuePort", str(self.queue_port), *common]
            queue_args += self._storage("queue")
            self._processes.append(_Process(QUEUE_BINARY, queue_args, self.queue_port, "SCIM_AZURITE_QUEUE_PORT"))
        try:
            for process in self._processes:
                process.start(self.startup_timeout)
        except RuntimeError:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every process (gracefully first)."""
        processes, self._processes = self._processes, []
        for process in processes:
            process.stop()

    def restart(self) -> None:
        """Stop and start again on the same ports (and location)."""
        self.stop()
        self.start()

    def __enter__(self) -> Azurite:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
