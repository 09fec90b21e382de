"""Scheduled rotation: every client that opted in (`scimctl client set-rotation`) gets a new credential in Entra
before the one Entra holds grows old or expires, by the same checked, overlapping steps as `scimctl entra rotate`.

Run by `scimctl entra rotate-due` and by the function app's daily timer (function_app.py). A client is due
when the credential Entra holds (its newest secret or long-lived token) is ``auto_rotate_days`` old, or
expires within that many days. One client's failure is reported and the others still run; a failure leaves
that client's old credential working (scim.entra.credentials).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from scim import telemetry
from scim.entra.issuer import EntraCredentials, Host
from scim.entra.modes import AuthMode
from scim.model import Client
from scim.secrets import SecretVersion
from scim.service.admin import AdminService

log = logging.getLogger("scim.entra.rotation")


@dataclass(frozen=True, slots=True)
class Due:
    client: Client
    mode: AuthMode
    why: str


def why_due(newest: SecretVersion, days: int, now: datetime) -> str | None:
    """Why this credential is due for rotation, or None when it is not."""
    if newest.created <= now - timedelta(days=days):
        return f"it is {(now - newest.created).days} days old (rotation every {days} days)"
    if newest.expires_on is not None and newest.expires_on <= now + timedelta(days=days):
        return f"it expires on {newest.expires_on:%Y-%m-%d}"
    return None


async def due_clients(app: Host, admin: AdminService, now: datetime) -> list[Due]:
    """Opted-in clients whose credential in Entra is due, with the mode it was issued for."""
    found = []
    for client in await app.store.list_clients():
        if client.auto_rotate_days <= 0 or client.disabled or client.federation or client.entra_issued_tenant:
            continue
        tokens = await admin.keys.long_lived(client.id)
        secrets = await app.clients.secret_versions(client.id)
        newest_token = max(tokens, key=lambda v: v.created, default=None)
        newest_secret = max(secrets, key=lambda v: v.created, default=None)
        mode: AuthMode
        if newest_token and (newest_secret is None or newest_token.created >= newest_secret.created):
            mode, newest = "secret-token", newest_token
        elif newest_secret is not None:
            mode, newest = "client-credentials", newest_secret
        else:
            continue
        why = why_due(newest, client.auto_rotate_days, now)
        if why:
            found.append(Due(client, mode, why))
    return found


def _rotate_one(graph: Any, due: Due, credentials: EntraCredentials) -> Any:
    """Blocking Graph work for one client; its id is its enterprise app's service principal id (`entra setup`)."""
    from scim.entra.lookup import scim_job
    from scim.entra.setup import Report, replace_credentials

    report = Report(due.client.id, dry_run=False)
    job = scim_job(graph, due.client.id)
    if job is None:
        raise ValueError("its enterprise application has no provisioning job: run `scimctl entra setup`")
    replace_credentials(graph, due.client.id, job["id"], due.mode, credentials, report=report, why=due.why)
    return report


async def rotate_due(
    app: Host, admin: AdminService, graph: Any, *, overlap: timedelta, dry_run: bool = False
) -> list[dict[str, Any]]:
    """Rotate every due client (``graph``: a signed-in scim.entra.graph.Graph); one result per client."""
    from scim.entra.graph import GraphError

    results = []
    for due in await due_clients(app, admin, datetime.now(UTC)):
        result: dict[str, Any] = {"client_id": due.client.id, "mode": due.mode, "why": due.why}
        if dry_run:
            results.append(result | {"result": "due"})
            continue
        directory, networks = due.client.directory, due.client.networks
        credentials = EntraCredentials(
            app, admin, directory, mode=due.mode, networks=networks, overlap=overlap, send=None
        )
        try:
            report = await asyncio.to_thread(_rotate_one, graph, due, credentials)
        except (GraphError, ValueError) as exc:
            results.append(result | {"result": "failed", "detail": str(exc)})
            continue
        passed = report.test_connection == "passed"
        detail = "; ".join(s.detail for s in report.steps)
        if not passed:
            detail += f"; {report.test_connection_detail}"
        results.append(result | {"result": "rotated" if passed else "failed", "detail": detail})
    return results


def managed_identity_graph(token: Callable[[str], Callable[[], str]]) -> Any:
    """Graph as the function app's managed identity; ``token`` is scim.app.managed_identity_token (azure-identity,
    as the Key Vault and queue clients sign in)."""
    import requests

    from scim.config import load_entra_settings
    from scim.entra.graph import Graph

    base = load_entra_settings().graph_url
    return Graph(token(f"{base}/.default"), requests.Session(), base=base)


async def run_scheduled(app: Host, sign_in: Callable[[], Any]) -> list[dict[str, Any]]:
    """The timer's run: ``sign_in`` (a Graph) only when some client is due; each result is logged (never a secret)."""
    admin = AdminService(app.store, app.clients, app.tokens)
    if not await due_clients(app, admin, datetime.now(UTC)):
        return []
    graph = await asyncio.to_thread(sign_in)
    try:
        results = await rotate_due(app, admin, graph, overlap=timedelta(hours=24))
    finally:
        graph.close()
    for result in results:
        level = logging.WARNING if result["result"] == "failed" else logging.INFO
        log.log(level, "entra credential rotation: client %s %s (%s)", result["client_id"], result["result"],
                telemetry.escape(str(result.get("detail", ""))))  # fmt: skip
    return results
