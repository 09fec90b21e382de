"""The layers of docs/architecture.md point one way; this fails on a reverse import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SCIM = Path(__file__).resolve().parents[2] / "scim"


def imports(path: Path) -> set[str]:
    """Every module a file imports, at module level or inside functions (lazy imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def files(package: str) -> list[Path]:
    return sorted((SCIM / package).rglob("*.py"))


def offending(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(SCIM.parent)} imports {module}"
        for path in paths
        for module in sorted(imports(path))
        if module.startswith(forbidden)
    ]


def test_protocol_is_pure() -> None:
    """protocol/ imports nothing from the layers above or beside it, and no I/O library."""
    forbidden = (
        "scim.service",
        "scim.store",
        "scim.auth",
        "scim.secrets",
        "scim.http",
        "scim.routes",
        "scim.app",
        "scim.cli",
        "scim.telemetry",
        "azure",
        "aiohttp",
        "opentelemetry",
    )
    assert offending(files("protocol"), forbidden) == []


def test_service_talks_to_a_store_never_to_azure() -> None:
    forbidden = ("azure", "aiohttp", "scim.store.tables", "scim.store.memory", "scim.http", "scim.routes", "scim.app")
    assert offending(files("service"), forbidden) == []


def test_event_schema_is_pure_and_the_relay_stays_out_of_service_and_store() -> None:
    """scim/protocol/changes.py is plain data (the store imports it); the relay's I/O is imported by neither."""
    shared = {"scim.model", "scim.clock"}  # the plain data and the clock every layer shares
    imported = imports(SCIM / "protocol" / "changes.py") - shared
    assert [m for m in imported if m.startswith(("scim.", "azure", "aiohttp"))] == []
    assert (
        offending(files("service") + files("store") + files("protocol"), ("scim.events.relay", "scim.events.queue"))
        == []
    )


@pytest.mark.parametrize("package", ["protocol", "service", "store", "auth", "secrets", "cli"])
def test_only_the_edges_know_azure_functions(package: str) -> None:
    assert offending(files(package), ("azure.functions",)) == []


def test_only_store_secrets_and_telemetry_touch_azure_sdks() -> None:
    allowed = {"store", "secrets"}
    others = [p for p in SCIM.rglob("*.py") if p.relative_to(SCIM).parts[0] not in allowed]
    # app.py builds the credential for the Table store; devhost.py is the local Functions host;
    # events/queue.py is the change feed's one Queue Storage module.
    exempt = {SCIM / "app.py", SCIM / "dev" / "devhost.py", SCIM / "telemetry.py", SCIM / "events" / "queue.py"}
    sdks = ("azure.data", "azure.keyvault", "azure.identity", "azure.core", "azure.monitor", "azure.storage")
    assert offending([p for p in others if p not in exempt], sdks) == []
