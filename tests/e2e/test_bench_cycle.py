"""bench/bench_cycle.py (README "Memberships at scale") runs end to end at a tiny size with every request 2xx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.azurite, pytest.mark.e2e]


def test_the_cycle_benchmark_runs_and_reports_every_phase() -> None:
    command = [sys.executable, "-m", "bench.bench_cycle", "--users", "60", "--groups", "4", "--memberships", "150"]
    command += ["--large", "60"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    for phase in ("users (filter + POST)", "memberships (PATCH add 10)", "GET large group", "DELETE large group"):
        line = next(line for line in done.stdout.splitlines() if line.startswith(phase))
        assert "non-2xx   0" in line and "MiB" in line, line
    assert "| raw" in next(line for line in done.stdout.splitlines() if line.startswith("memberships")), done.stdout
    assert "group.patch" in done.stdout, "round trips per request come from the host's log"
