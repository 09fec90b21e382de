"""`scimctl`: the admin CLI. It works on the configured store (SCIM_STORE and friends), locally or in Azure."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from scim.app import App, build_app
from scim.auth.tokens import DEFAULT_TTL
from scim.config import Settings, SettingsError, load_settings
from scim.service.admin import AdminError, AdminService

Command = Callable[[App, AdminService, argparse.Namespace], Awaitable[Any]]


def _admin(app: App) -> AdminService:
    return AdminService(app.store, app.clients, app.tokens)


async def _directory_create(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    d = await admin.ensure_directory(args.directory, policy=args.policy, role_mode=args.role_mode)
    return {"directory": d.id, "name_policy": d.name_policy, "role_mode": d.role_mode}


async def _directory_list(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    return [
        {"directory": d.id, "name_policy": d.name_policy, "role_mode": d.role_mode}
        for d in await app.store.list_directories()
    ]


async def _client_create(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    registration = await admin.create_client(args.directory, args.networks)
    return {
        "client_id": registration.client.id,
        "client_secret": registration.secret,
        "directory": registration.client.directory,
        "networks": registration.client.networks,
        "base_url": app.settings.base_url,
        "token_url": app.settings.token_url,
    }


async def _client_list(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    return [
        {"client_id": c.id, "directory": c.directory, "networks": c.networks, "disabled": c.disabled}
        for c in await app.store.list_clients()
    ]


async def _role_add(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    role = await admin.add_role(args.directory, args.value, args.display_name or "")
    return {"value": role.value, "display_name": role.display_name}


async def _role_list(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    return [{"value": r.value, "display_name": r.display_name} for r in await app.store.list_roles(args.directory)]


async def _role_remove(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    if not await app.store.delete_role(args.directory, args.value):
        raise AdminError(f"Role {args.value!r} does not exist in {args.directory!r}.")
    return {"removed": args.value}


async def _group_add(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    group = await admin.add_group(args.directory, args.name)
    return {"id": group.id, "display_name": group.data["displayName"]}


async def _group_list(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    page = await app.store.query_groups(
        args.directory, lookup=None, match=None, start_index=1, count=10**9, with_members=False
    )
    return [{"id": g.id, "display_name": g.data.get("displayName")} for g in page.resources]


async def _group_remove(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    if not await admin.remove_group(args.directory, args.name):
        raise AdminError(f"User group {args.name!r} does not exist in {args.directory!r}.")
    return {"removed": args.name}


async def _token(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    token, expires_in = await admin.issue_token(args.client, ttl=args.ttl * 60, long_lived=args.long_lived)
    return {"access_token": token, "token_type": "Bearer", "expires_in": expires_in}


async def _check(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    from scim.store.check import check_directory

    report = await check_directory(app.store, args.directory, repair=args.repair)
    return report.as_dict()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scimctl", description="Administer the SCIM provisioning endpoint.")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the function app locally on real HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=7071)

    directory = sub.add_parser("directory", help="directories and their name policies").add_subparsers(
        dest="action", required=True
    )
    create = directory.add_parser("create", help="create a directory, or change its policies")
    create.add_argument("directory")
    create.add_argument("--policy", choices=["strict", "normalize", "create"])
    create.add_argument("--role-mode", choices=["single", "multiple"])
    create.set_defaults(run=_directory_create)
    directory.add_parser("list").set_defaults(run=_directory_list)

    client = sub.add_parser("client", help="provider clients").add_subparsers(dest="action", required=True)
    c_create = client.add_parser("create", help="create a client; prints its id, secret, Base URL and Token URL")
    c_create.add_argument("--directory", required=True)
    c_create.add_argument("--networks", nargs="+", default=["any"], help="allowed source CIDRs, or 'any'")
    c_create.set_defaults(run=_client_create)
    client.add_parser("list").set_defaults(run=_client_list)

    for noun, key in (("role", "value"), ("group", "name")):
        actions = sub.add_parser(noun, help=f"the directory's {noun} catalog").add_subparsers(
            dest="action", required=True
        )
        add = actions.add_parser("add")
        add.add_argument("--directory", required=True)
        add.add_argument(key)
        if noun == "role":
            add.add_argument("--display-name")
        add.set_defaults(run=_role_add if noun == "role" else _group_add)
        listing = actions.add_parser("list")
        listing.add_argument("--directory", required=True)
        listing.set_defaults(run=_role_list if noun == "role" else _group_list)
        remove = actions.add_parser("remove")
        remove.add_argument("--directory", required=True)
        remove.add_argument(key)
        remove.set_defaults(run=_role_remove if noun == "role" else _group_remove)

    token = sub.add_parser("token", help="issue an access token for a client (no secret needed: you are the admin)")
    token.add_argument("--client", required=True)
    token.add_argument("--ttl", type=int, default=DEFAULT_TTL // 60, help="lifetime in minutes (60-360)")
    token.add_argument("--long-lived", action="store_true", help="a long-lived token for Entra's Secret Token mode")
    token.set_defaults(run=_token)

    check = sub.add_parser("check", help="verify a directory's index entities and memberships")
    check.add_argument("--directory", required=True)
    check.add_argument("--repair", action="store_true")
    check.set_defaults(run=_check)
    return parser


def _print(result: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    rows = result if isinstance(result, list) else [result]
    for row in rows:
        print("  ".join(f"{k}={v}" for k, v in row.items()))
    if isinstance(result, list) and not result:
        print("(none)")


async def _run(settings: Settings, args: argparse.Namespace) -> Any:
    app = build_app(settings)
    try:
        return await args.run(app, _admin(app), args)
    finally:
        await app.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"scimctl: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        from scim.localrun import serve

        return serve(settings, args.host, args.port)
    if settings.store == "memory":
        print(
            "scimctl: SCIM_STORE=memory keeps nothing after this command; set SCIM_STORE=tables "
            "(see README) to administer a running service.",
            file=sys.stderr,
        )
    try:
        result = asyncio.run(_run(settings, args))
    except AdminError as exc:
        print(f"scimctl: {exc}", file=sys.stderr)
        return 1
    _print(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
