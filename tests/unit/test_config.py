"""The small loaders in scim/config.py: scimctl's Entra sign-in and doctor settings, the local host's."""

from __future__ import annotations

from pathlib import Path

import pytest

from scim.config import (
    ENTRA_AUTHORITY_HOST,
    ENTRA_GRAPH_URL,
    ENTRA_JWKS_URL_TEMPLATE,
    SettingsError,
    load_doctor_settings,
    load_entra_settings,
    load_local_settings,
)


def test_entra_settings_default_to_the_public_cloud_and_the_xdg_cache() -> None:
    settings = load_entra_settings({"XDG_CACHE_HOME": "/tmp/cache"})
    assert (settings.authority_host, settings.graph_url) == (ENTRA_AUTHORITY_HOST, ENTRA_GRAPH_URL)
    assert settings.token_cache == Path("/tmp/cache/scimctl/msal-token-cache.json")
    assert (settings.tenant, settings.client_id, settings.client_secret, settings.certificate) == ("", "", "", "")


def test_entra_settings_read_their_variables() -> None:
    settings = load_entra_settings(
        {
            "AZURE_TENANT_ID": "contoso.example",
            "SCIM_ENTRA_CLIENT_ID": "app",
            "SCIM_ENTRA_CLIENT_SECRET": "s3cret",
            "SCIM_ENTRA_GRAPH_URL": "https://graph.microsoft.us/",
            "SCIM_ENTRA_TOKEN_CACHE": "/tmp/msal.json",
        }
    )
    assert (settings.tenant, settings.client_id, settings.graph_url) == (
        "contoso.example",
        "app",
        "https://graph.microsoft.us",
    )
    assert settings.token_cache == Path("/tmp/msal.json") and "s3cret" not in repr(settings)


@pytest.mark.parametrize("name", ["SCIM_ENTRA_GRAPH_URL", "SCIM_ENTRA_AUTHORITY_HOST"])
def test_an_entra_url_must_be_https(name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_entra_settings({name: "http://graph.example"})


def test_doctor_settings_share_the_services_templates() -> None:
    assert load_doctor_settings({}).entra_jwks_url_template == ENTRA_JWKS_URL_TEMPLATE
    assert load_doctor_settings({"SCIM_CLIENT_SECRET": "x"}).client_secret == "x"
    with pytest.raises(SettingsError, match="SCIM_ENTRA_ISSUER_TEMPLATE"):
        load_doctor_settings({"SCIM_ENTRA_ISSUER_TEMPLATE": "https://login.example/v2.0"})


def test_local_settings() -> None:
    local = load_local_settings({"SCIM_STORE": "tables", "SCIM_AZURITE_PORT": "20002", "SCIM_DEV_ROLES": "a, b,"})
    assert (local.needs_azurite, local.azurite_port, local.azurite_queue_port) == (True, 20002, 20001)
    assert local.dev_roles == ("a", "b") and local.client_cache_seconds == 0.0
    assert not load_local_settings({"SCIM_STORE": "tables", "SCIM_TABLES_ENDPOINT": "https://t.example"}).needs_azurite


@pytest.mark.parametrize(
    ("name", "value"),
    [("SCIM_NAME_POLICY", "loose"), ("SCIM_DEV_ROLE_MODE", "many"), ("SCIM_AZURITE_PORT", "x")],
)
def test_an_invalid_local_setting_is_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_local_settings({name: value})
