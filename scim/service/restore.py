"""`scimctl import`: restore a JSON export through the rules of a SCIM write, the whole file checked first.

Users pass UserService.admit and groups GroupService.admit, as POST bodies do: normalised, identifiers checked,
read-only attributes and ``password`` dropped, roles matched exactly against the file's catalog. The directory id
and settings pass what `directory create` checks. Uniqueness and references are checked over the whole file.
While anything is refused nothing is written, and the report names every refused entry and why.

Writes are resumable: an import stopped part way (storage unavailable) is finished by running it again, since the
users and groups already there are kept when they equal the file's; a second run of a finished import writes nothing.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any, get_args

from scim.errors import Conflict, ScimError, StoreUnavailable
from scim.model import Caller, Directory, EventFormat, MemberChange, NamePolicy, Resource, Role, RoleMode
from scim.protocol.text import check_identifier, identity_key
from scim.service.admin import AdminService
from scim.service.catalog import FixedCatalog
from scim.service.directories import AdminError, check_directory_id
from scim.service.export import SCHEMA, SETTINGS, every_resource
from scim.service.groups import GroupService
from scim.service.users import UserService
from scim.store.base import Store

# The ids this service mints are UUIDs; an id is also a URL path segment and part of storage keys.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_CHOICES: dict[str, tuple[Any, ...]] = {
    "name_policy": get_args(NamePolicy),
    "role_mode": get_args(RoleMode),
    "unique_external_id": (True, False),
    "event_values": (True, False),
    "event_format": get_args(EventFormat),
}
WRITES_IN_FLIGHT = 8  # as the Table store's own fan-out: bounded, so an import never floods the account


class ImportRefused(AdminError):
    """The file cannot be imported; ``refusals`` say which entries and why."""

    def __init__(self, refusals: list[Refusal]) -> None:
        self.refusals = refusals
        super().__init__("; ".join(f"{r.where}: {r.why}" for r in refusals[:3]))


@dataclass(frozen=True, slots=True)
class Refusal:
    where: str  # "users[3] (id 8f…)", "directory"
    why: str


@dataclass(slots=True)
class ImportPlan:
    """What an import writes, what is there already, and what it leaves out or refuses."""

    directory: Directory
    create_directory: bool
    roles: list[Role] = field(default_factory=list)
    users: list[Resource] = field(default_factory=list)
    groups: list[tuple[Resource, list[str]]] = field(default_factory=list)
    members: list[tuple[Resource, list[str]]] = field(default_factory=list)  # groups already there, members to add
    kept: dict[str, int] = field(default_factory=lambda: {"users": 0, "groups": 0})
    dropped: list[Refusal] = field(default_factory=list)  # attributes a SCIM write leaves out too
    refused: list[Refusal] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        settings = {key: getattr(self.directory, name) for key, name in SETTINGS.items()}
        return {
            "directory": self.directory.id,
            "create_directory": self.create_directory,
            "settings": settings,
            "roles": len(self.roles),
            "users": len(self.users),
            "groups": len(self.groups),
            "memberships": sum(len(m) for _, m in self.groups) + sum(len(m) for _, m in self.members),
            "already_there": dict(self.kept),
            "dropped": [f"{d.where}: {d.why}" for d in self.dropped],
            "refused": [f"{r.where}: {r.why}" for r in self.refused],
        }


def _parse(text: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        why = f"the file is not JSON ({exc.msg} at line {exc.lineno}); import reads `export --format json`"
        raise ImportRefused([Refusal("file", why)]) from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        why = f"the file is not a scimctl export (schema {SCHEMA}); CSV exports cannot be imported"
        raise ImportRefused([Refusal("file", why)])
    return doc


def _list(doc: dict[str, Any], key: str, refused: list[Refusal]) -> list[Any]:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        refused.append(Refusal(key, f"must be a list, not {type(value).__name__}"))
        return []
    return value


def _stamp(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


class Importer:
    """Plans an import (reads only) and applies a plan that refuses nothing."""

    def __init__(self, store: Store, admin: AdminService) -> None:
        self._store = store
        self._admin = admin

    async def plan(self, text: str, directory_id: str | None = None) -> ImportPlan:
        """Check the whole file against the target directory; nothing is written."""
        doc = _parse(text)
        refused: list[Refusal] = []
        settings = doc.get("directory")
        if not isinstance(settings, dict):
            settings = {}
            refused.append(Refusal("directory", "the file has no directory object"))
        target = directory_id if directory_id is not None else settings.get("id")
        if not isinstance(target, str) or not target:
            raise ImportRefused([Refusal("directory", "name the directory to import into with --directory")])
        try:
            check_directory_id(target)
        except AdminError as exc:
            raise ImportRefused([Refusal("directory", str(exc))]) from None
        existing = await self._store.get_directory(target)
        plan = ImportPlan(self._settings(target, settings, existing, refused), existing is None, refused=refused)
        if existing is None:
            try:
                await self._admin.check_queue_name(target)
            except AdminError as exc:
                refused.append(Refusal("directory", str(exc)))
        catalog = await self._roles(plan, _list(doc, "roles", refused))
        users = await self._users(plan, _list(doc, "users", refused), catalog)
        groups = self._groups(plan, _list(doc, "groups", refused), users)
        await self._against_directory(plan, users, groups)
        return plan

    def _settings(
        self, target: str, settings: dict[str, Any], existing: Directory | None, refused: list[Refusal]
    ) -> Directory:
        """The file's settings, checked as `directory create` checks them; an existing directory must agree."""
        directory = existing or Directory(target)
        values: dict[str, Any] = {}
        for key, name in SETTINGS.items():
            value = settings.get(key, getattr(directory, name))
            allowed = _CHOICES[name]
            if not any(type(value) is type(choice) and value == choice for choice in allowed):
                refused.append(Refusal("directory", f"{key} {value!r} is not one of {', '.join(map(str, allowed))}"))
                continue
            if existing is not None and value != getattr(existing, name):
                refused.append(
                    Refusal(
                        "directory",
                        f"directory {target!r} has {key} {getattr(existing, name)!r}, the file {value!r}; change it"
                        " with `scimctl directory set-policy` first, or import into a new directory",
                    )
                )
                continue
            values[name] = value
        return replace(directory, **values)

    async def _roles(self, plan: ImportPlan, items: list[Any]) -> list[str]:
        """The catalog users are checked against: the directory's roles and the file's; new ones go in the plan."""
        have = {r.value for r in await self._store.list_roles(plan.directory.id)}
        catalog = set(have)
        for n, item in enumerate(items):
            value = item.get("value") if isinstance(item, dict) else None
            display = item.get("displayName", "") if isinstance(item, dict) else ""
            if not isinstance(value, str) or not value.strip() or not isinstance(display, str):
                plan.refused.append(Refusal(f"roles[{n}]", "a role is an object with a string value and displayName"))
                continue
            try:
                check_identifier(value, "role value")
            except ScimError as exc:
                plan.refused.append(Refusal(f"roles[{n}]", exc.detail))
                continue
            if value not in catalog:
                catalog.add(value)
                plan.roles.append(Role(value, display))
        return sorted(catalog)

    async def _users(self, plan: ImportPlan, items: list[Any], catalog: list[str]) -> dict[str, Resource]:
        """Each user as a POST would store it; userName (and externalId where unique) unique over the file."""
        # Roles are matched exactly: an export holds catalog spellings, and an import adds no role users name.
        caller = Caller("scimctl import", replace(plan.directory, name_policy="strict"))
        users = UserService(self._store, FixedCatalog(self._store, catalog), "")
        admitted: dict[str, Resource] = {}
        seen: set[str] = set()
        taken: dict[tuple[str, str], str] = {}
        for n, item in enumerate(items):
            resource = self._entry(plan, "users", n, item, seen)
            if resource is None:
                continue
            where = f"users[{n}] (id {resource.id})"
            try:
                data = await users.admit(caller, resource.data, user_id=resource.id)
            except ScimError as exc:
                plan.refused.append(Refusal(where, exc.detail))
                continue
            keys = [("userName", identity_key(data["userName"]))]
            if plan.directory.unique_external_id and isinstance(data.get("externalId"), str):
                keys.append(("externalId", identity_key(data["externalId"], case_exact=True)))
            clash = next((k for k in keys if k in taken), None)
            if clash is not None:
                why = f"{clash[0]} {data[clash[0]]!r} is also {taken[clash]}'s, and it is unique in this directory"
                plan.refused.append(Refusal(where, why))
                continue
            taken.update(dict.fromkeys(keys, where))
            self._note_dropped(plan, where, resource.data, data)
            admitted[resource.id] = replace(resource, data=data)
        return admitted

    def _groups(
        self, plan: ImportPlan, items: list[Any], users: dict[str, Resource]
    ) -> dict[str, tuple[Resource, list[str]]]:
        """Each group as a POST would store it; names unique over the file; members are the file's users."""
        admitted: dict[str, tuple[Resource, list[str]]] = {}
        seen: set[str] = set()
        names: dict[str, str] = {}
        for n, item in enumerate(items):
            resource = self._entry(plan, "groups", n, item, seen)
            if resource is None:
                continue
            where = f"groups[{n}] (id {resource.id})"
            members = item.get("members") or []
            try:
                data, _ = GroupService.admit(resource.data, group_id=resource.id)
            except ScimError as exc:
                plan.refused.append(Refusal(where, exc.detail))
                continue
            if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
                plan.refused.append(Refusal(where, "members must be a list of user ids"))
                continue
            unknown = [m for m in members if m not in users]
            if unknown:
                plan.refused.append(Refusal(where, f"member {unknown[0]!r} is no user of the file that is imported"))
                continue
            key = identity_key(data["displayName"])
            if key in names:
                why = f"displayName {data['displayName']!r} is also {names[key]}'s (group names ignore case)"
                plan.refused.append(Refusal(where, why))
                continue
            names[key] = where
            self._note_dropped(plan, where, resource.data, data)
            admitted[resource.id] = (replace(resource, data=data), list(dict.fromkeys(members)))
        return admitted

    @staticmethod
    def _entry(plan: ImportPlan, kind: str, n: int, item: Any, seen: set[str]) -> Resource | None:
        """The entry's id, data and timestamps, or None (refused) when one is missing, malformed or a repeat."""
        where = f"{kind}[{n}]"
        if not isinstance(item, dict) or not isinstance(item.get("data"), dict):
            plan.refused.append(Refusal(where, "an entry is an object with id, created, lastModified and data"))
            return None
        entry_id = item.get("id")
        if not isinstance(entry_id, str) or not _ID.fullmatch(entry_id):
            why = f"id {entry_id!r} is not an id this service mints (letters, digits, - _ . up to 128)"
            plan.refused.append(Refusal(where, why))
            return None
        if entry_id in seen:
            plan.refused.append(Refusal(f"{where} (id {entry_id})", f"another of the file's {kind} has this id"))
            return None
        created, modified = item.get("created"), item.get("lastModified")
        if not _stamp(created) or not _stamp(modified):
            plan.refused.append(Refusal(f"{where} (id {entry_id})", "created and lastModified must be RFC 3339 times"))
            return None
        seen.add(entry_id)
        return Resource(entry_id, item["data"], str(created), str(modified))

    @staticmethod
    def _note_dropped(plan: ImportPlan, where: str, sent: dict[str, Any], kept: dict[str, Any]) -> None:
        stored = {k.lower() for k in kept}
        dropped = sorted(k for k in sent if k.lower() not in stored and sent[k] not in (None, [], {}))
        if dropped:
            why = f"{', '.join(dropped)} left out, as a SCIM write leaves them out (read-only, never stored or unknown)"
            plan.dropped.append(Refusal(where, why))

    async def _against_directory(
        self, plan: ImportPlan, users: dict[str, Resource], groups: dict[str, tuple[Resource, list[str]]]
    ) -> None:
        """What to write: the target holds nothing, or what an interrupted import of this same file wrote."""
        directory = plan.directory.id
        there_users, there_groups = [], []
        if not plan.create_directory:
            there_users = [r async for r in every_resource(self._store, directory, "users")]
            there_groups = [r async for r in every_resource(self._store, directory, "groups")]
        stranger = "it holds {} {} ({}), which this file does not have as it is; import restores into an empty" + (
            " directory, or finishes an interrupted import of the same file"
        )
        for user in there_users:
            mine = users.pop(user.id, None)
            if mine is None or mine.data != user.data or mine.created != user.created:
                name = user.data.get("userName")
                plan.refused.append(Refusal(f"directory {directory!r}", stranger.format("user", user.id, name)))
            else:
                plan.kept["users"] += 1
        for group in there_groups:
            found = groups.pop(group.id, None)
            if found is None or found[0].data != group.data or not set(group.members or []) <= set(found[1]):
                name = group.data.get("displayName")
                plan.refused.append(Refusal(f"directory {directory!r}", stranger.format("group", group.id, name)))
                continue
            plan.kept["groups"] += 1
            missing = [m for m in found[1] if m not in set(group.members or [])]
            if missing:
                plan.members.append((found[0], missing))
        plan.users = list(users.values())
        plan.groups = list(groups.values())

    async def apply(self, plan: ImportPlan) -> None:
        """Write a plan that refuses nothing: directory, roles, users, groups with members."""
        if plan.refused:
            raise ImportRefused(plan.refused)
        directory = plan.directory
        if plan.create_directory:
            await self._admin.ensure_directory(
                directory.id,
                policy=directory.name_policy,
                role_mode=directory.role_mode,
                unique_external_id=directory.unique_external_id,
                event_values=directory.event_values,
                event_format=directory.event_format,
            )
        for role in plan.roles:
            await self._store.put_role(directory.id, role)
        store, unique, values = self._store, directory.unique_external_id, directory.event_values
        try:
            # Users first: a group's members are users. Each user is one small transaction, so they run side by side.
            await _side_by_side(
                partial(store.create_user, directory.id, u, unique_external_id=unique, event_values=values)
                for u in plan.users
            )
            for g, m in plan.groups:  # one at a time: a group with its members is several large transactions
                await store.create_group(directory.id, g, m, event_values=values)
            for g, m in plan.members:
                await store.update_group(
                    directory.id,
                    g.id,
                    data=None,
                    last_modified=g.last_modified,
                    members=MemberChange(add=m),
                    expected_version=None,
                    event_values=values,
                )
        except Conflict as conflict:
            # Checked over the file, so only a writer racing the import gets here; what was written stays.
            why = f"a {conflict.attribute} was taken while importing; run the import again to finish it"
            raise ImportRefused([Refusal(f"directory {directory.id!r}", why)]) from None
        except StoreUnavailable:
            why = "Table Storage stopped answering part way; what was written stays: run the same import again"
            raise ImportRefused([Refusal(f"directory {directory.id!r}", why)]) from None


async def _side_by_side(writes: Iterable[Callable[[], Awaitable[object]]]) -> None:
    """Run the writes with at most WRITES_IN_FLIGHT at a time; the first failure stops the rest."""
    gate = asyncio.Semaphore(WRITES_IN_FLIGHT)

    async def one(write: Callable[[], Awaitable[object]]) -> None:
        async with gate:
            await write()

    try:
        async with asyncio.TaskGroup() as group:
            for write in writes:
                group.create_task(one(write))
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None  # callers handle Conflict or StoreUnavailable, not groups of them
