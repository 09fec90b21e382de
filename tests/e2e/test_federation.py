"""Workload identity federation end to end, as docs/security.md §2.1 sets it up: `scimctl client create
--federated-tenant`, `client show`, Entra's assertion at the token endpoint of `scimctl serve` (Table Storage in
Azurite), and `scimctl doctor --federated`, with a local stand-in for Entra's login endpoints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from scim.cli import main
from tests.auth.jwks import AUDIENCE, SUBJECT, TENANT, EntraDouble, Signer, claims
from tests.support.host import CLIENT_ID, Host, StartHost

pytestmark = [pytest.mark.e2e, pytest.mark.azurite]
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(scope="module")
def entra() -> Iterator[EntraDouble]:
    double = EntraDouble().start()
    yield double
    double.stop()


@pytest.fixture
def host(start_tables_host: StartHost, entra: EntraDouble, monkeypatch: pytest.MonkeyPatch) -> Host:
    templates = {
        "SCIM_ENTRA_JWKS_URL_TEMPLATE": entra.jwks_template,
        "SCIM_ENTRA_ISSUER_TEMPLATE": entra.issuer_template,
    }
    running = start_tables_host("strict", **templates)
    # scimctl in this process administers the same tables and secrets file, as an admin's machine would.
    for name in ("SCIM_STORE", "SCIM_TABLES_CONNECTION_STRING", "SCIM_TABLE_PREFIX", "SCIM_SECRETS_FILE"):
        monkeypatch.setenv(name, running.env[name])
    for name, value in templates.items():
        monkeypatch.setenv(name, value)
    return running


def _scimctl(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> Any:
    result = main(["--json", *argv])
    out, err = capsys.readouterr()
    assert result == code, (argv, out, err)
    return json.loads(out) if out.strip() else err


def _token(host: Host, client_id: str, assertion: str) -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
        "scope": "scim",
    }
    return httpx.post(host.token_url, data=form, timeout=10)


def test_set_up_as_documented_then_entra_gets_a_token(
    host: Host, entra: EntraDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    signer = Signer()
    entra.keys = [signer.jwk]
    made = _scimctl(
        capsys,
        "client",
        "create",
        "--directory",
        "dev",
        "--federated-tenant",
        TENANT,
        "--federated-audience",
        AUDIENCE + "/.default",  # as Entra's Connectivity page shows it
        "--federated-subject",
        SUBJECT,
    )
    assert "client_secret" not in made
    expected = {
        "federated_tenant": TENANT,
        "federated_issuer": entra.issuer(),
        "federated_audience": AUDIENCE,
        "federated_subject": SUBJECT,
        "federated_jwks_url": f"{entra.url}/{TENANT}/discovery/v2.0/keys",
    }
    assert {k: made[k] for k in expected} == expected
    shown = _scimctl(capsys, "client", "show", "--client", made["client_id"])
    assert {k: shown[k] for k in expected} == expected and shown["secrets"] == []

    reply = _token(host, made["client_id"], signer.sign(claims(entra.issuer())))
    assert reply.status_code == 200, reply.text
    token = reply.json()["access_token"]
    users = httpx.get(f"{host.scim_url}/Users", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert users.status_code == 200, users.text

    checks = _scimctl(
        capsys,
        "doctor",
        "--federated",
        "--base-url",
        host.scim_url,
        "--client-id",
        made["client_id"],
        "--federated-tenant",
        TENANT,
        "--timeout",
        "5",
    )
    assert [c["step"] for c in checks] == ["jwks", "issuer", "token endpoint"]
    assert all(c["ok"] for c in checks), checks


def test_missing_audience_is_refused_with_where_to_find_it(host: Host, capsys: pytest.CaptureFixture[str]) -> None:
    err = _scimctl(capsys, "client", "create", "--directory", "dev", "--federated-tenant", TENANT, code=1)
    assert "--federated-audience is required" in err and "Connectivity page" in err


def test_doctor_says_what_is_wrong(host: Host, entra: EntraDouble, capsys: pytest.CaptureFixture[str]) -> None:
    entra.keys = [Signer().jwk]
    argv = ["doctor", "--federated", "--base-url", host.scim_url, "--federated-tenant", TENANT, "--timeout", "5"]
    checks = _scimctl(capsys, *argv, "--client-id", CLIENT_ID, code=1)  # the seeded client has a secret only
    by_step = {c["step"]: c for c in checks}
    assert by_step["jwks"]["ok"] and by_step["issuer"]["ok"]
    assert not by_step["token endpoint"]["ok"] and "not federated" in by_step["token endpoint"]["detail"]
    entra.down = True
    try:
        checks = _scimctl(capsys, *argv, "--client-id", CLIENT_ID, code=1)
    finally:
        entra.down = False
    assert not checks[0]["ok"] and "HTTP 503" in checks[0]["detail"]
    wrong = _scimctl(capsys, *argv, "--client-id", CLIENT_ID, "--federated-issuer", f"{entra.url}/x/v2.0", code=1)
    assert not wrong[1]["ok"] and "--federated-issuer" in wrong[1]["detail"]
