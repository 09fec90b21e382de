"""msal and scim.entra stay off the request path: only scimctl's entra module reaches them (docs/architecture.md)."""

from __future__ import annotations

from tests.unit.test_layers import SCIM, imports


def test_only_the_entra_cli_imports_scim_entra_and_only_scim_entra_imports_msal() -> None:
    offenders = []
    for path in sorted(SCIM.rglob("*.py")):
        inside = path.relative_to(SCIM).parts[0] == "entra"
        for module in imports(path):
            if module.split(".")[0] in ("msal", "msal_extensions") and not inside:
                offenders.append(f"{path.relative_to(SCIM.parent)} imports {module}")
            entra_cli = path.parent == SCIM / "cli" and path.name in (
                "entra.py",
                "_entra_credentials.py",
                "_entra_rotation.py",
            )
            if module.startswith("scim.entra") and not inside and not entra_cli:
                offenders.append(f"{path.relative_to(SCIM.parent)} imports {module}")
    assert offenders == []


def test_scim_entra_never_reaches_the_request_path_layers() -> None:
    """scim.entra may judge names with the service's rules, but never touches the store, routes or HTTP edge."""
    forbidden = ("scim.store", "scim.routes", "scim.http", "scim.app", "scim.dev.devhost", "azure")
    found = [
        f"{path.name} imports {module}"
        for path in sorted((SCIM / "entra").glob("*.py"))
        for module in imports(path)
        if module.startswith(forbidden)
    ]
    assert found == []
