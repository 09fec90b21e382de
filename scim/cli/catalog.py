"""scimctl directory, role, group and user commands."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from scim.app import App
from scim.cli._common import Outcome, Subparsers, leaf, progress
from scim.model import Directory, Resource, role_values
from scim.service.admin import AdminService
from scim.service.catalog_admin import csv_names
from scim.service.directories import AdminError


def _directory(d: Directory) -> dict[str, Any]:
    external_id = "unique" if d.unique_external_id else "shared"
    out: dict[str, Any] = {"directory": d.id, "name_policy": d.name_policy, "role_mode": d.role_mode}
    out |= {"external_id": external_id} | ({"event_values": True} if d.event_values else {})
    return out | ({"event_format": d.event_format} if d.event_format != "v1" else {})


def _unique(args: argparse.Namespace) -> bool | None:
    return None if args.external_id is None else args.external_id == "unique"


def _event_values(args: argparse.Namespace) -> bool | None:
    return None if args.event_values is None else args.event_values == "on"


async def _event_key(app: App, args: argparse.Namespace) -> None:
    """A directory that publishes SETs needs the event key; the admin creates it (in Azure the app only reads
    Key Vault)."""
    if args.event_format in ("set", "both"):
        await app.event_signer.ensure_key()


async def _directory_create(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    await _event_key(app, args)
    return _directory(
        await admin.ensure_directory(
            args.directory,
            policy=args.policy,
            role_mode=args.role_mode,
            unique_external_id=_unique(args),
            event_values=_event_values(args),
            event_format=args.event_format,
        )
    )


async def _directory_set_policy(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    given = (args.policy, args.role_mode, args.external_id, args.event_values, args.event_format)
    if all(g is None for g in given):
        raise AdminError("Give --policy, --role-mode, --external-id, --event-values and/or --event-format.")
    await _event_key(app, args)
    return _directory(
        await admin.set_policy(
            args.directory,
            policy=args.policy,
            role_mode=args.role_mode,
            unique_external_id=_unique(args),
            event_values=_event_values(args),
            event_format=args.event_format,
        )
    )


async def _directory_list(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    return [_directory(d) for d in await app.store.list_directories()]


async def _role_add(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    role = await admin.add_role(args.directory, args.value, args.display_name or "")
    return {"value": role.value, "display_name": role.display_name}


async def _role_list(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    return [{"value": r.value, "display_name": r.display_name} for r in await admin.list_roles(args.directory)]


async def _role_remove(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    holders = await admin.remove_role(args.directory, args.value, force=args.force)
    if holders:
        print(
            f"scimctl: {len(holders)} user(s) still show {args.value!r} until Entra replaces their roles;"
            " Entra's new assignments of it are refused.",
            file=sys.stderr,
        )
    return {"removed": args.value, "held_by": holders}


async def _group_add(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    group = await admin.add_group(args.directory, args.name)
    return {"id": group.id, "display_name": group.data["displayName"]}


async def _group_list(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    return [{"id": g.id, "display_name": g.data.get("displayName")} for g in await admin.list_groups(args.directory)]


async def _group_remove(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    members = await admin.remove_group(args.directory, args.name, force=args.force)
    if members is None:
        raise AdminError(f"User group {args.name!r} does not exist in {args.directory!r}.")
    print(
        f"scimctl: removed with {members} membership(s); if Entra provisions this group, its next update gets 404"
        " until the name is added again.",
        file=sys.stderr,
    )
    return {"removed": args.name, "memberships_removed": members}


async def _import(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    kind = args.noun
    source = sys.stdin if args.csv == "-" else None
    text = source.read() if source else await asyncio.to_thread(Path(args.csv).read_text, encoding="utf-8-sig")
    rows = csv_names(text)
    result = await admin.import_catalog(args.directory, kind, rows, progress(f"importing {kind}s"))
    for name, why in result.refused:
        print(f"scimctl: skipped {name!r}: {why}", file=sys.stderr)
    report = {"added": result.added, "existing": result.existing, "refused": [name for name, _ in result.refused]}
    # The accepted rows are in; exit 1 still tells a script that some of the file was not.
    return Outcome(report, 1) if result.refused else report


def _user(user: Resource, groups: dict[str, list[str]], *, full: bool = False) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": user.id,
        "userName": user.data.get("userName"),
        "externalId": user.data.get("externalId"),
        "active": user.data.get("active", True),
        "roles": role_values(user.data),
        "groups": sorted(groups.get(user.id, [])),
    }
    if full:
        row.update(created=user.created, last_modified=user.last_modified, version=user.version, data=user.data)
    return row


async def _user_list(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    page = await admin.list_users(args.directory, start_index=args.start, count=args.count)
    if page.total > args.start - 1 + len(page.resources):
        print(f"scimctl: {page.total} users; showing from {args.start}, use --start/--count", file=sys.stderr)
    groups = await admin.group_names_by_member(args.directory)
    return [_user(u, groups) for u in page.resources]


async def _user_show(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    user = await admin.find_user(args.directory, args.user)
    return _user(user, await admin.group_names_by_member(args.directory), full=True)


def register(sub: Subparsers) -> None:
    directory = sub.add_parser("directory", help="directories and their name policies").add_subparsers(
        dest="action", required=True
    )
    for name, run, text in (
        ("create", _directory_create, "create a directory, or change its policies"),
        ("set-policy", _directory_set_policy, "change an existing directory's policies"),
    ):
        parser = leaf(directory, name, run, text)
        parser.add_argument("directory", help="the directory id (letters, digits and dashes), e.g. contoso")
        parser.add_argument(
            "--policy",
            choices=["strict", "normalize", "create"],
            help="how group and role names from Entra match the catalog (default strict; README)",
        )
        parser.add_argument(
            "--role-mode",
            choices=["single", "multiple"],
            help="single: a PATCH adding a role replaces it; multiple: adds (default single)",
        )
        parser.add_argument(
            "--external-id",
            choices=["shared", "unique"],
            help="whether two users may share an externalId (default shared; set before the first user; README)",
        )
        parser.add_argument(
            "--event-values", choices=["on", "off"], help="change events carry the changed values (default off)"
        )
        parser.add_argument(
            "--event-format",
            choices=["v1", "set", "both"],
            help="queue messages (v1, the default), signed SETs to poll (set), or both (docs/integration.md)",
        )
    leaf(directory, "list", _directory_list, "list directories")

    for noun, key in (("role", "value"), ("group", "name")):
        actions = sub.add_parser(noun, help=f"the directory's {noun} catalog").add_subparsers(
            dest="action", required=True
        )
        add = leaf(actions, "add", _role_add if noun == "role" else _group_add, f"add a {noun}")
        add.add_argument(key, help=f"the exact {noun} name Entra sends (no spaces, no accents)")
        if noun == "role":
            add.add_argument("--display-name", help="a display name (default: the value)")
        leaf(actions, "list", _role_list if noun == "role" else _group_list, f"list {noun}s")
        remove = leaf(actions, "remove", _role_remove if noun == "role" else _group_remove, f"remove a {noun}")
        remove.add_argument(key, help=f"the {noun} name to remove")
        remove.add_argument(
            "--force",
            action="store_true",
            help="remove it even though users hold it (role) or it has members (group)",
        )
        imported = leaf(actions, "import", _import, f"add {noun}s from a CSV file (name[,display name]); - is stdin")
        imported.add_argument("csv", help="the CSV file, or - for stdin")
        imported.set_defaults(noun=noun)
        for parser in (add, remove, imported, actions.choices["list"]):
            parser.add_argument("--directory", required=True, help="the directory id")

    users = sub.add_parser("user", help="provisioned users (read-only)").add_subparsers(dest="action", required=True)
    listing = leaf(users, "list", _user_list, "list a directory's users")
    listing.add_argument("--directory", required=True, help="the directory id")
    listing.add_argument("--start", type=int, default=1, help="1-based index of the first user")
    listing.add_argument("--count", type=int, default=100, help="users to show (at most 1000)")
    show = leaf(users, "show", _user_show, "show one user by id or userName")
    show.add_argument("--directory", required=True, help="the directory id")
    show.add_argument("user", help="the user's id or userName")
