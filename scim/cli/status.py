"""`scimctl status`: each directory's health verdict from the service's own record, joined with Entra's word on
its provisioning job (quarantine) when asked to sign in to Graph (--entra). The exit code is the worst verdict's."""

from __future__ import annotations

import argparse
import dataclasses
import time

from scim.app import App
from scim.cli import entra
from scim.cli._common import Outcome, Subparsers, duration, leaf
from scim.service.admin import AdminService
from scim.service.directories import AdminError
from scim.service.health import IDLE_AFTER, Health, HealthRecord, judge, merge


async def _health(app: App, directory: str, args: argparse.Namespace) -> Health:
    records = [HealthRecord.from_json(text) for text in (await app.store.health_records(directory)).values()]
    quarantine, job = None, None
    if args.entra:
        _, job = await entra.job_status_of(argparse.Namespace(**{**vars(args), "directory": directory}))
        quarantine = job["quarantine"]
    health = judge(directory, merge(records), time.time(), idle_after=args.idle_after, quarantine=quarantine)
    if job is not None:
        health.entra = {k: job.get(k) for k in ("job_id", "state", "status", "quarantine", "last_execution")}
    return health


def _lines(health: Health) -> list[str]:
    last = health.last_request or "never"
    lines = [f"{health.directory}: {health.verdict.upper()} ({health.why}); last request {last}"]
    hour = health.hour
    lines.append(
        f"  last hour: {hour['requests']} requests, {hour['server_errors']} 5xx, {hour['auth_failures']} auth failures"
        + "".join(f", {n} {reason}" for reason, n in hour["refusals"].items())
    )
    for value in health.refused_values:
        closest = f" (closest: {value['closest']!r})" if value["closest"] else ""
        lines.append(f"  refused {value['reason']}: {value['value']!r} x{value['count']}{closest}")
    return lines


async def _status(app: App, admin: AdminService, args: argparse.Namespace) -> Outcome:
    if args.directory:
        if await app.store.get_directory(args.directory) is None:
            raise AdminError(f"Directory {args.directory!r} does not exist; `scimctl directory list` shows them.")
        names = [args.directory]
    else:
        names = [d.id for d in await app.store.list_directories()]
    found = [await _health(app, name, args) for name in names]
    code = max((h.exit_code for h in found), default=0)
    if args.json:
        return Outcome([dataclasses.asdict(h) | {"exit_code": h.exit_code} for h in found], code)
    return Outcome([line for h in found for line in _lines(h)] or ["no directories"], code)


def register(sub: Subparsers) -> None:
    status = leaf(sub, "status", _status, "each directory's health: healthy, idle, refusing, failing, ...")
    status.add_argument("--directory", help="one directory (default: every directory)")
    status.add_argument(
        "--idle-after",
        type=duration,
        default=IDLE_AFTER,
        help="a directory with no request for this long is idle (default 60m; Entra's cycle is about 40m)",
    )
    status.add_argument("--entra", action="store_true", help="also ask Entra (Graph) whether the job is quarantined")
    entra.sign_in_options(status)
