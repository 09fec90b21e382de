"""An in-process Store for tests and throwaway runs, with the same semantics as the Table Storage one.

Every method runs without an ``await`` between its reads and its writes, so each call is atomic
on the event loop and no lock is needed.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from scim.errors import Conflict, VersionMismatch
from scim.model import Client, Directory, Lookup, Match, MemberChange, Page, Position, Resource, Role, Slice, Sort
from scim.protocol import changes as ev
from scim.protocol.text import name_fold
from scim.store._common import FOLDED_NAME, caseless_key, exact_key, lookup_matches
from scim.store._memory_sets import MemorySetLog
from scim.store.paging import page_of, slice_after


def _copy_json(value: Any) -> Any:
    """A copy of JSON-shaped data; several times faster than copy.deepcopy, which the hot path used to spend a
    fifth of a request's CPU in (bench/load.py --profile)."""
    if isinstance(value, dict):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) for v in value]
    return value


def _clone(resource: Resource) -> Resource:
    members = None if resource.members is None else list(resource.members)
    return Resource(
        resource.id, _copy_json(resource.data), resource.created, resource.last_modified, resource.version, members
    )


def _candidates(items: dict[str, Resource], index: dict[str, str] | None, lookup: Lookup | None) -> list[Resource]:
    """Resources the lookup can select, using the index dict when there is one for its attribute."""
    if lookup is None:
        return list(items.values())
    if lookup.attribute == "id":
        found = items.get(lookup.value)
    elif index is not None and lookup.attribute != "externalId":
        found = items.get(index.get(caseless_key(lookup.value), ""))
    else:
        return [r for r in items.values() if lookup_matches(r, lookup)]
    return [found] if found is not None and lookup_matches(found, lookup) else []


def _check_version(current: Resource | None, expected_version: str | None) -> None:
    """A conditional write (RFC 7644 §3.14 If-Match) finding another version changes nothing."""
    if current is not None and expected_version is not None and current.version != expected_version:
        raise VersionMismatch()


def _str_attr(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    return value if isinstance(value, str) else None


@dataclass
class _Space:
    """One directory's data; nothing here is shared with another directory."""

    users: dict[str, Resource] = field(default_factory=dict)
    user_names: dict[str, str] = field(default_factory=dict)  # folded userName -> id
    external_ids: dict[str, str] = field(default_factory=dict)  # exact_key(externalId) -> id
    groups: dict[str, Resource] = field(default_factory=dict)
    display_names: dict[str, str] = field(default_factory=dict)  # folded displayName -> id
    folded_names: dict[str, str] = field(default_factory=dict)  # name_fold(displayName) -> id
    members: dict[str, set[str]] = field(default_factory=dict)  # group id -> member ids
    roles: dict[str, Role] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)  # resource id -> committed writes (event sequence)


class MemoryStore(MemorySetLog):
    """Dicts per directory; deep copies in and out; versions W/"<n>" from one counter."""

    def __init__(self) -> None:
        MemorySetLog.__init__(self)
        self._spaces: dict[str, _Space] = {}
        self._directories: dict[str, Directory] = {}
        self._clients: dict[str, Client] = {}
        self._health: dict[str, dict[str, str]] = {}  # directory -> instance -> record
        self._counter = itertools.count(1)
        self.round_trips = 0  # always 0: kept so benchmarks and tests can treat both stores alike
        # The in-process outbox: rows are added in the same synchronous step as the change they describe.
        self._sink: Callable[[list[ev.OutboxRow]], None] | None = None
        self._outbox: dict[str, ev.OutboxRow] = {}
        self._rows = itertools.count(1)

    def _space(self, directory: str) -> _Space:
        return self._spaces.setdefault(directory, _Space())

    def _version(self) -> str:
        return f'W/"{next(self._counter)}"'

    def _emit(
        self,
        directory: str,
        resource_id: str,
        changes: Callable[[], list[ev.Change]],
        version: str | None,
        *,
        counted: bool = True,
    ) -> None:
        """Count the write and, with the feed on, queue its events in the same step as the change.

        ``counted=False``: a member change without If-Match, which the Table store merges unconditionally
        and so cannot number; its events carry no sequence there, and here alike."""
        space = self._space(directory)
        sequence: int | None = None
        if counted:
            sequence = space.sequences[resource_id] = space.sequences.get(resource_id, 0) + 1
        if self._sink is None:
            return
        docs = [{**ev.document(c, directory, sequence), "version": version} for c in changes()]
        if not docs:
            return  # a write kept off the feed (doctor's throwaway user)
        row = ev.OutboxRow(("memory", f"{next(self._rows):020d}"), directory, docs)
        self._outbox[row.key[1]] = row
        self._sink([row])

    def enable_outbox(self, sink: Callable[[list[ev.OutboxRow]], None]) -> None:
        """Turn the change feed on (see scim.store.base.OutboxStore)."""
        self._sink = sink

    async def outbox_pending(self, *, limit: int = 1000, min_age: float = 0.0) -> list[ev.OutboxRow]:
        """Rows not yet published, in commit order (``min_age`` does not apply: nothing outlives the process)."""
        return list(self._outbox.values())[:limit]

    async def outbox_delete(self, rows: list[ev.OutboxRow]) -> None:
        for row in rows:
            self._outbox.pop(row.key[1], None)

    # Users -------------------------------------------------------------------------------------
    async def create_user(
        self, directory: str, user: Resource, *, unique_external_id: bool = True, event_values: bool = False
    ) -> Resource:
        """Insert a user; Conflict('id'|'userName'|'externalId') when a unique key is taken."""
        space = self._space(directory)
        if user.id in space.users:
            raise Conflict("id")
        name = _str_attr(user.data, "userName")
        external = _str_attr(user.data, "externalId") if unique_external_id else None
        if name is not None and caseless_key(name) in space.user_names:
            raise Conflict("userName")
        if external is not None and exact_key(external) in space.external_ids:
            raise Conflict("externalId")
        stored = Resource(user.id, _copy_json(user.data), user.created, user.last_modified, self._version())
        space.users[user.id] = stored
        if name is not None:
            space.user_names[caseless_key(name)] = user.id
        if external is not None:
            space.external_ids[exact_key(external)] = user.id
        self._emit(directory, user.id, lambda: ev.user_created(user.id, user.data, values=event_values), stored.version)
        return _clone(stored)

    async def get_user(self, directory: str, user_id: str) -> Resource | None:
        """The user or None."""
        found = self._space(directory).users.get(user_id)
        return _clone(found) if found else None

    async def get_users(self, directory: str, user_ids: list[str]) -> list[Resource]:
        """The users among the ids, in order."""
        users = self._space(directory).users
        return [_clone(users[i]) for i in user_ids if i in users]

    async def query_users(
        self,
        directory: str,
        *,
        lookup: Lookup | None,
        match: Match | None,
        start_index: int,
        count: int,
        sort: Sort | None = None,
    ) -> Page:
        """Users passing lookup and match, ordered by id (or ``sort``)."""
        # match is a pure predicate (the filter evaluator); only the returned slice is copied.
        hits = [u for u in self._user_candidates(directory, lookup) if match is None or match(u)]
        page = page_of(hits, start_index, count, sort)
        page.resources = [_clone(u) for u in page.resources]
        return page

    def _user_candidates(self, directory: str, lookup: Lookup | None) -> list[Resource]:
        space = self._space(directory)
        index = None
        if lookup is not None and lookup.attribute in ("userName", "externalId"):
            index = space.user_names if lookup.attribute == "userName" else space.external_ids
        return _candidates(space.users, index, lookup)

    async def walk_users(
        self,
        directory: str,
        *,
        lookup: Lookup | None,
        match: Match | None,
        count: int,
        after: Position | None,
        sort: Sort | None = None,
    ) -> Slice:
        """The users after ``after`` in id (or ``sort``) order; ``match`` is asked only from there on."""
        found = slice_after(self._user_candidates(directory, lookup), match=match, sort=sort, after=after, count=count)
        found.resources = [_clone(u) for u in found.resources]
        return found

    async def replace_user(
        self,
        directory: str,
        user: Resource,
        *,
        expected_version: str | None,
        unique_external_id: bool = True,
        event_values: bool = False,
    ) -> Resource | None:
        """Replace data and move index entries; created is kept from the stored user."""
        space = self._space(directory)
        current = space.users.get(user.id)
        if current is None:
            return None
        if expected_version is not None and expected_version != current.version:
            raise VersionMismatch()
        old_name, new_name = _str_attr(current.data, "userName"), _str_attr(user.data, "userName")
        old_ext, new_ext = _str_attr(current.data, "externalId"), _str_attr(user.data, "externalId")
        if not unique_external_id:
            old_ext = new_ext = None
        if new_name is not None and space.user_names.get(caseless_key(new_name), user.id) != user.id:
            raise Conflict("userName")
        if new_ext is not None and space.external_ids.get(exact_key(new_ext), user.id) != user.id:
            raise Conflict("externalId")
        if old_name is not None:
            space.user_names.pop(caseless_key(old_name), None)
        if old_ext is not None:
            space.external_ids.pop(exact_key(old_ext), None)
        if new_name is not None:
            space.user_names[caseless_key(new_name)] = user.id
        if new_ext is not None:
            space.external_ids[exact_key(new_ext)] = user.id
        stored = Resource(user.id, _copy_json(user.data), current.created, user.last_modified, self._version())
        space.users[user.id] = stored
        self._emit(
            directory,
            user.id,
            lambda: ev.user_replaced(user.id, current.data, user.data, values=event_values),
            stored.version,
        )
        return _clone(stored)

    async def delete_user(self, directory: str, user_id: str, *, expected_version: str | None = None) -> bool:
        """Remove the user, its index entries and its memberships (group versions are unchanged)."""
        space = self._space(directory)
        _check_version(space.users.get(user_id), expected_version)
        current = space.users.pop(user_id, None)
        if current is None:
            return False
        name, external = _str_attr(current.data, "userName"), _str_attr(current.data, "externalId")
        if name is not None:
            space.user_names.pop(caseless_key(name), None)
        if external is not None and space.external_ids.get(exact_key(external)) == user_id:
            space.external_ids.pop(exact_key(external), None)
        for members in space.members.values():
            members.discard(user_id)
        self._emit(directory, user_id, lambda: ev.user_deleted(user_id, current.data), None)
        return True

    async def existing_user_ids(self, directory: str, ids: Iterable[str]) -> set[str]:
        """The given ids that are users of this directory."""
        users = self._space(directory).users
        return {i for i in ids if i in users}

    # Groups ------------------------------------------------------------------------------------
    def _group_out(self, space: _Space, group: Resource, with_members: bool) -> Resource:
        out = _clone(group)
        out.members = sorted(space.members.get(group.id, ())) if with_members else None
        return out

    async def create_group(
        self, directory: str, group: Resource, members: list[str], *, event_values: bool = False
    ) -> Resource:
        """Insert a group and its members; Conflict('id'|'displayName')."""
        space = self._space(directory)
        if group.id in space.groups:
            raise Conflict("id")
        name = _str_attr(group.data, "displayName")
        if name is not None and caseless_key(name) in space.display_names:
            raise Conflict("displayName")
        if name is not None and name_fold(name) in space.folded_names:
            raise Conflict(FOLDED_NAME)
        stored = Resource(group.id, _copy_json(group.data), group.created, group.last_modified, self._version())
        space.groups[group.id] = stored
        self._index_name(space, None, name, group.id)
        space.members[group.id] = set(members)
        ids = sorted(set(members))
        self._emit(
            directory,
            group.id,
            lambda: ev.group_created(group.id, group.data, ids, values=event_values),
            stored.version,
        )
        return self._group_out(space, stored, with_members=True)

    @staticmethod
    def _index_name(space: _Space, old: str | None, new: str | None, group_id: str) -> None:
        """Move a group's two name index entries from ``old`` to ``new`` (either may be None)."""
        if old is not None:
            space.display_names.pop(caseless_key(old), None)
            space.folded_names.pop(name_fold(old), None)
        if new is not None:
            space.display_names[caseless_key(new)] = group_id
            space.folded_names[name_fold(new)] = group_id

    async def group_by_folded_name(self, directory: str, name: str) -> Resource | None:
        """The group whose displayName folds like ``name`` (case, accents, whitespace), without members."""
        space = self._space(directory)
        found = space.groups.get(space.folded_names.get(name_fold(name), ""))
        return self._group_out(space, found, False) if found else None

    async def get_group(self, directory: str, group_id: str, *, with_members: bool) -> Resource | None:
        """The group (members sorted by id when asked for) or None."""
        space = self._space(directory)
        found = space.groups.get(group_id)
        return self._group_out(space, found, with_members) if found else None

    async def query_groups(
        self,
        directory: str,
        *,
        lookup: Lookup | None,
        match: Match | None,
        start_index: int,
        count: int,
        with_members: bool,
        sort: Sort | None = None,
    ) -> Page:
        """Groups passing lookup and match, ordered by id (or ``sort``)."""
        space = self._space(directory)
        index = space.display_names if lookup is not None and lookup.attribute == "displayName" else None
        hits = [g for g in _candidates(space.groups, index, lookup) if match is None or match(g)]
        page = page_of(hits, start_index, count, sort)
        page.resources = [self._group_out(space, g, with_members) for g in page.resources]
        return page

    async def walk_groups(
        self,
        directory: str,
        *,
        lookup: Lookup | None,
        match: Match | None,
        count: int,
        after: Position | None,
        with_members: bool,
        sort: Sort | None = None,
    ) -> Slice:
        """The groups after ``after`` in id (or ``sort``) order."""
        space = self._space(directory)
        index = space.display_names if lookup is not None and lookup.attribute == "displayName" else None
        candidates = _candidates(space.groups, index, lookup)
        found = slice_after(candidates, match=match, sort=sort, after=after, count=count)
        found.resources = [self._group_out(space, g, with_members) for g in found.resources]
        return found

    async def update_group(
        self,
        directory: str,
        group_id: str,
        *,
        data: dict[str, Any] | None,
        last_modified: str,
        members: MemberChange,
        expected_version: str | None,
        event_values: bool = False,
    ) -> Resource | None:
        """Apply remove_all, then remove, then add; the returned group carries no members."""
        space = self._space(directory)
        current = space.groups.get(group_id)
        if current is None:
            return None
        if expected_version is not None and expected_version != current.version:
            raise VersionMismatch()
        new_data = current.data if data is None else _copy_json(data)
        old_name, new_name = _str_attr(current.data, "displayName"), _str_attr(new_data, "displayName")
        if new_name is not None and space.display_names.get(caseless_key(new_name), group_id) != group_id:
            raise Conflict("displayName")
        if new_name is not None and space.folded_names.get(name_fold(new_name), group_id) != group_id:
            raise Conflict(FOLDED_NAME)
        self._index_name(space, old_name, new_name, group_id)
        current_members = space.members.setdefault(group_id, set())
        added = sorted(set(members.add))
        gone = set(current_members) if members.remove_all else current_members & set(members.remove)
        removed = sorted(gone - set(added))
        if members.remove_all:
            current_members.clear()
        current_members.difference_update(members.remove)
        current_members.update(members.add)
        stored = Resource(group_id, new_data, current.created, last_modified, self._version())
        space.groups[group_id] = stored
        self._emit(
            directory,
            group_id,
            lambda: ev.group_updated(group_id, current.data, data, added, removed, values=event_values),
            stored.version,
            counted=data is not None or expected_version is not None,
        )
        return _clone(stored)

    async def delete_group(
        self, directory: str, group_id: str, *, budget: float | None = None, expected_version: str | None = None
    ) -> bool:
        """Remove a group, its name entries and its memberships (at once: no budget is ever needed)."""
        space = self._space(directory)
        _check_version(space.groups.get(group_id), expected_version)
        current = space.groups.pop(group_id, None)
        if current is None:
            return False
        self._index_name(space, _str_attr(current.data, "displayName"), None, group_id)
        space.members.pop(group_id, None)
        self._emit(directory, group_id, lambda: ev.group_deleted(group_id), None)
        return True

    async def finish_deletes(self, directory: str, *, budget: float | None = None) -> int:
        """Nothing to finish: a group's delete here removes its memberships at once."""
        return 0

    async def member_page(
        self, directory: str, group_id: str, *, after: str | None, count: int
    ) -> tuple[list[str], bool]:
        """Member ids in id order after ``after``."""
        members = sorted(self._space(directory).members.get(group_id, ()))
        following = [m for m in members if after is None or m > after]
        return following[: max(count, 0)], len(following) > count

    async def user_groups(self, directory: str, user_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
        """user id -> (group id, group displayName) of every group it directly belongs to, by group id."""
        space = self._space(directory)
        out: dict[str, list[tuple[str, str]]] = {i: [] for i in user_ids}
        for group_id, members in space.members.items():
            for member in members.intersection(out) if len(out) < len(members) else out.keys() & members:
                group = space.groups.get(group_id)
                out[member].append((group_id, (_str_attr(group.data, "displayName") if group else None) or ""))
        for groups in out.values():
            groups.sort()
        return out

    # Catalog, directories and clients ----------------------------------------------------------
    async def list_roles(self, directory: str) -> list[Role]:
        """Roles ordered by value."""
        roles = self._space(directory).roles
        return [copy.deepcopy(roles[v]) for v in sorted(roles)]

    async def put_role(self, directory: str, role: Role) -> None:
        """Insert or replace a role."""
        self._space(directory).roles[role.value] = copy.deepcopy(role)

    async def delete_role(self, directory: str, value: str) -> bool:
        """Remove a role; False when absent."""
        return self._space(directory).roles.pop(value, None) is not None

    async def get_directory(self, directory: str) -> Directory | None:
        """The directory's settings or None."""
        found = self._directories.get(directory)
        return copy.deepcopy(found) if found else None

    async def put_directory(self, directory: Directory) -> None:
        """Insert or replace a directory's settings."""
        self._directories[directory.id] = copy.deepcopy(directory)

    async def list_directories(self) -> list[Directory]:
        """Directories ordered by id."""
        return [copy.deepcopy(self._directories[k]) for k in sorted(self._directories)]

    async def get_client(self, client_id: str) -> Client | None:
        """The client or None."""
        found = self._clients.get(client_id)
        return copy.deepcopy(found) if found else None

    async def put_client(self, client: Client) -> None:
        """Insert or replace a client."""
        self._clients[client.id] = copy.deepcopy(client)

    async def delete_client(self, client_id: str) -> bool:
        """Remove a client; False when absent."""
        return self._clients.pop(client_id, None) is not None

    async def list_clients(self) -> list[Client]:
        """Clients ordered by id."""
        return [copy.deepcopy(self._clients[k]) for k in sorted(self._clients)]

    async def put_health(self, directory: str, instance: str, record: str) -> None:
        """Insert or replace one instance's health record of a directory."""
        self._health.setdefault(directory, {})[instance] = record

    async def health_records(self, directory: str) -> dict[str, str]:
        """Every instance's health record of the directory, by instance."""
        return dict(self._health.get(directory, {}))

    async def delete_health(self, directory: str, instance: str) -> None:
        """Forget one instance's record."""
        self._health.get(directory, {}).pop(instance, None)

    async def close(self) -> None:
        """Nothing to release."""

    # Used by scim.store.check ------------------------------------------------------------------
    def dangling_members(self, directory: str) -> dict[str, set[str]]:
        """Group id -> member ids that are not users (update_group stores what it is given)."""
        space = self._space(directory)
        return {g: m - space.users.keys() for g, m in space.members.items() if m - space.users.keys()}

    def drop_members(self, directory: str, dangling: dict[str, set[str]]) -> None:
        """Remove the given memberships."""
        space = self._space(directory)
        for group_id, ids in dangling.items():
            space.members.get(group_id, set()).difference_update(ids)
