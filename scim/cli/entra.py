"""scimctl entra setup|check|status|provision: the Entra side of provisioning, through Microsoft Graph.

Graph and msal load inside the commands (scim.entra), never when scimctl or the function app is imported.
Graph calls are blocking; they run in a worker thread while the store stays on the event loop, and the
credentials step hops back to the loop to issue a token or a client secret.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from scim.app import App
from scim.cli._common import Outcome, Subparsers, federation_of, leaf
from scim.config import EntraSettings, SettingsError, load_entra_settings
from scim.model import Directory
from scim.service.admin import AdminService
from scim.service.directories import AdminError

# Tests replace this to count the waits of Graph retries without waiting.
sleep: Callable[[float], None] = time.sleep
T = TypeVar("T")

FLOWS = ("interactive", "device-code", "secret", "certificate")
# scim.entra.modes.AUTH_MODES, spelled here so that building the parser loads no scim.entra (a test keeps them equal).
AUTH_MODES = ("secret-token", "client-credentials", "federated")
# Delegated permissions per command, least privilege (Graph permission tables; docs/deploy.md lists them).
SCOPES = {
    "setup": ["Application.ReadWrite.All", "Synchronization.ReadWrite.All"],
    "rotate": ["Application.Read.All", "Synchronization.ReadWrite.All"],
    "test-connection": ["Application.Read.All", "Synchronization.ReadWrite.All"],
    "check": ["Application.Read.All"],
    "status": ["Synchronization.Read.All", "AuditLog.Read.All"],
    "provision": ["Synchronization.ReadWrite.All", "User.ReadBasic.All", "GroupMember.Read.All"],
}


def _tell(text: str) -> None:
    print(f"scimctl: {text}", file=sys.stderr, flush=True)


def _settings() -> EntraSettings:
    try:
        return load_entra_settings()
    except SettingsError as exc:
        raise AdminError(str(exc)) from None


def _tenant(args: argparse.Namespace) -> str:
    tenant = str(args.tenant or _settings().tenant)
    if not tenant:
        raise AdminError("Give --tenant (the Entra tenant id or domain) or set AZURE_TENANT_ID.")
    return tenant


def _authority(args: argparse.Namespace) -> str:
    return f"{_settings().authority_host}/{_tenant(args)}"


def _graph(args: argparse.Namespace, command: str) -> Any:
    """A Graph client signed in as the flags and environment say (tenant, flow, client, cache)."""
    import requests

    from scim.entra.auth import DEFAULT_PUBLIC_CLIENT, Flow, SignIn, TokenSource
    from scim.entra.graph import Graph

    settings = _settings()
    tenant = _tenant(args)
    certificate = args.certificate or settings.certificate
    flow: Flow = args.sign_in or (
        "secret" if settings.client_secret else "certificate" if certificate else "interactive"
    )
    client_id = args.client_id or settings.client_id
    if flow in ("secret", "certificate") and not client_id:
        raise AdminError(f"--sign-in {flow} needs the app registration's --client-id (or SCIM_ENTRA_CLIENT_ID).")
    graph_url = settings.graph_url
    sign_in = SignIn(
        tenant=tenant,
        flow=flow,
        client_id=client_id or DEFAULT_PUBLIC_CLIENT,
        secret=settings.client_secret,
        certificate=Path(certificate) if certificate else None,
        cache_path=settings.token_cache,
        authority_host=settings.authority_host,
        graph=graph_url,
    )
    session = requests.Session()
    scopes = [f"{graph_url}/{scope}" for scope in SCOPES[command]]
    token = TokenSource(sign_in, scopes, session, tell=_tell)
    return Graph(token, session, base=graph_url, sleep=sleep, notify=_tell, refused=token.invalidate)


async def _off_loop(graph: Any, work: Callable[[], T]) -> T:
    """Run blocking Graph work in a thread; its failures become the CLI's refusals (exit 1, plain words)."""
    from scim.entra.auth import SignInError
    from scim.entra.graph import GraphError

    try:
        return await asyncio.to_thread(work)
    except (GraphError, SignInError, ValueError) as exc:
        raise AdminError(str(exc)) from None
    finally:
        graph.close()


async def _directory(app: App, directory: str) -> Directory:
    found = await app.store.get_directory(directory)
    if found is None:
        raise AdminError(f"Directory {directory!r} does not exist; create it with `scimctl directory create`.")
    return found


def _app_name(args: argparse.Namespace) -> str:
    from scim.entra.lookup import default_app_name

    if args.app_name:
        return str(args.app_name)
    if not args.directory:
        raise AdminError("Give --directory (the app is then named 'SCIM <directory>') or --app-name.")
    return default_app_name(args.directory)


# setup --------------------------------------------------------------------------------------------
async def _setup(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    from scim.entra.setup import Desired, run_setup

    directory = await _directory(app, args.directory)
    if not app.settings.base_url.startswith("https://"):
        raise AdminError(
            f"Entra calls only HTTPS endpoints, and the Base URL is {app.settings.base_url}: set "
            "SCIM_PUBLIC_BASE_URL to the deployment's https:// address (`azd env get-values` shows it)."
        )
    roles = [(r.value, r.display_name) for r in await admin.list_roles(directory.id)]
    want = Desired(_app_name(args), roles, directory.role_mode, args.role_attribute, args.auth, args.start)
    credentials = _credentials(app, admin, directory.id, args)
    if args.dry_run and not (args.tenant or _settings().tenant):
        from scim.entra.setup import plan_for_new

        # No tenant named: nothing can be read, so show the whole plan as for a new app, without signing in.
        _tell("no --tenant (or AZURE_TENANT_ID): not signed in; this is the plan for a new application")
        report = plan_for_new(want)
        return Outcome(report.as_dict() if args.json else _plan_lines(report), 0)
    graph = _graph(args, "setup")

    def work() -> Any:
        wanted = want
        if args.saml_metadata:
            import requests

            from scim.entra.saml import read_metadata

            with requests.Session() as session:
                meta = read_metadata(args.saml_metadata, session)
            wanted = dataclasses.replace(want, saml=meta, authority=_authority(args))
        return run_setup(graph, wanted, credentials, dry_run=args.dry_run)

    report = await _off_loop(graph, work)
    code = 1 if report.test_connection == "failed" else 0
    if args.json:
        return Outcome(report.as_dict(), code)
    lines = _plan_lines(report)
    if report.federation_metadata_url:
        lines.append(f"SAML federation metadata URL (give it to the application): {report.federation_metadata_url}")
    lines += _credential_lines(report)
    if args.dry_run:
        lines.append("Dry run: nothing was changed." if report.changed else "Dry run: nothing would change.")
    elif not report.changed:
        lines.append(f"Nothing changed: {report.app_name!r} already matches directory {directory.id!r}.")
    return Outcome(lines, code)


def _plan_lines(report: Any) -> list[str]:
    return [
        f"[{'plan' if not s.done else 'changed' if s.change != 'none' else 'ok'}] {s.step}: {s.detail}"
        for s in report.steps
    ]


def _credentials(app: App, admin: AdminService, directory: str, args: argparse.Namespace) -> Any:
    from scim.entra.issuer import EntraCredentials

    federation = federation_of(args)
    return EntraCredentials(
        app, admin, directory, mode=args.auth, networks=args.networks, overlap=timedelta(hours=args.overlap_hours),
        send=args.send_credentials.capitalize() if args.send_credentials else None, federation=federation,
    )  # fmt: skip


def _credential_lines(report: Any) -> list[str]:
    if report.test_connection == "passed":
        return ["Test Connection: passed"]
    if report.test_connection == "failed":
        return [f"Test Connection: FAILED: {report.test_connection_detail}"]
    return []


# rotate -------------------------------------------------------------------------------------------
async def _rotate(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    from scim.entra.lookup import require_job, require_service_principal
    from scim.entra.setup import Report, replace_credentials

    directory = await _directory(app, args.directory)
    name, graph = _app_name(args), _graph(args, "rotate")
    report = Report(name, dry_run=False)

    def work() -> Any:
        sp = require_service_principal(graph, name)
        job = require_job(graph, sp["id"], name)
        saved = credentials.saved_mode(sp["id"])
        if saved is None:
            raise ValueError(f"no client holds {name!r}'s credentials: run `scimctl entra setup` first")
        if saved == "federated":
            raise ValueError("workload identity federation has no secret to rotate: Entra signs a new assertion")
        credentials.mode = saved
        report.service_principal_id, report.job_id = sp["id"], job["id"]
        replace_credentials(graph, sp["id"], job["id"], saved, credentials, report=report, why="rotation")
        return report

    args.auth = "secret-token"  # replaced by the saved mode in work()
    credentials = _credentials(app, admin, directory.id, args)
    await _off_loop(graph, work)
    code = 1 if report.test_connection == "failed" else 0
    if args.json:
        return Outcome(report.as_dict(), code)
    return Outcome([f"[{s.change}] {s.step}: {s.detail}" for s in report.steps] + _credential_lines(report), code)


async def _test_connection(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    """Entra's own Test Connection of what it has saved, in whatever mode (and Header/Body/Both) it is set to."""
    from scim.entra.credentials import validate_saved
    from scim.entra.issuer import EntraCredentials
    from scim.entra.lookup import require_job, require_service_principal
    from scim.entra.modes import HOW

    directory = await _directory(app, args.directory)
    name, graph = _app_name(args), _graph(args, "test-connection")
    ours = EntraCredentials(app, admin, directory.id, mode="secret-token", networks=["any"])

    def work() -> tuple[str, str | None]:
        sp = require_service_principal(graph, name)
        job = require_job(graph, sp["id"], name)
        mode = ours.saved_mode(sp["id"])
        failure = validate_saved(graph, f"/servicePrincipals/{sp['id']}/synchronization/jobs/{job['id']}")
        return (HOW.get(mode or "", "credentials this side did not issue"), failure)

    how, failure = await _off_loop(graph, work)
    result = {"application": name, "mode": how, "test_connection": "failed" if failure else "passed"}
    if args.json:
        return Outcome(result | {"detail": failure}, 1 if failure else 0)
    verdict = f"FAILED: {failure}" if failure else "passed"
    return Outcome([f"{name!r} ({how}): Entra's Test Connection {verdict}"], 1 if failure else 0)


async def _rotate_due(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    from scim.entra.rotation import due_clients, rotate_due

    if args.dry_run:  # nothing to read from Entra: no sign-in
        found = await due_clients(app, admin, datetime.now(UTC))
        results = [{"client_id": d.client.id, "mode": d.mode, "why": d.why, "result": "due"} for d in found]
    else:
        graph = _graph(args, "rotate")
        try:
            results = await rotate_due(app, admin, graph, overlap=timedelta(hours=args.overlap_hours))
        finally:
            graph.close()
    code = 1 if any(r["result"] == "failed" for r in results) else 0
    if args.json:
        return Outcome(results, code)
    lines = [f"[{r['result']}] client {r['client_id']} ({r['mode']}): {r['why']}" + (
        f": {r['detail']}" if r.get("detail") else "") for r in results]  # fmt: skip
    return Outcome(lines or ["No client is due for rotation."], code)


# check --------------------------------------------------------------------------------------------
async def _check(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    from scim.entra.check import assigned_names, judge
    from scim.entra.lookup import require_service_principal

    directory = await _directory(app, args.directory)
    role_catalog = [r.value for r in await admin.list_roles(directory.id)]
    group_catalog = [str(g.data.get("displayName")) for g in await admin.list_groups(directory.id)]
    name, graph = _app_name(args), _graph(args, "check")

    def fetch() -> tuple[dict[str, int], dict[str, int]]:
        sp = require_service_principal(graph, name)
        return assigned_names(graph.list(f"/servicePrincipals/{sp['id']}/appRoleAssignedTo"), sp.get("appRoles") or [])

    groups, roles = await _off_loop(graph, fetch)
    policy, d = directory.name_policy, directory.id
    findings = [
        judge("group", n, group_catalog, policy=policy, directory=d, assigned=count)
        for n, count in sorted(groups.items())
    ]
    findings += [
        judge("role", n, role_catalog, policy=policy, directory=d, assigned=count) for n, count in sorted(roles.items())
    ]
    refused = [f for f in findings if f.verdict == "refused"]
    code = 1 if refused else 0
    if args.json:
        return Outcome({"application": name, "policy": policy, "refused": len(refused),
                        "names": [f.as_dict() for f in findings]}, code)  # fmt: skip
    lines = []
    for f in findings:
        label = "REFUSED" if f.verdict == "refused" else f.verdict
        why = f" ({f.problem})" if f.problem else ""
        lines.append(
            f"[{label}] {f.kind} {f.name!r}{why}, {f.assigned} assignment(s)" + (f": {f.fix}" if f.fix else "")
        )
    if refused:
        lines.append(f"{len(refused)} of {len(findings)} names will be refused; fix them before provisioning.")
    else:
        lines.append(f"All {len(findings)} names Entra will send match directory {d!r} ({policy} policy).")
    return Outcome(lines, code)


# status and provision -----------------------------------------------------------------------------
async def job_status_of(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The enterprise app's name and its provisioning job's status, as Graph reports it (`scimctl status` too)."""
    from scim.entra.lookup import require_job, require_service_principal
    from scim.entra.status import job_status

    name, graph = _app_name(args), _graph(args, "status")

    def fetch() -> dict[str, Any]:
        sp = require_service_principal(graph, name)
        return job_status(graph, sp["id"], require_job(graph, sp["id"], name)["id"])

    return name, await _off_loop(graph, fetch)


async def _status(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    from scim.entra.status import human

    name, status = await job_status_of(args)
    code = 1 if status["quarantine"] else 0
    return Outcome({"application": name, **status} if args.json else human(status, name), code)


async def _provision(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    from scim.entra.lookup import find_subject, require_job, require_service_principal
    from scim.entra.words import on_demand_verdict

    name, graph = _app_name(args), _graph(args, "provision")

    def run() -> tuple[dict[str, Any], Any]:
        sp = require_service_principal(graph, name)
        job = require_job(graph, sp["id"], name)
        jobs = f"/servicePrincipals/{sp['id']}/synchronization/jobs/{job['id']}"
        rules = (graph.get(f"{jobs}/schema") or {}).get("synchronizationRules") or []
        if not rules:
            raise ValueError(f"the provisioning job of {name!r} has no synchronization rule")
        object_id, kind, label = find_subject(graph, args.subject)
        body = {
            "parameters": [{"ruleId": rules[0]["id"], "subjects": [{"objectId": object_id, "objectTypeName": kind}]}]
        }
        reply = graph.call("POST", f"{jobs}/provisionOnDemand", body).body or {}
        return {"object_id": object_id, "type": kind, "name": label}, on_demand_verdict(reply, f"{kind} {label!r}")

    subject, verdict = await _off_loop(graph, run)
    code = 1 if verdict.failed else 0
    if args.json:
        steps = [{k: s.get(k) for k in ("name", "status", "description")} for s in verdict.steps]
        result = {**subject, "result": verdict.result, "verdict": verdict.words}
        return Outcome({**result, "error_code": verdict.error_code or None, "steps": steps}, code)
    return Outcome([verdict.words], code)


def _common(parser: argparse.ArgumentParser, *, directory_required: bool) -> None:
    parser.add_argument("--directory", required=directory_required, help="the SCIM directory this app provisions")
    sign_in_options(parser)


def sign_in_options(parser: argparse.ArgumentParser) -> None:
    """--app-name and the Graph sign-in flags (`scimctl status --entra` takes them too)."""
    parser.add_argument("--app-name", help="the enterprise application's name (default: 'SCIM <directory>')")
    sign_in = parser.add_argument_group("sign-in to Entra (msal)")
    sign_in.add_argument("--tenant", help="tenant id or domain (default: $AZURE_TENANT_ID)")
    sign_in.add_argument(
        "--sign-in", choices=FLOWS, help="default: secret when $SCIM_ENTRA_CLIENT_SECRET is set, else interactive"
    )
    sign_in.add_argument("--client-id", help="app registration for secret/certificate (default: $SCIM_ENTRA_CLIENT_ID)")
    sign_in.add_argument(
        "--certificate", help="PEM with private key and certificate (default: $SCIM_ENTRA_CERTIFICATE)"
    )


def _credential_options(parser: argparse.ArgumentParser, *, send: str | None, new_client: bool) -> None:
    kept = "default: as Entra has it" if send is None else f"default {send}"
    parser.add_argument(
        "--send-credentials", choices=["header", "body", "both"], default=send,
        help=f"OAuth: where Entra sends the client id and secret (the admin center's 'How credentials are sent'; "
        f"{kept})",
    )  # fmt: skip
    parser.add_argument(
        "--overlap-hours", type=float, default=24.0,
        help="how long the replaced secret or token keeps working once Entra holds the new one (default 24)",
    )  # fmt: skip
    if not new_client:
        parser.set_defaults(networks=["any"], federated_tenant=None)
        return
    parser.add_argument("--networks", nargs="+", default=["any"], help="allowed source CIDRs for a new client")
    fed = parser.add_argument_group("workload identity federation (--auth federated; docs/security.md)")
    fed.add_argument("--federated-tenant", help="the Entra tenant id whose assertions stand in for a secret")
    fed.add_argument("--federated-audience", help="Audience (aud) from the app's Connectivity page")
    fed.add_argument("--federated-subject", help="Subject (sub) from the app's Connectivity page")
    fed.add_argument("--federated-issuer", help="Issuer (iss); default SCIM_ENTRA_ISSUER_TEMPLATE")


def register(sub: Subparsers) -> None:
    entra = sub.add_parser("entra", help="configure and watch the Entra side (Microsoft Graph)").add_subparsers(
        dest="action", required=True
    )
    setup = leaf(entra, "setup", _setup, "create or update the enterprise app, roles, job and credentials")
    _common(setup, directory_required=True)
    setup.add_argument(
        "--auth", choices=AUTH_MODES, default="secret-token",
        help="how Entra authenticates: a long-lived Secret Token (default), OAuth2 client credentials, or "
        "workload identity federation",
    )  # fmt: skip
    _credential_options(setup, send="header", new_client=True)
    where = "where roles go: roles (Microsoft's mapping) or entitlements (the senhasegura guide's)"
    setup.add_argument("--role-attribute", choices=["roles", "entitlements"], default="roles", help=where)
    setup.add_argument("--start", action="store_true", help="start the provisioning job when Test Connection passes")
    setup.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    setup.add_argument("--saml-metadata", metavar="URL|FILE", help="also set up SAML single sign-on from SP metadata")
    rotate = leaf(entra, "rotate", _rotate, "new secret or Secret Token into Entra, checked, then the old one retired")
    _common(rotate, directory_required=True)
    _credential_options(rotate, send=None, new_client=False)
    due = leaf(entra, "rotate-due", _rotate_due, "rotate each opted-in client whose credential is due (as the timer)")
    _common(due, directory_required=False)
    due.add_argument("--overlap-hours", type=float, default=24.0, help="how long a replaced credential keeps working")
    due.add_argument("--dry-run", action="store_true", help="list the clients that are due; sign in to nothing")
    test = leaf(entra, "test-connection", _test_connection, "Entra's Test Connection of the saved credentials")
    _common(test, directory_required=True)
    check = leaf(entra, "check", _check, "list every group and role name Entra will send that will be refused")
    _common(check, directory_required=True)
    status = leaf(entra, "status", _status, "job state, quarantine, last run, counts and recent failures")
    _common(status, directory_required=False)
    provision = leaf(entra, "provision", _provision, "provision one user or group now and explain the verdict")
    _common(provision, directory_required=False)
    provision.add_argument("subject", help="a userPrincipalName, a group name, or an object id")
