"""User rules: uniqueness, roles from the catalog, manager references, soft and hard delete."""

from __future__ import annotations

from typing import Any

from scim.clock import now
from scim.errors import Conflict, InvalidFilter, InvalidValue, TooMany, Uniqueness
from scim.model import Caller, Lookup, Match, Page, Position, Resource, Slice
from scim.protocol.filter import clause_count, membership_hint, names_groups, parse_filter
from scim.protocol.filter_ast import Compare, Expr
from scim.protocol.patch import apply_patch
from scim.protocol.render import Projection, project, render_user
from scim.protocol.resources import normalize_resource
from scim.protocol.schema import ENTERPRISE_SCHEMA
from scim.service.catalog import RoleCatalog
from scim.service.common import (
    check_if_match,
    conditional_delete,
    expected_version,
    new_id,
    not_found,
    with_retries,
)
from scim.service.query import ListRequest, check_work, plan
from scim.store.base import Store
from scim.store.paging import page_of

# Users read one by one for a filter that combines a group's membership with other comparisons (point reads).
MAX_GROUP_CANDIDATES = 1000


def _indexed(caller: Caller, lookup: Lookup | None) -> Lookup | None:
    """The lookup the store can answer: a shared externalId has no index entry, so its filter scans the users."""
    if lookup is not None and lookup.attribute == "externalId" and not caller.directory.unique_external_id:
        return None
    return lookup


def _groups_filter(request: ListRequest) -> Expr | None:
    """The parsed filter when it compares the users' ``groups`` (only the memberships hold them), else None."""
    expr = parse_filter(request.filter) if request.filter and request.filter.strip() else None
    return expr if expr is not None and names_groups(expr) else None


GROUPS_WITH_CURSOR = (
    'With cursor, a filter on groups must be one membership test alone, groups[value eq "<group id>"] (or'
    ' groups.value eq "<group id>"), without sortBy: that group\'s member entries answer it, a page at a time.'
    " Any other filter on groups is evaluated over the users' memberships: page it with startIndex (leave out"
    " cursor), or filter on userName, externalId or id."
)


def _member_of(expr: Expr, request: ListRequest) -> str | None:
    """The group whose members the filter asks for, when that one membership test is the whole filter and no sortBy
    is asked: the group's member entries list exactly those users."""
    if request.sort is not None or clause_count(expr) != 1:
        return None
    if isinstance(expr, Compare) and expr.path.sub is None:
        return None  # `groups eq` compares without case; the entries are exact
    return membership_hint(expr)


def _uniqueness(conflict: Conflict, data: dict[str, Any]) -> Uniqueness:
    value = data.get(conflict.attribute, "")
    return Uniqueness(
        f"A user with {conflict.attribute} {value!r} already exists in this directory"
        f" ({conflict.attribute} is unique{', ignoring case' if conflict.attribute == 'userName' else ''})."
    )


def _manager(user: Resource) -> str | None:
    extension = user.data.get(ENTERPRISE_SCHEMA)
    manager = extension.get("manager") if isinstance(extension, dict) else None
    value = manager.get("value") if isinstance(manager, dict) else None
    return value if isinstance(value, str) else None


class UserService:
    def __init__(self, store: Store, roles: RoleCatalog, base_url: str) -> None:
        self._store = store
        self._roles = roles
        self._base_url = base_url

    def render(self, user: Resource, groups: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        return render_user(user, self._base_url, groups)

    async def render_all(
        self, caller: Caller, users: list[Resource], projection: Projection, *, with_groups: bool = True
    ) -> list[dict[str, Any]]:
        """Users as returned to a client: ``groups`` from one store query and the managers that name users from
        one batch of point reads, each skipped when the projection drops what it serves."""
        directory = caller.directory.id
        groups: dict[str, list[tuple[str, str]]] = {}
        if users and with_groups and projection.wants("groups"):
            groups = await self._store.user_groups(directory, [u.id for u in users])
        managers = {m for m in map(_manager, users) if m} if projection.wants(ENTERPRISE_SCHEMA.lower()) else set()
        # RFC 7643 §4.3: $ref is the manager's URI; a manager that names no user (the validators' "SuzzyQ") is
        # rendered as sent rather than pointing at a resource that does not exist.
        known = await self._store.existing_user_ids(directory, managers) if managers else set()
        return [
            project(render_user(u, self._base_url, groups.get(u.id), manager_ref=_manager(u) in known), projection)
            for u in users
        ]

    async def admit(self, caller: Caller, body: Any, *, user_id: str | None = None) -> dict[str, Any]:
        """The data a POST of ``body`` stores: normalised, identifiers checked, roles from the catalog (create and
        `scimctl import` both take this path). ``user_id`` is the id the user will have (import keeps ids)."""
        data, _ = normalize_resource(body, "User", resource_id=user_id)
        await self._check_references(caller, data, previous={}, user_id=user_id)
        return data

    async def create(self, caller: Caller, body: Any) -> Resource:
        data = await self.admit(caller, body)
        stamp = now()
        user = Resource(id=new_id(), data=data, created=stamp, last_modified=stamp)
        try:
            directory = caller.directory
            return await self._store.create_user(
                directory.id, user, unique_external_id=directory.unique_external_id, event_values=directory.event_values
            )
        except Conflict as conflict:
            raise _uniqueness(conflict, data) from None

    async def get(self, caller: Caller, user_id: str) -> Resource:
        user = await self._store.get_user(caller.directory.id, user_id)
        if user is None:
            raise not_found("User", user_id)
        return user

    def _plan(self, caller: Caller, request: ListRequest) -> tuple[Lookup | None, Match | None]:
        lookup, match = plan(request.filter, self.render)
        return _indexed(caller, lookup), match

    async def query(self, caller: Caller, request: ListRequest) -> Page:
        expr = _groups_filter(request)
        if expr is not None:
            return await self._query_groups(caller, request, expr)
        lookup, match = self._plan(caller, request)
        return await self._store.query_users(
            caller.directory.id,
            lookup=lookup,
            match=match,
            start_index=request.start_index,
            count=request.count,
            sort=request.sort,
        )

    async def walk(self, caller: Caller, request: ListRequest, after: Position | None) -> Slice:
        """The cursor page (RFC 9865) after ``after``; the store resumes where the previous page stopped."""
        expr = _groups_filter(request)
        if expr is not None:
            group_id = _member_of(expr, request)
            if group_id is None:
                raise InvalidFilter(GROUPS_WITH_CURSOR)
            return await self._walk_members(caller, group_id, request.count, after)
        lookup, match = self._plan(caller, request)
        return await self._store.walk_users(
            caller.directory.id, lookup=lookup, match=match, count=request.count, after=after, sort=request.sort
        )

    async def _walk_members(self, caller: Caller, group_id: str, count: int, after: Position | None) -> Slice:
        """A cursor page of a group's members: the group (one point read, so a deleted group lists nobody), a page of
        its member entries (one range query), then those users by point reads. A position is the last member id
        of the page before."""
        directory = caller.directory.id
        if await self._store.get_group(directory, group_id, with_members=False) is None:
            return Slice([], None, [])
        last = after[-1] if after else None
        ids, more = await self._store.member_page(directory, group_id, after=last, count=count)
        users = await self._store.get_users(directory, ids)
        known = {u.id for u in users}
        starts: list[Position | None] = []
        previous: Position | None = after or None
        for member in ids:  # a member id naming no user is passed over, as a startIndex page does
            if member in known:
                starts.append(previous)
            previous = (member,)
        return Slice(users, previous if more and ids else None, starts)

    async def _query_groups(self, caller: Caller, request: ListRequest, expr: Expr) -> Page:
        """A filter on ``groups``: candidates from an index, a group's member entries or the users, then their
        memberships in one range query (never one per user), then the filter in memory."""
        directory = caller.directory.id
        groups_of: dict[str, list[tuple[str, str]]] = {}
        lookup, match = plan(request.filter, lambda user: self.render(user, groups_of.get(user.id)))
        lookup = _indexed(caller, lookup)
        group_id = membership_hint(expr) if lookup is None else None
        if group_id is not None:
            group = await self._store.get_group(directory, group_id, with_members=True)
            ids = sorted(group.members or []) if group is not None else []
            if clause_count(expr) == 1 and request.sort is None:
                # Membership alone (the common question): the group's member entries page it; only the page is read.
                start = request.start_index - 1
                page = await self._store.get_users(directory, ids[start : start + request.count])
                return Page(resources=page, total=len(ids))
            if len(ids) > MAX_GROUP_CANDIDATES:
                raise TooMany(
                    f"The group has more than {MAX_GROUP_CANDIDATES} members to read one by one for this filter;"
                    " filter on its membership alone (without sortBy), or add an indexed comparison (id, userName eq)."
                )
            candidates = await self._store.get_users(directory, ids)
        else:
            everyone = await self._store.query_users(directory, lookup=lookup, match=None, start_index=1, count=1 << 30)
            candidates = everyone.resources
            check_work(len(candidates) * clause_count(expr))  # before the memberships are read, not after
        groups_of.update(await self._store.user_groups(directory, [u.id for u in candidates]))
        hits = [u for u in candidates if match is None or match(u)]
        return page_of(hits, request.start_index, request.count, request.sort)

    async def replace(self, caller: Caller, user_id: str, body: Any, if_match: str | None) -> Resource:
        data, _ = normalize_resource(body, "User", resource_id=user_id)

        async def attempt() -> Resource:
            current = await self.get(caller, user_id)
            check_if_match(if_match, current.version)
            return await self._write(caller, current, data)

        return await with_retries(attempt, conditional=if_match is not None)

    async def patch(self, caller: Caller, user_id: str, body: Any, if_match: str | None) -> Resource:
        async def attempt() -> Resource:
            current = await self.get(caller, user_id)
            check_if_match(if_match, current.version)
            result = apply_patch(
                current.data, body, resource_type="User", role_mode=caller.directory.role_mode, resource_id=user_id
            )
            if not result.changed:
                return current
            if not str(result.data.get("userName", "")).strip():
                raise InvalidValue("userName is required and cannot be removed")
            return await self._write(caller, current, result.data)

        return await with_retries(attempt, conditional=if_match is not None)

    async def delete(self, caller: Caller, user_id: str, if_match: str | None = None) -> None:
        """Hard delete; a stale If-Match is 412 and the user stays (RFC 7644 §3.14)."""
        expected = await expected_version(if_match, lambda: self.get(caller, user_id))
        if not await conditional_delete(
            lambda: self._store.delete_user(caller.directory.id, user_id, expected_version=expected)
        ):
            raise not_found("User", user_id)

    async def _write(self, caller: Caller, current: Resource, data: dict[str, Any]) -> Resource:
        await self._check_references(caller, data, previous=current.data, user_id=current.id)
        if data == current.data:
            return current  # nothing changes: no write, no new version, no change event
        updated = Resource(
            id=current.id, data=data, created=current.created, last_modified=now(), version=current.version
        )
        try:
            written = await self._store.replace_user(
                caller.directory.id,
                updated,
                expected_version=current.version,
                unique_external_id=caller.directory.unique_external_id,
                event_values=caller.directory.event_values,
            )
        except Conflict as conflict:
            raise _uniqueness(conflict, data) from None
        if written is None:
            raise not_found("User", current.id)
        return written

    async def _check_references(
        self, caller: Caller, data: dict[str, Any], *, previous: dict[str, Any], user_id: str | None
    ) -> None:
        """Roles and entitlements must be in the catalog; a user cannot be their own manager.

        A manager that names no user of this directory is kept as sent: Entra only sends ids it received,
        Microsoft's validators send any string (SCIM Validator, reference tests' "SuzzyQ"), and RFC 7643 §4.3
        asks for no check. `scimctl check` lists such dangling managers.
        """
        for name in ("roles", "entitlements"):
            if data.get(name):
                await self._roles.resolve_roles(caller.directory, data[name], previous.get(name, []))
        manager = data.get(ENTERPRISE_SCHEMA, {}).get("manager", {}).get("value")
        if manager and manager == user_id:
            raise InvalidValue("A user cannot be their own manager.")
