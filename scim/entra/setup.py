"""`entra setup`: the Entra side of provisioning, step by step, each step changing only what differs.

The sequence (Graph v1.0, beta only where v1.0 has no call): instantiate the non-gallery template, add app
roles, create the `scim` synchronization job, put the credentials in place (scim.entra.credentials: checked by
Entra before and after saving), the role mapping, and start on request. Every step
reads first, so a second run changes nothing and says so; a dry run only reads.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from scim.entra import mapping, saml
from scim.entra.credentials import Issuer, put_in_place, validate_saved
from scim.entra.graph import Graph, GraphError
from scim.entra.lookup import JOB_TEMPLATE, find_service_principal, scim_job
from scim.entra.modes import HOW, AuthMode

# Entra's "non-gallery application" template (docs/reference/entra-setup.md §1.1).
NON_GALLERY_TEMPLATE = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621"


@dataclass(frozen=True, slots=True)
class Desired:
    app_name: str
    roles: list[tuple[str, str]]  # (value, display name) from the directory's catalog
    role_mode: str  # the directory's: single or multiple
    role_attribute: str  # roles (Microsoft's mapping) or entitlements (the senhasegura guide's)
    mode: AuthMode
    start: bool
    saml: saml.SpMetadata | None = None  # SAML single sign-on from the service provider's metadata
    authority: str = ""  # https://login.microsoftonline.com/<tenant>, for the federation metadata URL


@dataclass(slots=True)
class Step:
    step: str
    change: str  # "create", "update" or "none"
    detail: str
    done: bool = True


@dataclass(slots=True)
class Report:
    app_name: str
    dry_run: bool
    steps: list[Step] = field(default_factory=list)
    service_principal_id: str = ""
    application_id: str = ""
    job_id: str = ""
    test_connection: str = "not run"  # "passed", "failed" or "not run"
    test_connection_detail: str = ""
    federation_metadata_url: str = ""

    @property
    def changed(self) -> bool:
        return any(s.change != "none" for s in self.steps)

    def add(self, step: str, change: str, detail: str) -> None:
        self.steps.append(Step(step, change, detail, done=not self.dry_run or change == "none"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "application": self.app_name,
            "dry_run": self.dry_run,
            "changed": self.changed,
            "service_principal_id": self.service_principal_id or None,
            "application_id": self.application_id or None,
            "job_id": self.job_id or None,
            "test_connection": self.test_connection,
            "test_connection_detail": self.test_connection_detail or None,
            "federation_metadata_url": self.federation_metadata_url or None,
            "steps": [{"step": s.step, "change": s.change, "done": s.done, "detail": s.detail} for s in self.steps],
        }


def run_setup(graph: Graph, want: Desired, credentials: Issuer, *, dry_run: bool) -> Report:
    """Bring the Entra application to ``want``; with ``dry_run`` only read and report the plan."""
    report = Report(want.app_name, dry_run)
    sp = find_service_principal(graph, want.app_name)
    if sp is None:
        if dry_run:
            return _fresh_plan(report, want)
        sp, app = _instantiate(graph, want.app_name, report)
    else:
        report.add("application", "none", f"{want.app_name!r} exists (service principal {sp['id']})")
        app = _application(graph, sp)
    report.service_principal_id = sp["id"]
    report.application_id = app["id"]
    _ensure_roles(graph, app, want, report)
    job, fresh = _ensure_job(graph, sp["id"], report)
    if job is None:  # dry run on an app without a job
        return _rest_of_plan(report, want)
    report.job_id = job["id"]
    _ensure_credentials(graph, sp["id"], job["id"], want, report, credentials=credentials, fresh=fresh)
    _ensure_mapping(graph, sp["id"], job["id"], want, report)
    if want.saml is not None:
        _ensure_saml(graph, sp, app, want.saml, report, authority=want.authority)
    _ensure_started(graph, sp["id"], job, want, report)
    return report


def _instantiate(graph: Graph, name: str, report: Report) -> tuple[dict[str, Any], dict[str, Any]]:
    """(service principal, application) of a new instance; the application comes from the 201 itself, since
    a list query may not show it yet."""
    made = graph.call("POST", f"/applicationTemplates/{NON_GALLERY_TEMPLATE}/instantiate", {"displayName": name})
    sp_id = made.body["servicePrincipal"]["id"]
    # A new service principal answers 404 for a while (eventual consistency, docs/reference/entra-setup.md §3).
    sp: dict[str, Any] = graph.get(f"/servicePrincipals/{sp_id}", eventual=True)
    report.add("application", "create", f"created {name!r} from the non-gallery template (service principal {sp_id})")
    return sp, dict(made.body["application"])


def _application(graph: Graph, sp: dict[str, Any]) -> dict[str, Any]:
    found = graph.list("/applications", params={"$filter": f"appId eq '{sp['appId']}'"})
    if not found:  # an enterprise app whose registration lives in another tenant (a multi-tenant app)
        raise GraphError(
            "GET", "/applications", 404, "NotFound",
            f"the enterprise application's registration (appId {sp['appId']}) is not in this tenant, so its app "
            "roles cannot be set here; choose another --app-name and setup creates a new one",
        )  # fmt: skip
    app: dict[str, Any] = found[0]
    return app


def _ensure_roles(graph: Graph, app: dict[str, Any], want: Desired, report: Report) -> None:
    existing = list(app.get("appRoles") or [])
    have = {r.get("value") for r in existing}
    missing = [(value, display) for value, display in want.roles if value not in have]
    if not want.roles:
        report.add("app roles", "none", "the directory's role catalog is empty: no app roles to add")
        return
    if not missing:
        report.add("app roles", "none", f"all {len(want.roles)} catalog roles exist as app roles (value = name)")
        return
    new = [
        {
            "allowedMemberTypes": ["User"],
            "description": display or value,
            "displayName": display or value,
            "id": str(uuid.uuid4()),
            "isEnabled": True,
            "value": value,  # exactly the catalog name: it is what Entra sends in roles[].value
        }
        for value, display in missing
    ]
    names = ", ".join(v for v, _ in missing)
    if not report.dry_run:
        # The PATCH replaces the whole collection, so existing roles are sent back (docs/reference/entra-setup.md §1.2).
        graph.call("PATCH", f"/applications/{app['id']}", {"appRoles": existing + new}, eventual=True)
    report.add("app roles", "create", f"add {len(missing)} app role(s): {names}")


def _ensure_job(graph: Graph, sp_id: str, report: Report) -> tuple[dict[str, Any] | None, bool]:
    job = scim_job(graph, sp_id)
    if job is not None:
        report.add("provisioning job", "none", f"job {job['id']} exists (template {JOB_TEMPLATE})")
        return job, False
    if report.dry_run:
        report.add("provisioning job", "create", f"create the provisioning job from the {JOB_TEMPLATE!r} template")
        return None, True
    templates = graph.list(f"/servicePrincipals/{sp_id}/synchronization/templates", eventual=True)
    if not any(t.get("id") == JOB_TEMPLATE for t in templates):
        offered = ", ".join(str(t.get("id")) for t in templates) or "none"
        raise GraphError(
            "GET", "synchronization/templates", 400, "NoScimTemplate",
            f"the application offers no {JOB_TEMPLATE!r} provisioning template (it offers: {offered}); "
            "it must be made from the non-gallery template, which `entra setup` does when the name is new",
        )  # fmt: skip
    made = graph.call(
        "POST", f"/servicePrincipals/{sp_id}/synchronization/jobs", {"templateId": JOB_TEMPLATE}, eventual=True
    )
    created: dict[str, Any] = made.body
    report.add("provisioning job", "create", f"created job {created['id']} from the {JOB_TEMPLATE!r} template")
    return created, True


def _ensure_credentials(
    graph: Graph, sp_id: str, job_id: str, want: Desired, report: Report, *, credentials: Issuer, fresh: bool
) -> None:
    jobs = f"/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}"
    how = HOW[want.mode]
    # Entra never reads secrets back, so the mode in force is the one our side last issued credentials for.
    saved = None if fresh else credentials.saved_mode(sp_id)
    if fresh:
        why = "the new job has no credentials"
    elif saved is not None and saved != want.mode:
        why = f"switching from {HOW.get(saved, saved)}"
    else:
        failure = validate_saved(graph, jobs)
        if failure is None:
            report.add("credentials", "none", f"the saved {how} pass Test Connection; kept as they are")
            report.test_connection = "passed"
            return
        why = f"Test Connection fails with the saved credentials ({failure})"
    if report.dry_run:
        report.add("credentials", "update", f"issue {how}, check them with Entra, save them: {why}")
        return
    replace_credentials(graph, sp_id, job_id, want.mode, credentials, report=report, why=why)


def replace_credentials(
    graph: Graph, sp_id: str, job_id: str, mode: AuthMode, credentials: Issuer, *, report: Report, why: str
) -> None:
    """New credentials in place (checked, saved, checked again), the old retired after the overlap."""
    verdict = put_in_place(graph, sp_id, job_id, mode, credentials.issue(sp_id))
    report.test_connection = verdict.test_connection
    report.test_connection_detail = verdict.detail
    done = "; ".join(verdict.notes) or "nothing saved"
    report.add("credentials", "update" if verdict.notes else "none", f"{HOW[mode]} ({why}): {done}")


def _ensure_mapping(graph: Graph, sp_id: str, job_id: str, want: Desired, report: Report) -> None:
    path = f"/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}/schema"
    schema = graph.get(path, eventual=True)
    function, target = mapping.role_mapping(want.role_mode, want.role_attribute)
    change = mapping.ensure_role_mapping(schema, function, target)
    if change is None:
        report.add("role mapping", "none", f"{function}([appRoleAssignments]) -> {target} is in place")
        return
    if not report.dry_run:
        graph.call("PUT", path, schema)  # the PUT replaces the whole schema (synchronizationschema-update.md)
    report.add("role mapping", "update", change)


def _ensure_saml(
    graph: Graph, sp: dict[str, Any], app: dict[str, Any], meta: saml.SpMetadata, report: Report, *, authority: str
) -> None:
    changes = saml.plan(sp, app, meta)
    if not changes:
        report.add("single sign-on", "none", f"SAML single sign-on is set up for {meta.entity_id}")
    for step, words in changes:
        done = words if report.dry_run else saml.apply(graph, sp, app, meta, step)
        report.add("single sign-on", "update", done)
    report.federation_metadata_url = saml.federation_metadata_url(authority, sp["appId"])


def _ensure_started(graph: Graph, sp_id: str, job: dict[str, Any], want: Desired, report: Report) -> None:
    state = str((job.get("schedule") or {}).get("state", ""))
    if state == "Active":
        report.add("start", "none", "the provisioning job is already running")
    elif not want.start:
        report.add("start", "none", "not started: run again with --start when the check passes")
    elif report.test_connection == "failed":
        report.add("start", "none", "not started: Test Connection failed (see above)")
    else:
        if not report.dry_run:
            graph.call("POST", f"/servicePrincipals/{sp_id}/synchronization/jobs/{job['id']}/start")
        report.add("start", "update", "start the provisioning job (first cycle within about 40 minutes)")


def plan_for_new(want: Desired) -> Report:
    """The dry-run plan for an application that does not exist yet: needs no Graph read, so no sign-in."""
    return _fresh_plan(Report(want.app_name, dry_run=True), want)


def _fresh_plan(report: Report, want: Desired) -> Report:
    report.add("application", "create", f"create {want.app_name!r} from the non-gallery template")
    if want.roles:
        names = ", ".join(v for v, _ in want.roles)
        report.add("app roles", "create", f"add {len(want.roles)} app role(s): {names}")
    else:
        report.add("app roles", "none", "the directory's role catalog is empty: no app roles to add")
    report.add("provisioning job", "create", f"create the provisioning job from the {JOB_TEMPLATE!r} template")
    return _rest_of_plan(report, want)


def _rest_of_plan(report: Report, want: Desired) -> Report:
    report.add("credentials", "update", f"issue {HOW[want.mode]}, check them with Entra, save them, check again")
    function, target = mapping.role_mapping(want.role_mode, want.role_attribute)
    report.add("role mapping", "update", f"map {function}([appRoleAssignments]) -> {target}")
    if want.saml is not None:
        report.add("single sign-on", "update", f"SAML single sign-on for {want.saml.entity_id}")
    if want.start:
        report.add("start", "update", "start the provisioning job if Test Connection passes")
    else:
        report.add("start", "none", "not started: run again with --start when the check passes")
    return report
