"""Credentials in Entra without downtime: each mode of `entra setup --auth`, and `entra rotate` at each failure point.

The promise under test: whatever fails, the credential Entra held before still works on our endpoint, and the
command says what happened and what to do.
"""

from __future__ import annotations

import asyncio
import base64

from scim.app import App, install_app
from tests.doubles.graph import GraphDouble
from tests.entra.test_setup import _catalog, _status_with, _token_status
from tests.support.app import Client
from tests.support.entra import PUBLIC
from tests.support.scimctl import Cli

TENANT = "4b1c6f0e-2a5d-4e8f-9c7b-1d2e3f4a5b6c"


def _setup(cli: Cli, *flags: str, code: int = 0) -> dict[str, object]:
    _catalog(cli, "Auditor")
    report: dict[str, object] = cli("entra", "setup", "--directory", "contoso", *flags, code=code)
    return report


def _both(app: App, client_id: str, secret: str, body_secret: str) -> int:
    """Entra's "Both": the same credentials in a Basic header and in the form body."""
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    install_app(app)
    try:
        reply = asyncio.run(
            Client(None).request(
                "POST", f"{PUBLIC}/oauth2/token",
                headers={"content-type": "application/x-www-form-urlencoded", "authorization": f"Basic {basic}"},
                raw=f"grant_type=client_credentials&client_id={client_id}&client_secret={body_secret}".encode(),
            )
        )  # fmt: skip
    finally:
        install_app(None)
    return reply.status


def test_client_credentials_are_checked_then_saved_through_connectivity_parameters(
    cli: Cli, graph: GraphDouble, shared: App
) -> None:
    report = _setup(cli, "--auth", "client-credentials", "--send-credentials", "both")
    sp_id = str(report["service_principal_id"])
    assert report["test_connection"] == "passed"
    saves = [w for w in graph.writes() if "secrets" in w[1] or "connectivity" in w[1]]
    assert saves == [("PATCH", f"/beta/servicePrincipals/{sp_id}/synchronization/connectivityParameters")]
    sent = graph.connectivity[sp_id]
    assert sent["authenticationType"] == "OAuth2ClientCredentialsGrant"
    assert sent["credentialLocationInRequest"] == "Both"
    assert sent["oauth2TokenExchangeUri"] == f"{PUBLIC}/oauth2/token" and sent["baseAddress"] == f"{PUBLIC}/scim/v2"
    checks = [s.body for s in graph.seen if s.path.endswith("/validateCredentials")]
    # Checked inline before saving (without the connectivity-only key), then with the saved ones.
    assert checks[0]["useSavedCredentials"] is False and checks[-1] == {"useSavedCredentials": True}
    assert "CredentialLocationInRequest" not in {pair["key"] for pair in checks[0]["credentials"]}
    assert _both(shared, sp_id, sent["oauth2ClientSecret"], sent["oauth2ClientSecret"]) == 200


def test_federated_setup_makes_the_client_and_says_what_to_enter(cli: Cli, graph: GraphDouble) -> None:
    flags = ("--auth", "federated", "--federated-tenant", TENANT, "--federated-audience", "api://app/.default",
             "--federated-subject", "0f0e0d0c-0b0a-0908-0706-050403020100")  # fmt: skip
    report = _setup(cli, *flags, code=1)  # nothing saved in Entra yet: its check fails, and says so
    sp_id = str(report["service_principal_id"])
    assert report["test_connection"] == "failed" and sp_id not in graph.secrets
    step = next(s for s in report["steps"] if s["step"] == "credentials")  # type: ignore[attr-defined]
    assert "Connectivity page" in step["detail"] and f"Client Identifier {sp_id}" in step["detail"]
    shown = cli("client", "show", "--client", sp_id)
    assert shown["federated_tenant"] == TENANT and shown["federated_audience"] == "api://app"
    graph.secrets[sp_id] = {"BaseAddress": f"{PUBLIC}/scim/v2"}  # the admin saved it on the Connectivity page
    again = cli("entra", "setup", "--directory", "contoso", *flags)
    assert again["test_connection"] == "passed" and not again["changed"]
    cli("entra", "rotate", "--directory", "contoso", code=1)
    assert "no secret to rotate" in cli.err


def test_rotate_secret_token_keeps_the_old_one_for_the_overlap(cli: Cli, graph: GraphDouble, shared: App) -> None:
    sp_id = str(_setup(cli)["service_principal_id"])
    old = graph.secrets[sp_id]["SecretToken"]
    rotated = cli("entra", "rotate", "--directory", "contoso", "--overlap-hours", "2")
    new = graph.secrets[sp_id]["SecretToken"]
    assert rotated["test_connection"] == "passed" and new != old
    assert "1 older token(s) stop working in 2 h" in rotated["steps"][0]["detail"]
    assert _status_with(shared, new) == 200 and _status_with(shared, old) == 200
    tokens = cli("token", "list", "--client", sp_id)
    assert len(tokens) == 2 and tokens[1]["expires"] < tokens[0]["expires"]


def test_rotate_client_secret_keeps_the_old_one_for_the_overlap(cli: Cli, graph: GraphDouble, shared: App) -> None:
    sp_id = str(_setup(cli, "--auth", "client-credentials", "--send-credentials", "both")["service_principal_id"])
    old = graph.secrets[sp_id]["Oauth2ClientSecret"]
    rotated = cli("entra", "rotate", "--directory", "contoso")
    new = graph.secrets[sp_id]["Oauth2ClientSecret"]
    assert rotated["test_connection"] == "passed" and new != old
    assert _token_status(shared, sp_id, new) == 200 and _token_status(shared, sp_id, old) == 200
    # The rotation leaves "How credentials are sent" as the admin set it: its PATCH does not carry the key.
    last = [s.body for s in graph.seen if s.path.endswith("/connectivityParameters")][-1]
    assert "credentialLocationInRequest" not in {pair["key"] for pair in last["value"]}
    assert graph.connectivity[sp_id]["credentialLocationInRequest"] == "Both"


def test_rotate_refused_by_the_inline_check_saves_nothing_and_withdraws_the_new(
    cli: Cli, graph: GraphDouble, shared: App
) -> None:
    sp_id = str(_setup(cli)["service_principal_id"])
    old = graph.secrets[sp_id]["SecretToken"]
    graph.inline_error = (400, "CredentialValidationUnavailable", "HTTP 401 Unauthorized from the endpoint")
    rotated = cli("entra", "rotate", "--directory", "contoso", code=1)
    assert "Nothing was saved in Entra" in rotated["test_connection_detail"]
    assert graph.secrets[sp_id]["SecretToken"] == old and _status_with(shared, old) == 200
    assert len(cli("token", "list", "--client", sp_id)) == 1  # the new token was revoked


def test_rotate_whose_save_fails_leaves_the_old_secret_working(cli: Cli, graph: GraphDouble, shared: App) -> None:
    sp_id = str(_setup(cli, "--auth", "client-credentials")["service_principal_id"])
    old = graph.secrets[sp_id]["Oauth2ClientSecret"]
    graph.fail("PATCH", r"/connectivityParameters$", 400)
    cli("entra", "rotate", "--directory", "contoso", code=1)
    assert "Nothing was saved in Entra and the new credential was withdrawn" in cli.err
    assert old not in cli.err and "Traceback" not in cli.err
    assert graph.secrets[sp_id]["Oauth2ClientSecret"] == old and _token_status(shared, sp_id, old) == 200
    assert len(asyncio.run(shared.clients.secret_versions(sp_id))) == 1


def test_rotate_whose_saved_check_fails_retires_nothing(cli: Cli, graph: GraphDouble, shared: App) -> None:
    sp_id = str(_setup(cli)["service_principal_id"])
    old = graph.secrets[sp_id]["SecretToken"]
    graph.saved_error = (400, "CredentialValidationUnavailable", "HTTP 403 Forbidden from the endpoint")
    text = cli.text("entra", "rotate", "--directory", "contoso", code=1)
    assert "Test Connection: FAILED" in text and "earlier credentials were not retired" in text
    assert _status_with(shared, old) == 200
    tokens = cli("token", "list", "--client", sp_id)
    assert len(tokens) == 2 and tokens[1]["expires"] > "2030"  # the old one's ten years are untouched


def test_entra_test_connection_reports_the_saved_mode_and_entras_verdict(cli: Cli, graph: GraphDouble) -> None:
    _setup(cli, "--auth", "client-credentials", "--send-credentials", "body")
    checked = cli("entra", "test-connection", "--directory", "contoso")
    assert checked["mode"] == "OAuth2 client credentials" and checked["test_connection"] == "passed"
    graph.saved_error = (400, "CredentialValidationUnavailable", "HTTP 401 Unauthorized from the endpoint")
    text = cli.text("entra", "test-connection", "--directory", "contoso", code=1)
    assert "Entra's Test Connection FAILED" in text and "refused the saved token (401)" in text
    assert [s.body for s in graph.seen if s.path.endswith("/validateCredentials")][-1] == {"useSavedCredentials": True}
