"""What every scimctl command shares: the command signature, output, durations and progress."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from scim.app import App
from scim.auth.federation import make_federation
from scim.model import Federation
from scim.service.admin import AdminService
from scim.service.directories import AdminError

Command = Callable[[App, AdminService, argparse.Namespace], Awaitable[Any]]
Subparsers = Any  # argparse's _SubParsersAction is private; its add_parser is all the commands use

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def federation_of(args: argparse.Namespace) -> Federation | None:
    """The workload identity federation the --federated-* options describe; None without --federated-tenant."""
    if args.federated_tenant is None:
        return None
    try:
        return make_federation(
            args.federated_tenant, args.federated_audience, args.federated_subject, args.federated_issuer
        )
    except ValueError as exc:
        raise AdminError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class Outcome:
    """A command's result with its exit code, for a command that prints its findings and still fails (1)."""

    result: Any
    code: int


def json_flag() -> argparse.ArgumentParser:
    """A parent parser so `--json` works after the subcommand too (`scimctl client list --json`)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print machine-readable JSON")
    return parent


def leaf(actions: Subparsers, name: str, run: Command, help_text: str) -> argparse.ArgumentParser:
    """A subcommand that runs ``run`` and accepts --json."""
    parser: argparse.ArgumentParser = actions.add_parser(name, help=help_text, parents=[json_flag()])
    parser.set_defaults(run=run)
    return parser


def duration(text: str) -> timedelta:
    """`90s`, `30m`, `7h`, `2d` (or a combination such as `1d12h`) as a timedelta; argparse type."""
    parts = _DURATION.findall(text.strip().lower())
    if not parts or _DURATION.sub("", text.strip().lower()).strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 90s, 30m, 7h or 2d")
    return sum((timedelta(**{_UNITS[unit]: float(n)}) for n, unit in parts), timedelta())


def os_error_text(exc: OSError) -> str:
    """An OSError in words, without Python's `[Errno N]` prefix: `out/dev.json: No such file or directory`."""
    if exc.strerror and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return exc.strerror or str(exc)


def stamp(moment: datetime | None) -> str | None:
    """A UTC timestamp for output, to the second."""
    return None if moment is None else moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def emit(result: Any, as_json: bool) -> None:
    """Print a command's result: JSON, or one `key=value` line per row for people."""
    if as_json:
        print(json.dumps(result, indent=2, default=str))
        return
    if result is None:
        return
    rows = result if isinstance(result, list) else [result]
    for row in rows:
        if isinstance(row, dict):
            print("  ".join(f"{k}={_human(v)}" for k, v in row.items()))
        else:
            print(row)
    if isinstance(result, list) and not result:
        print("(none)")


def _human(value: Any) -> str:
    """A value for a `key=value` line; nested objects print as compact JSON, never as Python reprs."""
    if isinstance(value, list) and not any(isinstance(v, dict | list) for v in value):
        return ",".join(_human(v) for v in value) or "-"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return "-" if value is None else str(value)


def progress(label: str) -> Callable[[int, int], None]:
    """A progress callback that writes `label: done/total` to stderr about twenty times per run."""

    def report(done: int, total: int) -> None:
        step = max(1, total // 20)
        if done == total or done % step == 0:
            end = "\n" if done == total else "\r" if sys.stderr.isatty() else "\n"
            print(f"{label}: {done}/{total}", end=end, file=sys.stderr, flush=True)

    return report
