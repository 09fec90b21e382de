"""`scimctl entra setup` against the Graph double: the full sequence, idempotence, retries and failures."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from scim.app import App, install_app
from tests.doubles.graph import NON_GALLERY, GraphDouble
from tests.support.app import Client
from tests.support.entra import PUBLIC
from tests.support.scimctl import Cli

NAME = "SCIM contoso"


def _catalog(cli: Cli, *roles: str, role_mode: str = "single") -> None:
    cli("directory", "create", "contoso", "--role-mode", role_mode)
    for role in roles:
        cli("role", "add", "--directory", "contoso", role)


def _status_with(app: App, token: str) -> int:
    """What our endpoint answers Entra's Test Connection probe with this bearer token."""
    install_app(app)
    try:
        reply = asyncio.run(Client(token).request("GET", f"{PUBLIC}/scim/v2/Users?filter=userName%20eq%20%22nobody%22"))
    finally:
        install_app(None)
    return reply.status


def _role_mapping(double: GraphDouble, sp_id: str) -> list[dict[str, Any]]:
    schema = double.job_of(sp_id).schema
    users = schema["synchronizationRules"][0]["objectMappings"][0]
    return [m for m in users["attributeMappings"] if "appRoleAssignments" in m["source"]["expression"]]


def test_full_setup_sequence_then_a_rerun_changes_nothing(cli: Cli, graph: GraphDouble, shared: App) -> None:
    _catalog(cli, "Auditor", "Operator")
    report = cli("entra", "setup", "--directory", "contoso")
    assert report["changed"] and report["test_connection"] == "passed" and not report["dry_run"]
    assert [s["step"] for s in report["steps"]] == [
        "application", "app roles", "provisioning job", "credentials", "role mapping", "start",
    ]  # fmt: skip
    sp_id = report["service_principal_id"]
    assert graph.writes() == [
        ("POST", f"/v1.0/applicationTemplates/{NON_GALLERY}/instantiate"),
        ("PATCH", f"/v1.0/applications/{report['application_id']}"),
        ("POST", f"/v1.0/servicePrincipals/{sp_id}/synchronization/jobs"),
        ("PUT", f"/v1.0/servicePrincipals/{sp_id}/synchronization/secrets"),
        ("PUT", f"/v1.0/servicePrincipals/{sp_id}/synchronization/jobs/{report['job_id']}/schema"),
    ]
    sp = graph.service_principals[sp_id]
    assert sp["displayName"] == NAME and sp["applicationTemplateId"] == NON_GALLERY
    values = [r["value"] for r in sp["appRoles"]]
    assert values == [None, None, "Auditor", "Operator"]  # the template's two roles kept; catalog names exactly
    assert graph.job_of(sp_id).id.startswith("scim.") and graph.job_of(sp_id).state == "Disabled"

    saved = graph.secrets[sp_id]
    assert saved["BaseAddress"] == f"{PUBLIC}/scim/v2" and saved["SyncAll"] == "false"
    assert _status_with(shared, saved["SecretToken"]) == 200  # the saved Secret Token works on our endpoint
    (mapping,) = _role_mapping(graph, sp_id)
    assert mapping["targetAttributeName"] == 'roles[primary eq "True"].value'
    assert mapping["source"]["expression"] == "SingleAppRoleAssignment([appRoleAssignments])"
    assert cli.err.count("created client") == 1 and saved["SecretToken"] not in cli.err

    before = len(graph.writes())
    again = cli("entra", "setup", "--directory", "contoso")
    assert not again["changed"] and all(s["change"] == "none" for s in again["steps"])
    assert len(graph.writes()) == before and graph.secrets[sp_id] == saved
    text = cli.text("entra", "setup", "--directory", "contoso")
    assert f"Nothing changed: '{NAME}' already matches directory 'contoso'." in text
    assert "Test Connection: passed" in text and len(graph.writes()) == before


def test_start_only_when_asked_and_once(cli: Cli, graph: GraphDouble) -> None:
    _catalog(cli, "Auditor")
    report = cli("entra", "setup", "--directory", "contoso", "--start")
    job_path = f"/v1.0/servicePrincipals/{report['service_principal_id']}/synchronization/jobs/{report['job_id']}"
    assert ("POST", f"{job_path}/start") in graph.writes()
    assert graph.job_of(report["service_principal_id"]).state == "Active"
    again = cli("entra", "setup", "--directory", "contoso", "--start")
    assert not again["changed"] and graph.writes().count(("POST", f"{job_path}/start")) == 1
    assert again["steps"][-1]["detail"] == "the provisioning job is already running"


def test_dry_run_reads_only_and_prints_the_plan(cli: Cli, graph: GraphDouble) -> None:
    _catalog(cli, "Auditor")
    plan = cli("entra", "setup", "--directory", "contoso", "--dry-run", "--start")
    assert plan["dry_run"] and plan["changed"] and graph.writes() == []
    assert {s["step"]: s["change"] for s in plan["steps"]} == {
        "application": "create", "app roles": "create", "provisioning job": "create", "credentials": "update",
        "role mapping": "update", "start": "update",
    }  # fmt: skip
    assert not any(s["done"] for s in plan["steps"] if s["change"] != "none")
    cli("entra", "setup", "--directory", "contoso")
    cli("role", "add", "--directory", "contoso", "Operator")
    writes = len(graph.writes())
    text = cli.text("entra", "setup", "--directory", "contoso", "--dry-run")
    assert "[plan] app roles: add 1 app role(s): Operator" in text and "Dry run: nothing was changed." in text
    assert len(graph.writes()) == writes


def test_new_service_principal_404_then_200_is_waited_for(cli: Cli, graph: GraphDouble, waits: list[float]) -> None:
    graph.sp_lag = 2
    _catalog(cli, "Auditor")
    report = cli("entra", "setup", "--directory", "contoso")
    assert report["test_connection"] == "passed"
    sp_gets = [
        s
        for s in graph.seen
        if s.method == "GET" and s.path == f"/v1.0/servicePrincipals/{report['service_principal_id']}"
    ]
    assert len(sp_gets) == 3 and waits == [2.0, 4.0]
    assert "not visible yet" in cli.err


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [(429, "7", 7.0), (503, None, 1.0), (429, "Wed, 02 Dec 2020 07:00:00 GMT", 0.0)],
    ids=["429 Retry-After seconds", "503 without Retry-After backs off", "Retry-After date in the past"],
)
def test_throttled_calls_wait_as_told_and_succeed(
    cli: Cli, graph: GraphDouble, waits: list[float], status: int, retry_after: str | None, expected: float
) -> None:
    _catalog(cli, "Auditor")
    graph.fail("POST", r"/synchronization/jobs$", status, retry_after=retry_after)
    report = cli("entra", "setup", "--directory", "contoso")
    assert report["job_id"] and waits == [expected]
    assert f"Graph answered {status} to POST" in cli.err


def test_throttling_that_never_ends_is_a_clear_refusal(cli: Cli, graph: GraphDouble, waits: list[float]) -> None:
    _catalog(cli)
    graph.fail("POST", r"/instantiate$", 429, retry_after="1", times=50)
    cli("entra", "setup", "--directory", "contoso", code=1)
    assert len(waits) == 5 and "HTTP 429 TooManyRequests" in cli.err and "Traceback" not in cli.err


def test_failed_test_connection_is_explained_and_nothing_starts(cli: Cli, graph: GraphDouble) -> None:
    _catalog(cli, "Auditor")
    graph.validation_error = (
        400, "CredentialValidationUnavailable",
        "Error code: SystemForCrossDomainIdentityManagementCredentialValidationUnavailable. HTTP 401 Unauthorized",
    )  # fmt: skip
    report = cli("entra", "setup", "--directory", "contoso", "--start", code=1)
    assert report["test_connection"] == "failed"
    assert "refused the saved token (401)" in report["test_connection_detail"]
    assert "CredentialValidationUnavailable" in report["test_connection_detail"]  # Entra's own words kept
    assert graph.job_of(report["service_principal_id"]).state == "Disabled"
    assert report["steps"][-1]["detail"] == "not started: Test Connection failed (see above)"
    text = cli.text("entra", "setup", "--directory", "contoso", code=1)
    assert "Test Connection: FAILED: the endpoint refused the saved token (401)" in text


def test_resave_after_a_failing_test_connection_retires_the_old_token_after_the_overlap(
    cli: Cli, graph: GraphDouble, shared: App
) -> None:
    _catalog(cli, "Auditor")
    sp_id = cli("entra", "setup", "--directory", "contoso")["service_principal_id"]
    old = graph.secrets[sp_id]["SecretToken"]
    graph.saved_error = (400, "CredentialValidationUnavailable", "HTTP 404 Not Found from the endpoint")
    again = cli("entra", "setup", "--directory", "contoso", code=1)
    credentials = next(s for s in again["steps"] if s["step"] == "credentials")
    assert credentials["change"] == "update" and "Base URL answered 404" in credentials["detail"]
    new = graph.secrets[sp_id]["SecretToken"]
    # The saved check still fails (the double says so), so the old token is not retired: both work.
    assert new != old and _status_with(shared, new) == 200 and _status_with(shared, old) == 200
    assert "earlier credentials were not retired" in again["test_connection_detail"]
    graph.saved_error = None
    graph.fail("POST", r"/validateCredentials$", 400, times=1)  # the saved ones fail once more: re-save
    cli("entra", "setup", "--directory", "contoso", "--overlap-hours", "0")
    newest = graph.secrets[sp_id]["SecretToken"]
    assert _status_with(shared, newest) == 200 and _status_with(shared, new) == 401 and _status_with(shared, old) == 401
    assert len(cli("token", "list", "--client", sp_id)) == 1


def test_role_mode_multiple_with_entitlements_then_back_to_single(cli: Cli, graph: GraphDouble) -> None:
    _catalog(cli, "Auditor", role_mode="multiple")
    report = cli("entra", "setup", "--directory", "contoso", "--role-attribute", "entitlements")
    sp_id = report["service_principal_id"]
    (mapping,) = _role_mapping(graph, sp_id)
    assert mapping["targetAttributeName"] == "entitlements"
    assert mapping["source"]["expression"] == "AssertiveAppRoleAssignmentsComplex([appRoleAssignments])"
    target = graph.job_of(sp_id).schema["directories"][1]["objects"][0]["attributes"]
    assert {"name": "entitlements", "multivalued": True}.items() <= next(
        a for a in target if a["name"] == "entitlements"
    ).items()
    assert not cli("entra", "setup", "--directory", "contoso", "--role-attribute", "entitlements")["changed"]

    cli("directory", "set-policy", "contoso", "--role-mode", "single")
    changed = cli("entra", "setup", "--directory", "contoso")
    step = next(s for s in changed["steps"] if s["step"] == "role mapping")
    assert step["change"] == "update" and "replacing the mapping to entitlements" in step["detail"]
    (mapping,) = _role_mapping(graph, sp_id)
    assert mapping["targetAttributeName"] == 'roles[primary eq "True"].value'


def test_oauth_mode_saves_working_client_credentials(cli: Cli, graph: GraphDouble, shared: App) -> None:
    _catalog(cli, "Auditor")
    networks = ("--networks", "20.190.128.0/18")
    report = cli("entra", "setup", "--directory", "contoso", "--auth", "client-credentials", *networks)
    saved = graph.secrets[report["service_principal_id"]]
    assert saved["AuthenticationType"] == "OAuth2ClientCredentialsGrant" and "SecretToken" not in saved
    assert saved["Oauth2ClientId"] == report["service_principal_id"]
    assert saved["Oauth2TokenExchangeUri"] == f"{PUBLIC}/oauth2/token" and saved["BaseAddress"] == f"{PUBLIC}/scim/v2"
    shown = cli("client", "show", "--client", saved["Oauth2ClientId"])
    assert shown["directory"] == "contoso" and shown["networks"] == ["20.190.128.0/18"]
    assert _token_status(shared, saved["Oauth2ClientId"], saved["Oauth2ClientSecret"]) == 200


def test_switching_mode_resaves_and_retires_the_old_credentials(cli: Cli, graph: GraphDouble, shared: App) -> None:
    _catalog(cli, "Auditor")
    sp_id = cli("entra", "setup", "--directory", "contoso")["service_principal_id"]
    token = graph.secrets[sp_id]["SecretToken"]
    switched = cli("entra", "setup", "--directory", "contoso", "--auth", "client-credentials")
    step = next(s for s in switched["steps"] if s["step"] == "credentials")
    assert step["change"] == "update" and "switching from Base URL + long-lived Secret Token" in step["detail"]
    assert "1 older token(s) stop working in 24 h" in step["detail"]
    assert graph.secrets[sp_id]["AuthenticationType"] == "OAuth2ClientCredentialsGrant"
    assert _status_with(shared, token) == 200  # the overlap: Entra may still be mid-cycle with it
    (listed,) = cli("token", "list", "--client", sp_id)
    assert listed["expires"] < "2030"  # it has an end now (its own was ten years)
    assert not cli("entra", "setup", "--directory", "contoso", "--auth", "client-credentials")["changed"]

    secret = graph.secrets[sp_id]["Oauth2ClientSecret"]
    back = cli("entra", "setup", "--directory", "contoso", "--overlap-hours", "0")
    detail = next(s for s in back["steps"] if s["step"] == "credentials")["detail"]
    assert "switching from OAuth2 client credentials" in detail
    assert _status_with(shared, graph.secrets[sp_id]["SecretToken"]) == 200
    assert _token_status(shared, sp_id, secret) == 401  # overlap 0: the OAuth secret Entra held stops at once
    assert _status_with(shared, token) == 401


def _token_status(app: App, client_id: str, secret: str) -> int:
    install_app(app)
    try:
        reply = asyncio.run(
            Client(None).request(
                "POST", f"{PUBLIC}/oauth2/token",
                headers={"content-type": "application/x-www-form-urlencoded", "x-forwarded-for": "20.190.128.10"},
                raw=f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}".encode(),
            )
        )  # fmt: skip
    finally:
        install_app(None)
    return reply.status


def test_refusals_before_any_graph_call(cli: Cli, graph: GraphDouble, monkeypatch: pytest.MonkeyPatch) -> None:
    cli("entra", "setup", "--directory", "nowhere", code=1)
    assert "does not exist" in cli.err
    _catalog(cli)
    monkeypatch.setenv("SCIM_PUBLIC_BASE_URL", "http://127.0.0.1:7071")
    cli("entra", "setup", "--directory", "contoso", code=1)
    assert "Entra calls only HTTPS endpoints" in cli.err
    monkeypatch.setenv("SCIM_PUBLIC_BASE_URL", PUBLIC)
    monkeypatch.delenv("AZURE_TENANT_ID")
    cli("entra", "setup", "--directory", "contoso", code=1)
    assert "--tenant" in cli.err and graph.seen == []


def test_dry_run_without_a_tenant_plans_a_new_app_without_signing_in(
    cli: Cli, graph: GraphDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    _catalog(cli, "Auditor")
    monkeypatch.delenv("AZURE_TENANT_ID")
    plan = cli("entra", "setup", "--directory", "contoso", "--dry-run", "--auth", "client-credentials")
    assert graph.seen == [] and "not signed in" in cli.err
    assert [(s["step"], s["change"], s["done"]) for s in plan["steps"]][:3] == [
        ("application", "create", False), ("app roles", "create", False), ("provisioning job", "create", False),
    ]  # fmt: skip
    assert "OAuth2 client credentials" in next(s for s in plan["steps"] if s["step"] == "credentials")["detail"]
    cli("entra", "setup", "--directory", "contoso", code=1)  # a real run still needs the tenant
    assert "--tenant" in cli.err and graph.seen == []


def test_dry_run_offline_says_in_words_that_the_login_host_does_not_resolve(
    cli: Cli, graph: GraphDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offline, the refusal quoted requests' repr (HTTPSConnectionPool(...): Max retries ...)."""
    _catalog(cli, "Auditor")
    monkeypatch.setenv("SCIM_ENTRA_AUTHORITY_HOST", "https://login.offline-test.invalid")  # .invalid never resolves
    cli("entra", "setup", "--directory", "contoso", "--dry-run", code=1)
    assert "login.offline-test.invalid does not resolve: this machine is offline" in cli.err, cli.err
    for raw in ("HTTPSConnectionPool", "Max retries", "NameResolutionError", "Errno"):
        assert raw not in cli.err, cli.err
    assert graph.writes() == []


def test_graph_unreachable_is_said_in_words(cli: Cli, graph: GraphDouble, monkeypatch: pytest.MonkeyPatch) -> None:
    _catalog(cli, "Auditor")
    monkeypatch.setenv("SCIM_ENTRA_GRAPH_URL", "https://graph.offline-test.invalid")
    cli("entra", "setup", "--directory", "contoso", "--dry-run", code=1)
    assert "graph.offline-test.invalid does not resolve" in cli.err and "ConnectionError" not in cli.err, cli.err
