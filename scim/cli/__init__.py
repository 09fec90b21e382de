"""`scimctl`: the admin CLI. It works on the configured store (SCIM_STORE and friends), locally or in Azure.

Commands live in catalog.py (directories, roles, groups, users), access.py (clients, tokens, keys) and
doctor.py; this module parses, builds the App and prints. Exit codes: 0 done, 1 refused or a failed check,
2 bad usage or settings.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import sys
from collections.abc import Callable, Sequence
from typing import Any

from scim.app import App, build_app
from scim.cli import access, catalog, changes, entra, export
from scim.cli import status as status_command
from scim.cli._common import Outcome, emit, json_flag, leaf, os_error_text
from scim.config import DOCTOR_SECRET_ENV, Settings, SettingsError, load_doctor_settings, load_settings
from scim.errors import StoreUnavailable
from scim.service.admin import AdminService
from scim.service.directories import AdminError

# Tests replace this to run commands against an App they hold (a MemoryStore and a FileSecretStore, say).
app_factory: Callable[[Settings], App] = build_app


async def _check(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    from scim.store.check import check_directory

    if await app.store.get_directory(args.directory) is None:
        raise AdminError(f"Directory {args.directory!r} does not exist; create it with `scimctl directory create`.")
    report = await check_directory(app.store, args.directory, repair=args.repair)
    return {**dataclasses.asdict(report), "consistent": report.consistent}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scimctl", description="Administer the SCIM provisioning endpoint.", parents=[json_flag()]
    )
    parser.set_defaults(json=False)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the function app locally on real HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=7071, help="port to listen on (default 7071)")

    catalog.register(sub)
    access.register(sub)
    entra.register(sub)
    changes.register(sub)
    export.register(sub)
    status_command.register(sub)

    doctor = sub.add_parser("doctor", help="check a deployment as Entra would", parents=[json_flag()])
    doctor.add_argument("--base-url", required=True, help="the SCIM Base URL (Entra's Tenant URL), .../scim/v2")
    doctor.add_argument("--client-id", required=True, help="the client id Entra uses, or a doctor-only client's")
    doctor.add_argument("--client-secret", help=f"default: ${DOCTOR_SECRET_ENV}, else a prompt")
    doctor.add_argument("--token-url", help="default: /oauth2/token beside the Base URL")
    doctor.add_argument("--timeout", type=float, default=15.0, help="seconds per HTTP call")
    doctor.add_argument(
        "--federated", action="store_true", help="check workload identity federation instead (no secret needed)"
    )
    doctor.add_argument("--federated-tenant", help="with --federated: the client's Entra tenant id")
    doctor.add_argument("--federated-issuer", help="with --federated: the issuer, if the client has its own")
    doctor.add_argument(
        "--send-credentials", choices=["header", "body", "both"], default="header",
        help="how Entra is set to send the client id and secret ('How credentials are sent'); default header",
    )  # fmt: skip
    doctor.add_argument(
        "--secret-token", action="store_true",
        help="Entra's Secret Token mode: the secret given is the long-lived token, sent as the Bearer",
    )  # fmt: skip

    check = leaf(sub, "check", _check, "verify a directory's index entities and memberships")
    check.add_argument("--directory", required=True, help="the directory id")
    check.add_argument("--repair", action="store_true", help="remove orphans and restore missing entries")
    return parser


def _normalise(argv: list[str]) -> list[str]:
    """`scimctl token --client X [--long-lived]` (the documented short form) means `token issue`."""
    for i, word in enumerate(argv):
        if not word.startswith("-"):
            after = argv[i + 1 : i + 2]
            if word == "token" and after and after[0].startswith("--") and after[0] not in ("--help", "--json"):
                return [*argv[: i + 1], "issue", *argv[i + 1 :]]
            break
    return argv


def _doctor(args: argparse.Namespace) -> int:
    from scim.cli.doctor import as_rows, run_doctor, run_federated_doctor

    try:
        settings = load_doctor_settings()
    except SettingsError as exc:
        print(f"scimctl: {exc}", file=sys.stderr)
        return 2
    if args.federated:
        if not args.federated_tenant:
            print("scimctl: doctor --federated needs --federated-tenant", file=sys.stderr)
            return 2
        checks = run_federated_doctor(
            args.base_url,
            args.client_id,
            args.federated_tenant,
            issuer=args.federated_issuer,
            token_url=args.token_url,
            timeout=args.timeout,
            jwks_template=settings.entra_jwks_url_template,
            issuer_template=settings.entra_issuer_template,
        )
    else:
        secret = args.client_secret or settings.client_secret
        if not secret:
            if not sys.stdin.isatty():
                print(f"scimctl: give --client-secret or set {DOCTOR_SECRET_ENV}", file=sys.stderr)
                return 2
            secret = getpass.getpass("client secret: ")
        checks = run_doctor(
            args.base_url, args.client_id, secret, token_url=args.token_url, timeout=args.timeout,
            send=args.send_credentials, secret_token=args.secret_token,
        )  # fmt: skip
    if args.json:
        emit(as_rows(checks), True)
    else:
        for c in checks:
            print(f"[{'ok' if c.ok else 'FAIL'}] {c.step}: {c.detail}")
    return 0 if checks and all(c.ok for c in checks) else 1


async def _run(settings: Settings, args: argparse.Namespace) -> Any:
    app = app_factory(settings)
    try:
        admin = AdminService(app.store, app.clients, app.tokens, queue_prefix=settings.table_prefix)
        return await args.run(app, admin, args)
    finally:
        await app.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(_normalise(list(sys.argv[1:] if argv is None else argv)))
    if args.command == "doctor":
        return _doctor(args)
    if args.command == "serve":
        from scim.dev.localrun import serve

        return serve(args.host, args.port)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"scimctl: {exc}", file=sys.stderr)
        return 2
    if settings.store == "memory" and app_factory is build_app:
        print(
            "scimctl: SCIM_STORE=memory keeps nothing after this command; set SCIM_STORE=tables "
            "(see README) to administer a running service.",
            file=sys.stderr,
        )
    try:
        result = asyncio.run(_run(settings, args))
    except KeyboardInterrupt:  # Ctrl-C ends a follow (`changes tail`) or a long command: no traceback
        print("scimctl: stopped", file=sys.stderr)
        return 130
    except AdminError as exc:
        print(f"scimctl: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"scimctl: {os_error_text(exc)}", file=sys.stderr)
        return 1
    except StoreUnavailable as exc:
        where = settings.tables_endpoint or "the Table service in SCIM_TABLES_CONNECTION_STRING"
        print(
            f"scimctl: {exc} Check that {where} is running and reachable (locally: is `make run` up?).", file=sys.stderr
        )
        return 1
    code = 0
    if isinstance(result, Outcome):
        result, code = result.result, result.code
    emit(result, args.json)
    return code


if __name__ == "__main__":
    sys.exit(main())
