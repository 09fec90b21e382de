"""The harness keeps its promises: a test run killed outright (SIGTERM or SIGKILL: no fixture teardown) leaves no
Azurite behind, and a test that starts Azurite without the azurite marker fails."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.support.host import ROOT

HOLD = Path(__file__).with_name("hold_azurite.py")
UNMARKED = Path(__file__).with_name("unmarked_azurite.py")


def _emulators(run: psutil.Process) -> list[psutil.Process]:
    return [p for p in run.children(recursive=True) if any("azurite" in part for part in p.cmdline())]


@pytest.mark.azurite
@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_killed_run_leaves_no_azurite(tmp_path: Path, sig: signal.Signals) -> None:
    report = tmp_path / "port"
    env = {**os.environ, "SCIM_TEST_REPORT": str(report)}
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(HOLD)]
    run = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    emulators: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 60
        while not report.exists() and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert report.exists(), "the held test never got its Azurite"
        time.sleep(0.5)  # the watchdog polls every 0.2 s; let it see the emulator
        emulators = _emulators(psutil.Process(run.pid))
        assert emulators, "no Azurite process found under the test run"
        run.send_signal(sig)
        run.wait(timeout=10)
        _, alive = psutil.wait_procs(emulators, timeout=5)
        assert not alive, f"Azurite outlived the killed run: {alive}"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        for process in emulators:  # when the test fails, it does not leak what it found
            if process.is_running():
                process.kill()


def test_a_test_that_starts_azurite_without_the_marker_fails() -> None:
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(UNMARKED)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stdout
    assert "starts Azurite: mark it azurite" in done.stdout
