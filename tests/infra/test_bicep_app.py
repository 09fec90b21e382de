"""The Flex Consumption function app in infra/app/api.bicep and how main.bicep wires it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.infra.bicep import INFRA, MAIN, decorator, module, only, parse, references, resources_of_type, unquote

# functions-app-settings.md "Flex Consumption plan deprecations" (docs/reference/azure.md §1).
FLEX_FORBIDDEN_SETTINGS = {
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
    "FUNCTIONS_MAX_HTTP_CONCURRENCY",
    "FUNCTIONS_WORKER_PROCESS_COUNT",
    "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
    "WEBSITE_TIME_ZONE",
    "TZ",
}
FLEX_FORBIDDEN_SITE_CONFIG = {"alwaysOn", "linuxFxVersion", "ftpsState", "use32BitWorkerProcess", "vnetRouteAllEnabled"}

LITERAL_SETTINGS = {
    "AzureWebJobsStorage__credential": "managedidentity",
    "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY": "true",
    "OTEL_TRACES_SAMPLER": "microsoft.fixed_percentage",
    "OTEL_TRACES_SAMPLER_ARG": "1.0",
    "SCIM_STORE": "tables",
    "AZURE_TOKEN_CREDENTIALS": "managedidentitycredential",
}
WIRED_SETTINGS = {
    "AzureWebJobsStorage__accountName": "storageAccountName",
    "AzureWebJobsStorage__clientId": "identityClientId",
    "AZURE_CLIENT_ID": "identityClientId",
    "OTEL_SERVICE_NAME": "name",
    "SCIM_TABLES_ENDPOINT": "tablesEndpoint",
    "SCIM_QUEUES_ENDPOINT": "queuesEndpoint",
    "SCIM_KEYVAULT_URL": "keyVaultUri",
    "SCIM_PUBLIC_BASE_URL": "publicBaseUrl",
    "SCIM_CLIENT_ADDRESS_HEADER": "clientAddressHeader",
}


@pytest.fixture(scope="module")
def api() -> dict[str, Any]:
    return module("api")


@pytest.fixture(scope="module")
def site(api: dict[str, Any]) -> dict[str, Any]:
    return only(api, "Microsoft.Web/sites").body


@pytest.fixture(scope="module")
def settings(api: dict[str, Any]) -> dict[str, Any]:
    config = only(api, "Microsoft.Web/sites/config").body
    assert config["name"] == "appsettings"
    return dict(config["properties"])


def test_plan_is_flex_consumption(api: dict[str, Any]) -> None:
    plan = only(api, "Microsoft.Web/serverfarms").body
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True


def test_site_is_https_only_tls12_http2_without_debugging_or_open_cors(site: dict[str, Any]) -> None:
    props = site["properties"]
    assert props["httpsOnly"] is True
    config = props["siteConfig"]
    assert config["minTlsVersion"] == "1.2"
    assert config["scmMinTlsVersion"] == "1.2"
    assert config["http20Enabled"] is True
    assert config["remoteDebuggingEnabled"] is False
    assert "*" not in config.get("cors", {}).get("allowedOrigins", [])
    assert not FLEX_FORBIDDEN_SITE_CONFIG & config.keys()
    assert not FLEX_FORBIDDEN_SITE_CONFIG & props.keys()


def test_site_runs_as_the_user_assigned_identity(site: dict[str, Any]) -> None:
    identity = site["identity"]
    assert identity["type"] == "UserAssigned"
    assert [unquote(k) for k in identity["userAssignedIdentities"]] == ["${identityId}"]
    auth = site["properties"]["functionAppConfig"]["deployment"]["storage"]["authentication"]
    assert auth == {"type": "UserAssignedIdentity", "userAssignedIdentityResourceId": "identityId"}


def test_ftp_and_basic_auth_publishing_are_off(api: dict[str, Any]) -> None:
    policies = resources_of_type(api, "Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    assert {p.body["name"]: p.body["properties"]["allow"] for p in policies} == {"ftp": False, "scm": False}


def test_function_app_config_python_311_and_scale_parameters(api: dict[str, Any], site: dict[str, Any]) -> None:
    app_config = site["properties"]["functionAppConfig"]
    assert app_config["runtime"] == {"name": "python", "version": "3.11"}
    scale = app_config["scaleAndConcurrency"]
    assert scale["instanceMemoryMB"] == "instanceMemoryMB"
    assert scale["maximumInstanceCount"] == "maximumInstanceCount"
    assert scale["triggers"]["http"]["perInstanceConcurrency"] == "httpPerInstanceConcurrency"
    assert scale["alwaysReady"] == "alwaysReady"
    always_ready = api["variables"]["alwaysReady"]["value"]["operator"]["operands"]
    assert always_ready["true_value"] == [{"name": "http", "instanceCount": "alwaysReadyInstances"}]
    assert always_ready["false_value"] == []


@pytest.mark.parametrize("path", [MAIN, INFRA / "app" / "api.bicep"], ids=["main", "api"])
def test_scale_parameter_defaults(path: Path) -> None:
    params = parse(path)["parameters"]
    assert params["instanceMemoryMB"]["default"] == 2048
    assert decorator(params["instanceMemoryMB"], "allowed") == [512, 2048, 4096]
    assert params["httpPerInstanceConcurrency"]["default"] == 16
    assert params["alwaysReadyInstances"]["default"] == 0
    assert decorator(params["maximumInstanceCount"], "max_value") == 1000
    assert params["allowEntraOnly"]["default"] is False
    assert params["customDomain"]["default"] == ""


def test_app_settings_identity_based_and_complete(settings: dict[str, Any]) -> None:
    for key, value in LITERAL_SETTINGS.items():
        assert settings[key] == value, key
    for key, ref in WIRED_SETTINGS.items():
        assert settings[key] == ref, key
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "ClientId=${identityClientId};Authorization=AAD"
    conn = settings["APPLICATIONINSIGHTS_CONNECTION_STRING"]
    assert conn["operator"]["operands"]["operand_1"] == "applicationInsights"
    # Host storage is identity-based: no AzureWebJobsStorage connection string at all.
    assert "AzureWebJobsStorage" not in settings
    assert not FLEX_FORBIDDEN_SETTINGS & settings.keys()


def test_public_base_url_prefers_custom_domain(api: dict[str, Any]) -> None:
    operands = api["variables"]["publicBaseUrl"]["value"]["operator"]["operands"]
    assert operands["condition"]["function"] == {"type": "empty", "parameters": {"item_to_test": "customDomain"}}
    assert operands["true_value"] == "https://${site.properties.defaultHostName}"
    assert operands["false_value"] == "https://${customDomain}"


def test_entra_only_restriction_admits_the_azure_active_directory_tag(
    api: dict[str, Any], site: dict[str, Any]
) -> None:
    config = site["properties"]["siteConfig"]
    assert config["ipSecurityRestrictions"] == "restrictionRules"
    parts = api["variables"]["restrictionRules"]["value"]["function"]
    assert parts["type"] == "concat"
    entra = parts["parameters"]["arg_1"]["operator"]["operands"]
    assert (entra["condition"], entra["true_value"], entra["false_value"]) == ("allowEntraOnly", "entraOnlyRules", [])
    (rule,) = api["variables"]["entraOnlyRules"]["value"]
    assert (rule["action"], rule["tag"], rule["ipAddress"]) == ("Allow", "ServiceTag", "AzureActiveDirectory")
    default = config["ipSecurityRestrictionsDefaultAction"]["operator"]["operands"]
    assert default["condition"]["function"] == {"type": "empty", "parameters": {"item_to_test": "restrictionRules"}}
    assert (default["true_value"], default["false_value"]) == ("Allow", "Deny")


def test_front_door_restriction_admits_only_this_profile(api: dict[str, Any]) -> None:
    """The Front Door restriction of security.md §4.2 is a parameter, not a hand-made rule."""
    parts = api["variables"]["restrictionRules"]["value"]["function"]["parameters"]
    front_door = parts["arg_2"]["operator"]["operands"]
    assert front_door["condition"]["function"] == {"type": "empty", "parameters": {"item_to_test": "frontDoorId"}}
    assert (front_door["true_value"], front_door["false_value"]) == ([], "frontDoorRules")
    (rule,) = api["variables"]["frontDoorRules"]["value"]
    assert (rule["action"], rule["tag"], rule["ipAddress"]) == ("Allow", "ServiceTag", "AzureFrontDoor.Backend")
    assert {unquote(k): v for k, v in rule["headers"].items()} == {"x-azure-fdid": ["frontDoorId"]}


def test_settings_that_used_to_be_set_by_hand_are_parameters(settings: dict[str, Any]) -> None:
    """App settings set in the portal vanish on the next `azd provision`; these come from azd variables."""
    pii = settings["SCIM_LOG_PII"]["operator"]["operands"]
    assert (pii["condition"], pii["true_value"], pii["false_value"]) == ("logPii", "true", "false")
    assert settings["SCIM_CLIENT_ADDRESS_HEADER"] == "clientAddressHeader"
    main = parse(MAIN)
    for name, default in {"logPii": False, "clientAddressHeader": "", "frontDoorId": ""}.items():
        assert main["parameters"][name]["default"] == default
        assert main["modules"]["api"]["config"]["params"][name] == name
        assert parse(INFRA / "app" / "api.bicep")["parameters"][name]["default"] == default


def test_location_is_limited_to_flex_consumption_regions() -> None:
    allowed = decorator(parse(MAIN)["parameters"]["location"], "allowed")
    assert isinstance(allowed, list) and len(allowed) >= 20
    assert {"westeurope", "eastus", "northeurope", "swedencentral", "australiaeast"} <= set(allowed)
    assert "eastus2euap" not in allowed  # a canary region, not for customers


def test_maximum_instance_count_bounds_are_flex_documented_ones() -> None:
    """event-driven-scaling.md "Limit scale-out": lowest 1, highest 1000 (docs/reference/azure.md §7)."""
    for path in (MAIN, INFRA / "app" / "api.bicep"):
        param = parse(path)["parameters"]["maximumInstanceCount"]
        assert (decorator(param, "min_value"), decorator(param, "max_value")) == (1, 1000)


def test_site_carries_azd_tags(site: dict[str, Any]) -> None:
    union = site["tags"]["function"]
    assert union["type"] == "union"
    assert union["parameters"]["arg_1"] == "tags"
    assert {unquote(k): v for k, v in union["parameters"]["arg_2"].items()} == {"azd-service-name": "api"}
    main_tags = parse(MAIN)["variables"]["tags"]["value"]
    assert {unquote(k): v for k, v in main_tags.items()} == {"azd-env-name": "environmentName"}


def test_main_outputs_are_the_documented_set() -> None:
    outputs = parse(MAIN)["outputs"]
    assert set(outputs) == {
        "AZURE_LOCATION",
        "AZURE_TENANT_ID",
        "AZURE_RESOURCE_GROUP",
        "AZURE_FUNCTION_NAME",
        "SERVICE_API_NAME",
        "AZURE_KEYVAULT_URL",
        "AZURE_TABLES_ENDPOINT",
        "SCIM_BASE_URL",
        "SCIM_TOKEN_URL",
        "SCIM_STORE",
        "SCIM_TABLES_ENDPOINT",
        "SCIM_QUEUES_ENDPOINT",
        "SCIM_KEYVAULT_URL",
        "SCIM_PUBLIC_BASE_URL",
    }
    assert outputs["SCIM_BASE_URL"]["value"] == "${api.outputs.publicBaseUrl}/scim/v2"
    assert outputs["SCIM_TOKEN_URL"]["value"] == "${api.outputs.publicBaseUrl}/oauth2/token"
    assert outputs["SCIM_STORE"]["value"] == "tables"


def test_app_is_created_after_its_role_assignments() -> None:
    api = parse(MAIN)["modules"]["api"]["config"]
    assert "rbac" in references(api["dependsOn"])
