"""azure.yaml, main.parameters.json, host.json and .funcignore agree with main.bicep and Flex."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from fnmatch import fnmatch
from typing import Any

import pytest
import yaml

from tests.infra.bicep import INFRA, MAIN, ROOT, module, only, parse, unquote

# azd substitutes ${NAME} and ${NAME=default} from the environment before the deployment.
_AZD_VALUE = re.compile(r"\$\{(?P<name>[A-Z][A-Z0-9_]*)(?:=(?P<default>[^}]*))?\}")


@pytest.fixture(scope="module")
def main_params() -> dict[str, Any]:
    return dict(parse(MAIN)["parameters"])


@pytest.fixture(scope="module")
def azd_params() -> dict[str, Any]:
    doc = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    return dict(doc["parameters"])


def test_parameters_file_covers_required_and_names_only_real_parameters(
    main_params: dict[str, Any], azd_params: dict[str, Any]
) -> None:
    required = {name for name, p in main_params.items() if p["default"] is None}
    assert required == {"environmentName", "location"}
    assert required <= azd_params.keys()
    assert azd_params.keys() <= main_params.keys()


def test_parameters_file_uses_azd_variables(azd_params: dict[str, Any]) -> None:
    for name, entry in azd_params.items():
        assert _AZD_VALUE.fullmatch(entry["value"]), f"{name} is not an azd ${{VAR}} reference"
    assert azd_params["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert azd_params["location"]["value"] == "${AZURE_LOCATION}"
    assert azd_params["principalId"]["value"] == "${AZURE_PRINCIPAL_ID}"


def test_parameters_file_defaults_match_bicep_defaults(main_params: dict[str, Any], azd_params: dict[str, Any]) -> None:
    for name, entry in azd_params.items():
        match = _AZD_VALUE.fullmatch(entry["value"])
        assert match is not None
        bicep_default = main_params[name]["default"]
        if bicep_default is None:
            continue
        # An unset variable without "=default" becomes "", which only suits string parameters.
        default = match["default"] if match["default"] is not None else ""
        expected = str(bicep_default).lower() if isinstance(bicep_default, bool) else str(bicep_default)
        assert default == expected, f"{name}: azd default {default!r} != Bicep default {bicep_default!r}"


def test_generated_parameters_stay_out_of_the_parameters_file(azd_params: dict[str, Any]) -> None:
    # A value here would replace the per-deployment newGuid()/utcNow() defaults.
    assert "signingKey" not in azd_params
    assert "deploymentTime" not in azd_params


def test_azure_yaml_deploys_the_tagged_function_app() -> None:
    doc = yaml.safe_load((ROOT / "azure.yaml").read_text(encoding="utf-8"))
    assert doc["name"]
    assert (ROOT / doc["infra"]["path"] / f"{doc['infra']['module']}.bicep") == MAIN
    assert doc["services"] == {"api": {"project": ".", "language": "python", "host": "function"}}
    site_tags = only(module("api"), "Microsoft.Web/sites").body["tags"]["function"]["parameters"]["arg_2"]
    assert {unquote(k): v for k, v in site_tags.items()}["azd-service-name"] in doc["services"]


def test_host_json_for_production() -> None:
    host = json.loads((ROOT / "host.json").read_text(encoding="utf-8"))
    assert host["version"] == "2.0"
    assert host["extensions"]["http"]["routePrefix"] == ""
    assert host["telemetryMode"] == "OpenTelemetry"
    hours, minutes, seconds = (int(part) for part in host["functionTimeout"].split(":"))
    timeout = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    # Entra gives up after 60 s and the front end cuts HTTP responses at 230 s.
    assert timedelta(seconds=60) <= timeout <= timedelta(seconds=230)
    assert host["logging"]["logLevel"] == {"default": "Information", "Host.Results": "Error", "Function": "Information"}
    # HTTP triggers are built into the host; an extension bundle would only add cold-start work.
    assert "extensionBundle" not in host


def _ignored(patterns: list[str], path: str) -> bool:
    parts = path.split("/")
    for pattern in patterns:
        bare = pattern.rstrip("/")
        if any(fnmatch(part, bare) for part in parts) or fnmatch(path, bare):
            return True
    return False


def test_funcignore_keeps_the_app_and_drops_the_rest() -> None:
    lines = (ROOT / ".funcignore").read_text(encoding="utf-8").splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    for path in [
        "tests/unit/test_x.py",
        "bench/run.py",
        ".venv/bin/python",
        ".venv-checkov/bin/checkov",
        "node_modules/azurite/x.js",
        ".data/table.json",
        "infra/main.bicep",
        "docs/deploy.md",
        "scim/__pycache__/x.pyc",
        ".azure/dev/.env",
        "requirements-dev.txt",
        "package.json",
        "package-lock.json",
    ]:
        assert _ignored(patterns, path), f"{path} would be deployed"
    for path in ["function_app.py", "host.json", "requirements.txt", "scim/http.py", "scim/store/tables.py"]:
        assert not _ignored(patterns, path), f"{path} would be left out"


def test_new_parameters_are_azd_variables(azd_params: dict[str, Any]) -> None:
    """Settable with `azd env set`, so they survive the next provision."""
    expected = {
        "logPii": "${SCIM_LOG_PII=false}",
        "clientAddressHeader": "${SCIM_CLIENT_ADDRESS_HEADER}",
        "frontDoorId": "${SCIM_FRONT_DOOR_ID}",
        "keyVaultPurgeProtection": "${SCIM_KEYVAULT_PURGE_PROTECTION=true}",
        "keyVaultNameSuffix": "${SCIM_KEYVAULT_NAME_SUFFIX}",
    }
    assert {name: azd_params[name]["value"] for name in expected} == expected
