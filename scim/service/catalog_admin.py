"""What an admin does to a directory's catalog through scimctl: add, list, remove and import roles and user groups.

Users' roles resolve against this catalog on the request path in scim.service.catalog.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from scim.clock import now
from scim.errors import Conflict
from scim.model import Resource, Role, role_values
from scim.service.common import new_id
from scim.service.directories import AdminError, DirectoryAdmin
from scim.service.export import every_resource
from scim.service.names import broken_rule

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: list[str]
    existing: list[str]
    refused: list[tuple[str, str]]  # (name, why)


def _check_catalog_name(kind: str, name: str) -> None:
    rule = broken_rule(name)
    if rule:
        raise AdminError(f"{kind} {name!r} is not a valid catalog name: {rule}. Entra names must match it exactly.")


def _count(items: list[str] | int, noun: str) -> str:
    n = items if isinstance(items, int) else len(items)
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _sample(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def csv_names(text: str) -> list[tuple[str, str]]:
    """(name, display name) rows from CSV: first column the name, optional second the display name.

    A first row whose first cell is ``name`` or ``value`` is a header; blank lines and ``#`` comments are skipped.
    """
    rows: list[tuple[str, str]] = []
    for i, row in enumerate(csv.reader(io.StringIO(text))):
        cells = [c.strip() for c in row]
        if not cells or not cells[0] or cells[0].startswith("#"):
            continue
        if i == 0 and cells[0].lower() in ("name", "value", "displayname"):
            continue
        rows.append((cells[0], cells[1] if len(cells) > 1 else ""))
    return rows


class CatalogAdmin(DirectoryAdmin):
    """The role and user-group catalogs of a directory that exists."""

    async def add_role(self, directory: str, value: str, display_name: str = "") -> Role:
        await self.require_directory(directory)
        _check_catalog_name("Role", value)
        role = Role(value, display_name or value)
        await self._store.put_role(directory, role)
        return role

    async def list_roles(self, directory: str) -> list[Role]:
        await self.require_directory(directory)
        return await self._store.list_roles(directory)

    async def remove_role(self, directory: str, value: str, *, force: bool = False) -> list[str]:
        """Remove a role; refused while users hold it unless ``force``. Returns the holders' userNames."""
        await self.require_directory(directory)
        if value not in {r.value for r in await self._store.list_roles(directory)}:
            raise AdminError(f"Role {value!r} does not exist in {directory!r}.")
        holders = [str(u.data.get("userName")) for u in await self.users_with_role(directory, value)]
        if holders and not force:
            raise AdminError(
                f"Role {value!r} is held by {_count(holders, 'user')} ({_sample(holders)}). Removing it leaves it on"
                " them until Entra next replaces their roles, and Entra can no longer assign it: new assignments"
                " are refused with 400 invalidValue. Re-run with --force to remove it anyway."
            )
        await self._store.delete_role(directory, value)
        return holders

    async def users_with_role(self, directory: str, value: str) -> list[Resource]:
        """Every user holding ``value``, in one walk of the directory (each page resumes where the last stopped):
        an admin question, never on the request path."""
        return [u async for u in every_resource(self._store, directory, "users") if value in role_values(u.data)]

    async def group_names_by_member(self, directory: str) -> dict[str, list[str]]:
        """user id -> the catalog groups it belongs to (one scan of the groups with their members)."""
        page = await self._store.query_groups(
            directory, lookup=None, match=None, start_index=1, count=10**9, with_members=True
        )
        names: dict[str, list[str]] = {}
        for group in page.resources:
            for member in group.members or []:
                names.setdefault(member, []).append(str(group.data.get("displayName")))
        return names

    async def add_group(self, directory: str, name: str) -> Resource:
        """Add a user group to the catalog; Entra groups link to it by displayName."""
        found = await self.require_directory(directory)
        _check_catalog_name("User group", name)
        stamp = now()
        try:
            return await self._store.create_group(
                directory,
                Resource(new_id(), {"displayName": name}, stamp, stamp),
                [],
                event_values=found.event_values,
            )
        except Conflict:
            raise AdminError(
                f"User group {name!r} already exists in {directory!r}, or one whose name differs from it only in case,"
                " accents or spaces (`scimctl group list` shows them)."
            ) from None

    async def list_groups(self, directory: str) -> list[Resource]:
        await self.require_directory(directory)
        page = await self._store.query_groups(
            directory, lookup=None, match=None, start_index=1, count=10**9, with_members=False
        )
        return page.resources

    async def remove_group(self, directory: str, name: str, *, force: bool = False) -> int | None:
        """Remove a user group; refused while it has members unless ``force``. None when it does not exist,
        else the number of memberships removed with it."""
        for group in await self.list_groups(directory):
            if group.data.get("displayName") == name:
                full = await self._store.get_group(directory, group.id, with_members=True)
                members = len(full.members or []) if full else 0
                if members and not force:
                    raise AdminError(
                        f"User group {name!r} has {_count(members, 'member')} and Entra refers to it by its id"
                        f" {group.id}. Removing it deletes those memberships, and Entra's next update of the group"
                        " gets 404 (its provisioning log shows the failure) until the name is added again and"
                        " Entra links to the new group. Re-run with --force to remove it anyway."
                    )
                await self._store.delete_group(directory, group.id)
                return members
        return None

    async def import_catalog(
        self, directory: str, kind: str, rows: Iterable[tuple[str, str]], progress: Progress | None = None
    ) -> ImportResult:
        """Add roles or user groups from (name, display name) rows; existing ones are kept, bad names reported."""
        rows = list(rows)
        await self.require_directory(directory)
        if kind == "role":
            have = {r.value for r in await self.list_roles(directory)}
        else:
            have = {str(g.data.get("displayName")) for g in await self.list_groups(directory)}
        added: list[str] = []
        existing: list[str] = []
        refused: list[tuple[str, str]] = []
        for done, (name, display) in enumerate(rows, 1):
            try:
                if name in have:
                    existing.append(name)
                elif kind == "role":
                    await self.add_role(directory, name, display)
                    added.append(name)
                else:
                    await self.add_group(directory, name)
                    added.append(name)
                have.add(name)
            except AdminError as exc:
                refused.append((name, str(exc)))
            if progress is not None:
                progress(done, len(rows))
        return ImportResult(added, existing, refused)
