"""Export a directory: users with roles and groups, groups with members, the role catalog and every setting.

The JSON form round-trips through `scimctl import` (scim/service/restore.py): ids, timestamps, attributes, roles,
memberships and the directory's settings.
Output is written as it is read, a page of resources at a time, so memory holds one page plus the
member index (member id → group ids) that the users' ``groups`` need.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from scim.model import Directory, Position, Resource, role_values
from scim.store.base import Store

SCHEMA = "urn:scim-entra-functions:export:1"
PAGE = 1000
CSV_COLUMNS = ["type", "id", "name", "external_id", "active", "roles", "groups", "members"]
Write = Callable[[str], object]
# Every setting of a Directory, by its name in the file: import restores each (a test keeps this list complete).
SETTINGS = {
    "namePolicy": "name_policy",
    "roleMode": "role_mode",
    "uniqueExternalId": "unique_external_id",
    "eventValues": "event_values",
    "eventFormat": "event_format",
}


# OWASP "CSV Injection": a cell that begins with one of these is run as a formula by spreadsheet programs; the
# fullwidth forms count too, since some programs fold them to ASCII first.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralised(cell: str) -> str:
    """The cell as a spreadsheet shows it but never evaluates it: a leading quote before a formula start (OWASP)."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def every_resource(store: Store, directory: str, kind: str) -> Any:
    """Users or groups (with members), a page at a time in key order: each page resumes where the last stopped
    (Table Storage: its continuation token), so the export reads every resource once, one round trip a page."""
    after: Position | None = None
    while True:
        if kind == "users":
            page = await store.walk_users(directory, lookup=None, match=None, count=PAGE, after=after)
        else:
            page = await store.walk_groups(
                directory, lookup=None, match=None, count=PAGE, after=after, with_members=True
            )
        for resource in page.resources:
            yield resource
        if page.next is None:
            return
        after = page.next


def _resource(r: Resource) -> dict[str, Any]:
    return {"id": r.id, "created": r.created, "lastModified": r.last_modified, "data": r.data}


async def export_directory(store: Store, directory: Directory, write: Write, fmt: str = "json") -> dict[str, int]:
    """Write the directory in ``fmt`` (json or csv); returns the counts written."""
    groups_of: dict[str, list[str]] = {}
    counts = {"roles": 0, "groups": 0, "users": 0, "memberships": 0}
    roles = await store.list_roles(directory.id)
    counts["roles"] = len(roles)
    table = csv.writer(buffer := io.StringIO(), lineterminator="\n")

    def row(cells: list[Any]) -> None:
        table.writerow([neutralised(str(cell)) for cell in cells])
        write(buffer.getvalue())
        buffer.seek(0)
        buffer.truncate()

    if fmt == "json":
        head = {
            "schema": SCHEMA,
            "exported": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "directory": {"id": directory.id} | {key: getattr(directory, name) for key, name in SETTINGS.items()},
            "roles": [{"value": r.value, "displayName": r.display_name} for r in roles],
        }
        write(_dumps(head)[:-1] + ',\n"groups":[')
    else:
        row(CSV_COLUMNS)
        for role in roles:
            row(["role", role.value, role.display_name, "", "", "", "", ""])
    first = True
    async for group in every_resource(store, directory.id, "groups"):
        members = group.members or []
        for member in members:
            groups_of.setdefault(member, []).append(group.id)
        counts["groups"] += 1
        counts["memberships"] += len(members)
        if fmt == "json":
            write(("\n" if first else ",\n") + _dumps(_resource(group) | {"members": members}))
        else:
            name, external = group.data.get("displayName", ""), group.data.get("externalId", "")
            row(["group", group.id, name, external, "", "", "", ";".join(members)])
        first = False
    if fmt == "json":
        write('],\n"users":[')
    first = True
    async for user in every_resource(store, directory.id, "users"):
        counts["users"] += 1
        groups = sorted(groups_of.get(user.id, []))
        if fmt == "json":
            write(("\n" if first else ",\n") + _dumps(_resource(user) | {"groups": groups}))
        else:
            active = user.data.get("active", True) is not False
            cells = [user.data.get("userName", ""), user.data.get("externalId", ""), str(active).lower()]
            row(["user", user.id, *cells, ";".join(role_values(user.data)), ";".join(groups), ""])
        first = False
    if fmt == "json":
        write("]}\n")
    return counts
