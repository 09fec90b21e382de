"""`entra status`: the provisioning job's state, quarantine, last run, counts and recent failures.

Fields are the synchronizationJob / synchronizationStatus / synchronizationQuarantine resources and the
provisioningObjectSummary of `GET /auditLogs/provisioning` (provisioningobjectsummary-list.md).
"""

from __future__ import annotations

from typing import Any

from scim.entra.graph import Graph, GraphError

RECENT_FAILURES = 10


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _quarantine(status: dict[str, Any]) -> dict[str, Any] | None:
    q = status.get("quarantine")
    if not isinstance(q, dict) or (status.get("code") != "Quarantine" and not q.get("reason")):
        return None
    error = _dict(q.get("error"))
    return {
        "reason": q.get("reason") or None,
        "since": q.get("currentBegan") or None,
        "next_attempt": q.get("nextAttempt") or None,
        "series_count": q.get("seriesCount"),
        "error_code": error.get("code"),
        "error_message": error.get("message"),
    }


def _execution(run: Any) -> dict[str, Any] | None:
    if not isinstance(run, dict):
        return None
    error = _dict(run.get("error"))
    return {
        "state": run.get("state"),
        "began": run.get("timeBegan"),
        "ended": run.get("timeEnded"),
        "error_code": error.get("code"),
        "error_message": error.get("message"),
    }


def failures(graph: Graph, sp_id: str, top: int = RECENT_FAILURES) -> tuple[list[dict[str, Any]], str | None]:
    """The newest failed provisioning events of this app, with the endpoint's own error text.

    The log needs Entra ID P1/P2 and AuditLog.Read.All; without them the status still shows, with a note.
    """
    params = {
        "$filter": f"servicePrincipal/id eq '{sp_id}' and provisioningStatusInfo/status eq 'failure'",
        "$orderby": "activityDateTime desc",
        "$top": str(top),
    }
    try:
        page = graph.get("/auditLogs/provisioning", params=params) or {}
    except GraphError as exc:
        if exc.status == 403:
            return [], f"provisioning logs unavailable ({exc.code}): they need Entra ID P1/P2 and AuditLog.Read.All"
        if exc.status == 400:  # the log's filterable paths are thinly documented (docs/reference/entra-setup.md §1.11)
            return [], f"Graph refused the provisioning log query ({exc.code}: {exc.message})"
        raise
    rows = []
    for event in list(page.get("value", []))[:top]:
        info = event.get("provisioningStatusInfo") or {}
        error = info.get("errorInformation") or {}
        source = event.get("sourceIdentity") or {}
        rows.append(
            {
                "when": event.get("activityDateTime"),
                "action": event.get("provisioningAction"),
                "identity": source.get("displayName") or source.get("id"),
                "type": source.get("identityType"),
                "error_code": error.get("errorCode"),
                # The endpoint's own SCIM error detail reaches the admin here (docs/reference/entra-wire.md §8).
                "detail": error.get("reason") or error.get("additionalDetails"),
            }
        )
    return rows, None


def job_status(graph: Graph, sp_id: str, job_id: str) -> dict[str, Any]:
    job = graph.get(f"/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}", eventual=True) or {}
    status = job.get("status") or {}
    counts = {str(p.get("key")): p.get("value") for p in status.get("synchronizedEntryCountByType") or []}
    recent, note = failures(graph, sp_id)
    return {
        "job_id": job.get("id"),
        "state": (job.get("schedule") or {}).get("state"),
        "status": status.get("code"),
        "quarantine": _quarantine(status),
        "last_execution": _execution(status.get("lastExecution")),
        "last_successful_execution": (_execution(status.get("lastSuccessfulExecution")) or {}).get("ended"),
        "counts": counts,
        "troubleshooting_url": status.get("troubleshootingUrl"),
        "recent_failures": recent,
        "note": note,
    }


def human(status: dict[str, Any], name: str) -> list[str]:
    """The status as lines an admin reads."""
    lines = [f"{name}: job {status['job_id']} is {status['state']} (status {status['status']})"]
    q = status["quarantine"]
    if q:
        lines.append(
            f"QUARANTINED since {q['since']} ({q['reason']}); next attempt {q['next_attempt']}. "
            f"{q['error_code'] or ''}: {q['error_message'] or ''}".rstrip(": ")
        )
        lines.append("  Fix the cause, then `scimctl entra setup` re-saves credentials if Test Connection fails.")
    run = status["last_execution"]
    if run:
        line = f"last run: {run['state']} {run['began']} -> {run['ended']}"
        if run["error_code"]:
            line += f" ({run['error_code']}: {run['error_message']})"
        lines.append(line)
    else:
        lines.append("last run: none yet")
    counts = ", ".join(f"{k}={v}" for k, v in status["counts"].items()) or "none"
    lines.append(f"synchronized: {counts}")
    if status["note"]:
        lines.append(f"note: {status['note']}")
    for f in status["recent_failures"]:
        lines.append(
            f"failed {f['when']} {f['action']} {f['type']} {f['identity']!r}: {f['error_code']}: {f['detail']}"
        )
    if not status["recent_failures"] and not status["note"]:
        lines.append("no recent provisioning failures")
    return lines
