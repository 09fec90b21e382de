"""checkov's Bicep checks pass on infra/, and every suppression states its reason inline."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.infra.bicep import INFRA, ROOT

# checkov pins pycep-parser 0.5.1, which conflicts with the 0.7.1 in .venv, so it has its own venv.
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHECKOV.exists(),
        reason="checkov is not installed: run `make checkov-venv` "
        "(python3 -m venv .venv-checkov && .venv-checkov/bin/pip install checkov==3.3.30)",
    ),
]


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    # --skip-download keeps checkov offline (it otherwise calls its vendor's API).
    run = subprocess.run(
        [str(CHECKOV), "--framework", "bicep", "--skip-download", "-d", str(INFRA), "--compact", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert run.stdout, f"checkov printed nothing (exit {run.returncode}): {run.stderr[-2000:]}"
    parsed = json.loads(run.stdout)
    # checkov prints one report object per framework, or a list when it emits several.
    (bicep,) = [r for r in (parsed if isinstance(parsed, list) else [parsed]) if r["check_type"] == "bicep"]
    assert run.returncode == (1 if bicep["summary"]["failed"] else 0)
    return dict(bicep)


def test_checkov_reads_every_resource(report: dict[str, Any]) -> None:
    summary = report["summary"]
    assert summary["parsing_errors"] == 0
    # Registry modules would leave checkov nothing to read (docs/reference/azure.md §6).
    assert summary["resource_count"] >= 20
    assert summary["passed"] > 0


def test_checkov_finds_no_failed_check(report: dict[str, Any]) -> None:
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']})" for c in report["results"]["failed_checks"]]
    assert failed == []


def test_every_skipped_check_carries_a_reason(report: dict[str, Any]) -> None:
    for check in report["results"]["skipped_checks"]:
        reason = check["check_result"].get("suppress_comment", "")
        assert len(reason.strip()) >= 20, f"{check['check_id']} on {check['resource']} has no real reason"
