"""`scimctl entra status` and `entra provision` against the double: quarantine, logs and on-demand verdicts."""

from __future__ import annotations

from tests.doubles.graph import GraphDouble
from tests.support.scimctl import Cli

# The endpoint's own refusal, as Entra's provisioning log quotes it (README "An example refusal").
OUR_DETAIL = (
    "The user group 'Finance Team' was refused: it breaks the naming rule (it contains spaces). The closest existing "
    "user group is 'FinanceTeam'. Rename it in Entra to match an existing user group exactly (no spaces, no accents), "
    "or ask the directory admin to add it with scimctl."
)


def _app(cli: Cli) -> str:
    cli("directory", "create", "contoso")
    cli("role", "add", "--directory", "contoso", "Auditor")
    sp_id: str = cli("entra", "setup", "--directory", "contoso", "--start")["service_principal_id"]
    return sp_id


def _log(graph: GraphDouble, sp_id: str, when: str, status: str, name: str) -> None:
    """A provisioningObjectSummary (provisioningobjectsummary-list.md, example 2)."""
    graph.logs.append({
        "id": f"log-{len(graph.logs)}", "activityDateTime": when, "jobId": graph.job_of(sp_id).id,
        "provisioningAction": "create", "servicePrincipal": {"id": sp_id, "displayName": "SCIM contoso"},
        "sourceIdentity": {"id": "g1", "displayName": name, "identityType": "Group", "details": {}},
        "provisioningStatusInfo": {"status": status, "errorInformation": None if status == "success" else {
            "errorCode": "SystemForCrossDomainIdentityManagementBadRequest", "reason": OUR_DETAIL,
            "additionalDetails": None, "errorCategory": "nonServiceFailure", "recommendedAction": None}},
    })  # fmt: skip


def test_quarantined_job_shows_reason_next_attempt_and_our_detail(cli: Cli, graph: GraphDouble) -> None:
    sp_id = _app(cli)
    job = graph.job_of(sp_id)
    job.code = "Quarantine"
    # synchronizationQuarantine (its resource page; reasons from docs/reference/entra-wire.md §5).
    job.quarantine = {
        "currentBegan": "2026-12-01T08:00:00Z", "nextAttempt": "2026-12-02T08:00:00Z",
        "reason": "EncounteredQuarantineException", "seriesBegan": "2026-12-01T08:00:00Z", "seriesCount": 3,
        "error": {"code": "SystemForCrossDomainIdentityManagementUnauthorized",
                  "message": "The SCIM endpoint answered 401 to the Secret Token.", "tenantActionable": True},
    }  # fmt: skip
    job.last_execution = {"state": "Failed", "timeBegan": "2026-12-01T08:00:00Z", "timeEnded": "2026-12-01T08:01:00Z",
                          "error": {"code": "SystemForCrossDomainIdentityManagementUnauthorized",
                                    "message": "401"}}  # fmt: skip
    job.counts = [{"key": "user", "value": 12}, {"key": "group", "value": 3}]
    _log(graph, sp_id, "2026-12-01T07:00:00Z", "failure", "Finance Team")
    _log(graph, sp_id, "2026-12-01T07:30:00Z", "success", "FinanceTeam")
    _log(graph, sp_id, "2026-12-01T07:40:00Z", "failure", "Operações")

    status = cli("entra", "status", "--directory", "contoso", code=1)
    assert status["status"] == "Quarantine" and status["state"] == "Active"
    assert status["quarantine"]["reason"] == "EncounteredQuarantineException"
    assert status["quarantine"]["next_attempt"] == "2026-12-02T08:00:00Z"
    assert status["last_execution"]["state"] == "Failed" and status["counts"] == {"user": 12, "group": 3}
    assert [f["identity"] for f in status["recent_failures"]] == ["Operações", "Finance Team"]  # newest first
    assert status["recent_failures"][0]["detail"] == OUR_DETAIL  # the product's own words reach the admin
    text = cli.text("entra", "status", "--app-name", "SCIM contoso", code=1)
    assert "QUARANTINED since 2026-12-01T08:00:00Z (EncounteredQuarantineException); next attempt 2026-12-02" in text
    assert "synchronized: user=12, group=3" in text and OUR_DETAIL in text


def test_healthy_job_without_log_access_still_reports(cli: Cli, graph: GraphDouble) -> None:
    _app(cli)
    graph.logs_error = (403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", "Tenant lacks a license.")
    status = cli("entra", "status", "--directory", "contoso")
    assert status["quarantine"] is None and status["recent_failures"] == []
    assert "Entra ID P1/P2" in status["note"]
    assert "last run: none yet" in cli.text("entra", "status", "--directory", "contoso")
    graph.logs_error = (400, "BadRequest", "Invalid filter clause.")
    note = cli("entra", "status", "--directory", "contoso")["note"]
    assert note == "Graph refused the provisioning log query (BadRequest: Invalid filter clause.)"


def test_provision_on_demand_success(cli: Cli, graph: GraphDouble) -> None:
    sp_id = _app(cli)
    alice = graph.add_user("alice@contoso.test", "Alice")
    graph.on_demand = {"result": "Success", "details": {}}
    graph.on_demand_steps = [
        {"name": "EntryImport", "type": "Import", "status": "Success", "description": "Retrieved User 'alice'"},
        {"name": "EntryExportAdd", "type": "Export", "status": "Success",
         "description": "User 'alice@contoso.test' was created in customappsso"},
    ]  # fmt: skip
    result = cli("entra", "provision", "--directory", "contoso", "alice@contoso.test")
    assert result["result"] == "Success" and result["object_id"] == alice and result["type"] == "User"
    assert (
        result["verdict"]
        == "User 'alice@contoso.test' was provisioned. User 'alice@contoso.test' was created in customappsso"
    )
    (call,) = [s for s in graph.seen if s.path.endswith("/provisionOnDemand")]
    rule = graph.job_of(sp_id).schema["synchronizationRules"][0]["id"]
    assert call.body == {"parameters": [{"ruleId": rule, "subjects": [{"objectId": alice, "objectTypeName": "User"}]}]}


def test_provision_on_demand_failure_is_exit_1_with_the_reason(cli: Cli, graph: GraphDouble) -> None:
    _app(cli)
    graph.add_group("Finance Team")
    graph.on_demand = {"result": "Failure", "details": {
        "errorCode": "SystemForCrossDomainIdentityManagementBadRequest",
        "errorMessage": "The SCIM endpoint answered 400."}}  # fmt: skip
    graph.on_demand_steps = [{"name": "EntryExportAdd", "type": "Export", "status": "Failure",
                              "description": "Failed to create Group 'Finance Team' in customappsso"}]  # fmt: skip
    graph.on_demand_status = {"status": "Failure", "reason": OUR_DETAIL}
    result = cli("entra", "provision", "--directory", "contoso", "Finance Team", code=1)
    assert result["result"] == "Failure" and result["type"] == "Group"
    assert result["error_code"] == "SystemForCrossDomainIdentityManagementBadRequest"
    assert result["verdict"].startswith(
        "Provisioning Group 'Finance Team' failed at step EntryExportAdd (Failed to create Group 'Finance Team' in "
        "customappsso): SystemForCrossDomainIdentityManagementBadRequest: The SCIM endpoint answered 400."
    )
    assert OUR_DETAIL in result["verdict"]
    assert OUR_DETAIL in cli.text("entra", "provision", "--directory", "contoso", "Finance Team", code=1)


def test_provision_on_demand_skipped_and_unknown_subjects(cli: Cli, graph: GraphDouble) -> None:
    _app(cli)
    bob = graph.add_user("bob@contoso.test", "Bob")
    graph.on_demand = {"result": "Skipped", "details": {"errorCode": "RedundantExport",
                       "errorMessage": "The state of the user in both the source and target systems "
                                       "already match."}}  # fmt: skip
    text = cli.text("entra", "provision", "--app-name", "SCIM contoso", bob)
    assert text.strip() == (
        "Nothing was sent for User 'Bob': The state of the user in both the source and target systems already match."
    )
    cli("entra", "provision", "--directory", "contoso", "Nobody Group", code=1)
    assert "no group named 'Nobody Group' in Entra" in cli.err
    cli("entra", "provision", "--directory", "contoso", "ghost@contoso.test", code=1)
    assert "HTTP 404 Request_ResourceNotFound" in cli.err


def test_scimctl_status_says_quarantined_in_entras_words(cli: Cli, graph: GraphDouble) -> None:
    sp_id = _app(cli)
    assert cli("status", "--directory", "contoso", code=3)[0]["verdict"] == "idle"  # no request yet, no Graph
    job = graph.job_of(sp_id)
    job.code = "Quarantine"
    error = {"code": "SystemForCrossDomainIdentityManagementUnauthorized", "message": "401"}
    job.quarantine = {"currentBegan": "2026-12-01T08:00:00Z", "nextAttempt": "2026-12-02T08:00:00Z",
                      "reason": "EncounteredQuarantineException", "seriesCount": 3, "error": error}  # fmt: skip
    (found,) = cli("status", "--directory", "contoso", "--entra", code=7)
    assert found["verdict"] == "quarantined"
    assert found["entra"]["quarantine"]["reason"] == "EncounteredQuarantineException"
    assert "EncounteredQuarantineException" in found["why"]
    job.code, job.quarantine = "Active", None
    assert cli("status", "--directory", "contoso", "--entra", code=3)[0]["entra"]["status"] == "Active"
