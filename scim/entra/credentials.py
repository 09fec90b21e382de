"""Saving credentials in Entra without downtime: check the new ones, save them, check again, only then retire.

The order is the guarantee. Entra's credential check (validateCredentials) runs first on the new credentials
as given; only when it passes are they saved; the saved ones are checked again; and only then does the old
credential get an end, after an overlap window. A failure at any point withdraws the new credential on our
side (when Entra never saved it) and leaves the old one working, and the words say what to do next.

Which Graph call saves what (each is behind one function here):
- Secret Token: v1.0 ``PUT /servicePrincipals/{id}/synchronization/secrets`` with BaseAddress and SecretToken
  (Graph reference "Add synchronization secrets", synchronization-serviceprincipal-put-synchronization.md).
- OAuth2 client credentials: that v1.0 call refuses the OAuth keys (``Oauth2TokenExchangeUri ... NotInAllowList``);
  the admin center's own call, beta ``PATCH /servicePrincipals/{id}/synchronization/connectivityParameters``
  with lower-case keys, saves them. Microsoft documents it only in AzureAD/SCIMReferenceCode's onboarding agent
  notes (Microsoft.SCIM.LogicAppValidationTemplate/StandardLogicApp/scim-onboarding.agent.md, "Configure
  provisioning credentials"); Graph has no reference page for it yet, so the shape is as observed there.
- Workload identity federation: Graph takes none of its keys (the same notes; third-party reports agree), so
  the admin enters our values on the app's "Connectivity" page and the check then reads them back.
- The check: v1.0 ``POST .../jobs/{jobId}/validateCredentials`` with ``useSavedCredentials`` false and the
  credentials, or true (synchronization-synchronizationjob-validatecredentials.md). The agent notes add that
  the inline form must not carry ``CredentialLocationInRequest`` (Graph answers "Requested value ... was not
  found"), so that key is only ever saved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from scim.entra.graph import Graph, GraphError
from scim.entra.modes import HOW, AuthMode
from scim.entra.words import test_connection_failure


@dataclass(frozen=True, slots=True)
class Issued:
    """New credentials made for Entra, and the two ways they end: kept (the old retire) or dropped."""

    check: list[dict[str, str]]  # validateCredentials' credentials, v1.0 key names
    keep: Callable[[], str]  # schedules the old credentials' end; says when
    drop: Callable[[], None]  # withdraws the new credential (Entra never saved it)
    connectivity: list[dict[str, str]] = field(default_factory=list)  # beta connectivityParameters keys
    manual: str = ""  # federated: what the admin enters on the Connectivity page


class Issuer(Protocol):
    """Our side of the credentials: issues them, and knows which mode it last issued them for."""

    def issue(self, sp_id: str) -> Issued: ...

    def saved_mode(self, sp_id: str) -> AuthMode | None:
        """The mode last issued for this app, None when nothing was issued yet."""
        ...


@dataclass(slots=True)
class Verdict:
    """What happened to the credentials: the check's outcome and, step by step, what changed."""

    test_connection: str = "not run"  # "passed", "failed" or "not run"
    detail: str = ""
    notes: list[str] = field(default_factory=list)


def validate_saved(graph: Graph, job_path: str) -> str | None:
    """Test Connection with the saved credentials: None when it passes, else the failure in plain words."""
    return _validate(graph, job_path, {"useSavedCredentials": True})


def _validate(graph: Graph, job_path: str, body: dict[str, object]) -> str | None:
    try:
        graph.call("POST", f"{job_path}/validateCredentials", body, eventual=True)
    except GraphError as exc:
        if exc.status in (401, 403) and exc.code.startswith(("Authorization", "InvalidAuthentication")):
            raise  # our own sign-in or permission, not the SCIM endpoint's answer
        return test_connection_failure(exc.code, exc.message)
    return None


def _save(graph: Graph, sp_id: str, mode: AuthMode, issued: Issued) -> None:
    if mode == "client-credentials":
        # Beta, as the admin center saves it (SCIMReferenceCode scim-onboarding.agent.md; see the module docstring).
        graph.call(
            "PATCH",
            f"/servicePrincipals/{sp_id}/synchronization/connectivityParameters",
            {"value": issued.connectivity},
            eventual=True,
            version="beta",
        )
        return
    keys = [
        *issued.check,
        {"key": "SyncAll", "value": "false"},  # scope: "Sync only assigned users and groups"
        {"key": "SyncNotificationSettings", "value": '{"Enabled":false,"DeleteThresholdEnabled":false}'},
    ]
    # v1.0 "Add synchronization secrets" (synchronization-serviceprincipal-put-synchronization.md): 204.
    graph.call("PUT", f"/servicePrincipals/{sp_id}/synchronization/secrets", {"value": keys}, eventual=True)


def put_in_place(graph: Graph, sp_id: str, job_id: str, mode: AuthMode, issued: Issued) -> Verdict:
    """Check, save, check again, then retire the old: the old credential works until the new one has passed."""
    job_path = f"/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}"
    verdict = Verdict()
    if mode == "federated":
        verdict.notes.append(issued.manual)
        failure = validate_saved(graph, job_path)
        verdict.test_connection, verdict.detail = ("failed", failure) if failure else ("passed", "")
        return verdict
    failure = _validate(graph, job_path, {"useSavedCredentials": False, "credentials": issued.check})
    if failure is not None:
        issued.drop()
        verdict.test_connection = "failed"
        verdict.detail = (
            f"{failure}. Nothing was saved in Entra: the credentials it holds, and ours for them, still work; "
            "fix the cause and run the command again"
        )
        return verdict
    try:
        _save(graph, sp_id, mode, issued)
    except GraphError as exc:
        issued.drop()
        raise ValueError(
            f"{exc}. Nothing was saved in Entra and the new credential was withdrawn: the credentials Entra holds "
            "still work. Run the command again; if it keeps failing, save them in the admin center "
            "(Provisioning, Connectivity) with the values `scimctl client show` lists"
        ) from None
    verdict.notes.append(f"saved {HOW[mode]} in Entra after its credential check passed")
    failure = validate_saved(graph, job_path)
    if failure is not None:
        verdict.test_connection = "failed"
        verdict.detail = (
            f"{failure}. The earlier credentials were not retired and still work on this side; "
            "fix the cause and run `scimctl entra rotate` again"
        )
        return verdict
    verdict.test_connection = "passed"
    verdict.notes.append(issued.keep())
    return verdict
