"""Security properties of infra/*.bicep, asserted on the structures pycep-parser returns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.infra.bicep import (
    INFRA,
    MAIN,
    all_resources,
    bicep_files,
    interpolated_paths,
    list_calls,
    module,
    only,
    parse,
    property_path,
    references,
    resources,
    resources_of_type,
    secure_parameters,
)

ROLE_IDS = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
}


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: str(p.relative_to(INFRA)))
def test_template_parses_and_uses_only_local_modules(path: Path) -> None:
    template = parse(path)
    assert template["resources"] or template.get("modules"), "template declares nothing"
    # Registry (br:/AVM) modules are opaque offline; every module must be a file in infra/.
    for name, mod in template.get("modules", {}).items():
        assert mod["type"] == "local", f"{name} is a registry module"
        assert (path.parent / mod["detail"]["path"]).is_file(), f"{name} points at a missing file"


def test_main_is_subscription_scoped_and_creates_the_resource_group() -> None:
    template = parse(MAIN)
    assert template["globals"]["scope"]["value"] == "subscription"
    only(template, "Microsoft.Resources/resourceGroups")
    for name, mod in template["modules"].items():
        assert mod["config"]["scope"] == "rg", f"module {name} is not deployed into the resource group"


def test_storage_account_is_entra_only_and_tls12() -> None:
    props = only(module("storage"), "Microsoft.Storage/storageAccounts").body["properties"]
    assert props["allowSharedKeyAccess"] is False
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["supportsHttpsTrafficOnly"] is True
    assert props["allowBlobPublicAccess"] is False
    assert props["defaultToOAuthAuthentication"] is True


def test_storage_declares_deployment_container_and_data_tables() -> None:
    storage = module("storage")
    container = only(storage, "Microsoft.Storage/storageAccounts/blobServices/containers")
    assert container.body["name"] == "deploymentContainerName"
    assert container.body["properties"]["publicAccess"] == "None"
    tables = only(storage, "Microsoft.Storage/storageAccounts/tableServices/tables")
    assert tables.loop is not None
    assert tables.loop["detail"]["array_name"] == ["scimresources", "scimadmin", "scimsets"]
    assert tables.body["name"] == tables.loop["detail"]["item_name"]


def test_storage_declares_the_change_feeds_queue_service() -> None:
    """Queues are per directory and made by the app at run time; infra provides the service and the role."""
    storage = module("storage")
    service = only(storage, "Microsoft.Storage/storageAccounts/queueServices")
    assert service.body["name"] == "default"
    assert "queueEndpoint" in storage["outputs"]


def test_key_vault_is_rbac_only_with_soft_delete_and_purge_protection() -> None:
    props = only(module("keyvault"), "Microsoft.KeyVault/vaults").body["properties"]
    assert props["enableRbacAuthorization"] is True
    assert props["enableSoftDelete"] is True
    # On by default; `false` is not a value Key Vault accepts, so opting out leaves the property unset.
    purge = props["enablePurgeProtection"]["operator"]["operands"]
    assert (purge["condition"], purge["true_value"], purge["false_value"]) == ("purgeProtection", True, None)
    assert parse(INFRA / "app" / "keyvault.bicep")["parameters"]["purgeProtection"]["default"] is True
    assert "accessPolicies" not in props


def test_vault_purge_protection_and_name_suffix_are_main_parameters() -> None:
    """`azd down` + `azd up` of one environment: opt out of purge protection, or give the new vault another name."""
    main = parse(MAIN)
    assert main["parameters"]["keyVaultPurgeProtection"]["default"] is True
    assert main["parameters"]["keyVaultNameSuffix"]["default"] == ""
    params = main["modules"]["keyVault"]["config"]["params"]
    assert params["purgeProtection"] == "keyVaultPurgeProtection"
    assert params["name"] == "${abbrs.keyVaultVaults}${resourceToken}${toLower(keyVaultNameSuffix)}"
    # kv- (3) + the 13-character resource token + at most 6: within Key Vault's 24-character limit.
    max_length = [
        d["argument"] for d in main["parameters"]["keyVaultNameSuffix"]["decorators"] if d["type"] == "max_length"
    ]
    assert max_length == [6]


def test_signing_key_secret_comes_from_a_secure_parameter_with_expiry() -> None:
    keyvault = module("keyvault")
    secret = only(keyvault, "Microsoft.KeyVault/vaults/secrets")
    assert secret.body["name"] == "scim-signing-key"
    props = secret.body["properties"]
    assert props["value"] in secure_parameters(keyvault)
    assert props["contentType"]
    assert props["attributes"]["enabled"] is True
    assert "exp" in props["attributes"]


def test_main_generates_a_new_signing_key_on_every_deployment() -> None:
    main = parse(MAIN)
    param = main["parameters"]["signingKey"]
    assert "signingKey" in secure_parameters(main)
    # newGuid() is only valid as a parameter default; pycep keeps interpolated text as is.
    assert param["default"].count("newGuid()") == 2
    assert main["modules"]["keyVault"]["config"]["params"]["signingKeyValue"] == "signingKey"


def test_monitoring_has_local_auth_disabled() -> None:
    monitoring = module("monitoring")
    appi = only(monitoring, "Microsoft.Insights/components").body["properties"]
    assert appi["DisableLocalAuth"] is True
    assert appi["WorkspaceResourceId"]
    workspace = only(monitoring, "Microsoft.OperationalInsights/workspaces").body["properties"]
    assert workspace["features"]["disableLocalAuth"] is True


def test_no_output_exposes_a_secret() -> None:
    secret_symbols = {res.symbol for _, res in all_resources() if res.type == "Microsoft.KeyVault/vaults/secrets"}
    for path in bicep_files():
        template = parse(path)
        forbidden = secure_parameters(template) | secret_symbols
        for name, output in template.get("outputs", {}).items():
            assert not any(d["type"] == "secure" for d in output["decorators"]), f"{path.name}:{name}"
            value = output["value"]
            assert not (references(value) & forbidden), f"{path.name}:{name} references a secret"
            assert not list_calls(value), f"{path.name}:{name} calls {list_calls(value)}"


def test_no_account_key_or_list_call_anywhere() -> None:
    for path in bicep_files():
        assert not list_calls(parse(path)), f"{path.name} calls list*/getSecret"
        # Comments and interpolations are text to pycep, so the raw file is checked as well.
        text = path.read_text(encoding="utf-8")
        assert "listKeys(" not in text
        assert "AccountKey=" not in text


def test_role_assignments_are_scoped_to_single_existing_resources() -> None:
    for path in bicep_files():
        template = parse(path)
        existing = {r.symbol: r.type for r in resources(template) if r.existing}
        for ra in resources_of_type(template, "Microsoft.Authorization/roleAssignments"):
            scope = ra.body.get("scope")
            assert isinstance(scope, str), f"{path.name}:{ra.symbol} has no explicit scope"
            assert scope in existing, f"{path.name}:{ra.symbol} scope {scope!r} is not an existing resource"
            role = ra.body["properties"]["roleDefinitionId"]["function"]
            assert role["type"] == "subscription_resource_id"
            assert role["parameters"]["resource_type"] == "Microsoft.Authorization/roleDefinitions"


def test_role_assignments_are_exactly_the_least_privilege_set() -> None:
    rbac = module("rbac")
    existing = {r.symbol: r.type for r in resources(rbac) if r.existing}
    role_ids = rbac["variables"]["roles"]["value"]
    granted = set()
    for ra in resources_of_type(rbac, "Microsoft.Authorization/roleAssignments"):
        props = ra.body["properties"]
        _, role_key = property_path(props["roleDefinitionId"]["function"]["parameters"]["resource_name_1"])
        principal = props["principalId"]
        if principal == "principalId":
            # The deploying user's grants exist only when a principal id is given.
            assert ra.condition is not None and "principalId" in references(ra.condition)
        else:
            assert ra.condition is None
            assert props["principalType"] == "ServicePrincipal"
        granted.add((principal, ROLE_IDS[role_ids[role_key]], existing[ra.body["scope"]]))
    assert granted == {
        ("appPrincipalId", "Storage Blob Data Owner", "Microsoft.Storage/storageAccounts"),
        ("appPrincipalId", "Storage Table Data Contributor", "Microsoft.Storage/storageAccounts"),
        ("appPrincipalId", "Storage Queue Data Contributor", "Microsoft.Storage/storageAccounts"),
        ("appPrincipalId", "Key Vault Secrets User", "Microsoft.KeyVault/vaults"),
        ("appPrincipalId", "Monitoring Metrics Publisher", "Microsoft.Insights/components"),
        ("principalId", "Storage Table Data Contributor", "Microsoft.Storage/storageAccounts"),
        ("principalId", "Storage Queue Data Contributor", "Microsoft.Storage/storageAccounts"),
        ("principalId", "Key Vault Secrets Officer", "Microsoft.KeyVault/vaults"),
    }


def test_every_role_assignment_lives_in_the_rbac_module() -> None:
    for path in bicep_files():
        if path.name != "rbac.bicep":
            assert not resources_of_type(parse(path), "Microsoft.Authorization/roleAssignments"), path.name


def test_abbreviations_cover_every_name_prefix_used() -> None:
    abbrs = json.loads((INFRA / "abbreviations.json").read_text(encoding="utf-8"))
    main = parse(MAIN)
    used = {name.split(".", 1)[1] for name in interpolated_paths(main) if name.startswith("abbrs.")}
    assert used, "main.bicep uses no abbreviation"
    assert used <= abbrs.keys()
    token = main["variables"]["resourceToken"]["value"]["function"]
    assert token["type"] == "to_lower"
    unique = token["parameters"]["string_to_change"]["function"]
    assert unique["type"] == "unique_string"
    assert [unique["parameters"]["extra_string_1"], unique["parameters"]["extra_string_2"]] == [
        "environmentName",
        "location",
    ]
