"""scimctl export and import: a directory as JSON (round-trips) or CSV, written as it is read."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from scim.app import App
from scim.cli._common import Subparsers, leaf
from scim.service.admin import AdminService
from scim.service.directories import AdminError
from scim.service.export import export_directory
from scim.service.restore import Importer, ImportRefused, Refusal


async def _export(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    directory = await app.store.get_directory(args.directory)
    if directory is None:
        raise AdminError(f"Directory {args.directory!r} does not exist; `scimctl directory list` shows them.")
    if args.output is None:
        await export_directory(app.store, directory, sys.stdout.write, args.format)
        sys.stdout.flush()
        return None
    # Blocking file writes are fine here: scimctl's event loop serves nothing else.
    partial = Path(f"{args.output}.partial")
    try:
        partial.unlink(missing_ok=True)  # noqa: ASYNC240 - a leftover would keep its own mode
        # 0600 from the first byte: the file holds the whole directory (an umask could only narrow it further).
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        out = open(descriptor, "w", encoding="utf-8", newline="")  # noqa: ASYNC230, SIM115 - closed by the with below
    except OSError as exc:  # name the file the admin asked for, not the temporary one beside it
        raise OSError(exc.errno, exc.strerror, str(args.output)) from None
    try:
        with out:
            counts = await export_directory(app.store, directory, out.write, args.format)
    except BaseException:
        partial.unlink(missing_ok=True)  # noqa: ASYNC240
        raise
    partial.replace(args.output)  # noqa: ASYNC240 - a failed export never leaves a file that looks complete
    return {"directory": directory.id, "format": args.format, "output": str(args.output), **counts}


def _refuse(refused: list[Refusal], *, dry_run: bool) -> None:
    """Print every refused entry and why, then stop the command (exit 1) when there was any."""
    if not refused:
        return
    for refusal in refused:
        print(f"scimctl: refused {refusal.where}: {refusal.why}", file=sys.stderr)
    word = "Nothing would be imported" if dry_run else "Nothing imported"
    raise AdminError(f"{word}: {len(refused)} entr{'y' if len(refused) == 1 else 'ies'} refused (listed above).")


async def _import(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")  # noqa: ASYNC240
    importer = Importer(app.store, admin)
    try:
        plan = await importer.plan(text, args.directory)
    except ImportRefused as exc:
        _refuse(exc.refusals, dry_run=args.dry_run)
        raise  # an ImportRefused always names what it refused; scimctl prints it as any admin error
    _refuse(plan.refused, dry_run=args.dry_run)
    summary = plan.summary()
    if not args.dry_run:
        if plan.directory.event_format != "v1":
            await app.event_signer.ensure_key()  # as `directory set-policy --event-format` does: the admin makes it
        await importer.apply(plan)
    return {"imported": args.file, "dry_run": args.dry_run, **summary}


def register(sub: Subparsers) -> None:
    export = leaf(sub, "export", _export, "write a directory's users (roles, groups) and groups (members)")
    export.add_argument("--directory", required=True, help="the directory to export")
    export.add_argument("--format", choices=["json", "csv"], default="json", help="json round-trips through import")
    export.add_argument("--output", type=Path, help="a file (default: standard output)")
    restore = leaf(sub, "import", _import, "restore a JSON export into an empty directory, checked as SCIM writes are")
    restore.add_argument("file", help="the export file, or - for standard input")
    restore.add_argument("--directory", help="the directory to restore into (default: the one exported)")
    restore.add_argument(
        "--dry-run", action="store_true", help="check the whole file and print what would be written; write nothing"
    )
