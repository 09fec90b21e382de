"""Group rules: names come from the directory's catalog of user groups; members must be users of the directory."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import time
from dataclasses import replace
from typing import Any

from scim.clock import now
from scim.errors import Conflict, InvalidFilter, InvalidValue, Unavailable, Unfinished, Uniqueness
from scim.model import Caller, Lookup, Match, MemberChange, Page, Position, Resource, Slice
from scim.protocol.filter import clause_count, leaves, membership_hint, parse_filter
from scim.protocol.filter_ast import Compare, Expr, Or
from scim.protocol.patch import apply_patch
from scim.protocol.render import render_group
from scim.protocol.resources import normalize_resource
from scim.protocol.text import name_fold
from scim.service.common import (
    check_if_match,
    conditional_delete,
    expected_version,
    new_id,
    not_found,
    with_retries,
)
from scim.service.names import Resolution, broken_rule, decide, refused
from scim.service.query import ListRequest, plan
from scim.store.base import Store

MAX_MEMBERS_PER_REQUEST = 10_000
# A list response that carries members holds at most this many groups and, past its first group, at most this many
# member values (RFC 7644 §3.4.2.4 lets a page be shorter than count; totalResults stays exact, so clients page on).
# Entra never lists members: it asks with excludedAttributes=members (docs/reference/entra-wire.md §1.5).
MAX_GROUPS_WITH_MEMBERS = 50
MAX_LISTED_MEMBERS = 1000
# A refused group name's "closest existing name" comes from the whole catalog, read at most once per this many
# seconds per directory: refusals cost a scan only then, and a catalog change shows in hints within this time.
SUGGESTION_CACHE_SECONDS = 30.0
# Entra waits 60 s for an answer: a DELETE stops removing memberships after this long (a page of 1,000 may still
# finish after it) and asks for a retry, which continues from where it stopped.
DELETE_BUDGET_SECONDS = 30.0
DELETE_RETRY_AFTER = 5
# The timer that finishes stopped deletes runs every 5 minutes (function_app.py); each run stops after this long.
SWEEP_BUDGET_SECONDS = 240.0
# Groups read at once for a page of one user's groups (as the Table store's own point-read fan-out).
READS_IN_FLIGHT = 8
MEMBERS_WITH_CURSOR = (
    'With cursor, a filter on members must be membership tests alone, members[value eq "<user id>"] (or'
    ' members.value eq "<user id>"), joined by or, without sortBy: those users\' own membership entries answer it,'
    " a page at a time. Any other filter on members is evaluated over every group's members: page it with"
    " startIndex (leave out cursor), or filter on displayName, externalId or id."
)


def _names_members(expr: Expr) -> bool:
    """Whether a filter compares the ``members`` attribute (a displayName that spells "Members" does not)."""
    return any(node.path.attr.lower() == "members" for node in leaves(expr))  # type: ignore[union-attr]


def _member_tests(request: ListRequest) -> list[str] | None:
    """The users whose groups the filter asks for, when it is only membership tests joined by ``or`` and no sortBy
    is asked: those users' reverse membership entries list exactly those groups."""
    expr = parse_filter(request.filter or "")
    if expr is None or request.sort is not None:
        return None
    users: list[str] = []
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Or):
            stack += (node.right, node.left)
            continue
        if clause_count(node) != 1 or (isinstance(node, Compare) and node.path.sub is None):
            return None  # `members eq` compares without case (members has no caseExact); the entries are exact
        user = membership_hint(node, "members")
        if user is None:
            return None
        users.append(user)
    return users


async def finish_group_deletes(store: Store, budget: float = SWEEP_BUDGET_SECONDS) -> int:
    """Continue every directory's stopped group deletes for at most ``budget`` seconds in all (the next run goes on)."""
    deadline = time.monotonic() + budget
    finished = 0
    for directory in await store.list_directories():
        left = deadline - time.monotonic()
        if left <= 0:
            break
        with contextlib.suppress(Unfinished):
            finished += await store.finish_deletes(directory.id, budget=left)
    return finished


def _linked(name: str, existing: str) -> Uniqueness:
    """A POST of a catalog group's name: Entra should have linked to it (its displayName probe finds it)."""
    return Uniqueness(
        f"The user group {existing!r} already exists; Entra links to it when its"
        f' GET /Groups?filter=displayName eq "{name}" finds it, so no new group is created.'
    )


def _taken(name: str) -> Uniqueness:
    return Uniqueness(
        f"A group named {name!r} already exists in this directory (names are compared ignoring case, accents and"
        " spaces)."
    )


class GroupService:
    def __init__(self, store: Store, base_url: str) -> None:
        self._store = store
        self._base_url = base_url
        self._names: dict[str, tuple[float, list[str]]] = {}  # directory -> (read at, catalog names)

    def render(self, group: Resource) -> dict[str, Any]:
        return render_group(group, self._base_url)

    async def _catalog_names(self, caller: Caller) -> list[str]:
        """Every catalog group's name, for a refusal's hint only (cached: see SUGGESTION_CACHE_SECONDS)."""
        cached = self._names.get(caller.directory.id)
        if cached is not None and time.monotonic() - cached[0] < SUGGESTION_CACHE_SECONDS:
            return cached[1]
        page = await self._store.query_groups(
            caller.directory.id, lookup=None, match=None, start_index=1, count=10**9, with_members=False
        )
        names = [str(g.data.get("displayName")) for g in page.resources]
        self._names[caller.directory.id] = (time.monotonic(), names)
        return names

    async def _resolve(self, caller: Caller, name: str) -> Resolution:
        """The catalog group ``name`` names under the directory's policy, by the folded-name index (point reads);
        the catalog itself is read only to word a refusal."""
        holder = await self._store.group_by_folded_name(caller.directory.id, name)
        folded_match = str(holder.data.get("displayName")) if holder is not None else None
        policy = caller.directory.name_policy
        resolution = decide(name, folded_match, policy)
        if resolution is None:
            raise refused("group", name, await self._catalog_names(caller), policy, folded_match)
        return resolution

    @staticmethod
    def admit(body: Any, *, group_id: str | None = None) -> tuple[dict[str, Any], list[str] | None]:
        """The data and member ids a POST of ``body`` stores (create and `scimctl import` both take this path)."""
        return normalize_resource(body, "Group", resource_id=group_id)

    async def create(self, caller: Caller, body: Any) -> Resource:
        """Under `create` the write itself finds a taken name (its index entries are unique); otherwise the name
        is resolved first, and a POST never creates: the name is in the catalog (409) or refused (400)."""
        data, members = self.admit(body)
        name = data["displayName"]
        if caller.directory.name_policy != "create":
            raise _linked(name, (await self._resolve(caller, name)).name)
        ids = await self._existing_members(caller, members or [])
        stamp = now()
        group = Resource(id=new_id(), data=data, created=stamp, last_modified=stamp)
        try:
            return await self._store.create_group(
                caller.directory.id, group, ids, event_values=caller.directory.event_values
            )
        except Conflict:
            holder = await self._store.group_by_folded_name(caller.directory.id, name)
            if holder is not None:
                raise _linked(name, str(holder.data.get("displayName"))) from None
            raise _taken(name) from None

    async def get(self, caller: Caller, group_id: str, *, with_members: bool) -> Resource:
        group = await self._store.get_group(caller.directory.id, group_id, with_members=with_members)
        if group is None:
            raise not_found("Group", group_id)
        return group

    async def query(self, caller: Caller, request: ListRequest) -> Page:
        if not request.projection.wants_members:
            return await self._query(caller, request, False)
        page = await self._query(caller, replace(request, count=min(request.count, MAX_GROUPS_WITH_MEMBERS)), True)
        return Page(self._within_member_limit(page.resources), page.total)

    async def walk(self, caller: Caller, request: ListRequest, after: Position | None) -> Slice:
        """The cursor page (RFC 9865) after ``after``, cut like a listed page when it carries members."""
        lookup, match = plan(request.filter, self.render)
        if match is not None and _names_members(parse_filter(request.filter or "")) and _member_tests(request) is None:
            raise InvalidFilter(MEMBERS_WITH_CURSOR)
        if not request.projection.wants_members:
            return await self._walk(caller, request=request, lookup=lookup, match=match, after=after, members=False)
        fewer = replace(request, count=min(request.count, MAX_GROUPS_WITH_MEMBERS))
        found = await self._walk(caller, request=fewer, lookup=lookup, match=match, after=after, members=True)
        kept = len(self._within_member_limit(found.resources))
        if kept < len(found.resources):
            return Slice(found.resources[:kept], found.starts[kept], found.starts[:kept])
        return found

    async def _walk(
        self,
        caller: Caller,
        *,
        request: ListRequest,
        lookup: Lookup | None,
        match: Match | None,
        after: Position | None,
        members: bool,
    ) -> Slice:
        users = _member_tests(request) if match is not None else None
        if users is not None:
            return await self._walk_groups_of(caller, users, request.count, after, members)
        found = await self._store.walk_groups(
            caller.directory.id,
            lookup=lookup,
            match=match,
            count=request.count,
            after=after,
            with_members=members,
            sort=request.sort,
        )
        name = self._folded_probe(caller, lookup)
        if found.resources or after is not None or name is None:
            return found
        folded = await self._folded_lookup(caller, replace(request, start_index=1), name, members)
        return Slice(folded.resources, None, [None] * len(folded.resources))  # a probe's few hits: one page

    @staticmethod
    def _folded_probe(caller: Caller, lookup: Lookup | None) -> str | None:
        """The displayName a probe that found nothing looks for again with the policy's folding (None: it does not)."""
        if caller.directory.name_policy != "strict" and lookup is not None and lookup.attribute == "displayName":
            return lookup.value
        return None

    @staticmethod
    def _within_member_limit(groups: list[Resource]) -> list[Resource]:
        """The leading groups whose members fit one response (the first group always does)."""
        kept: list[Resource] = []
        listed = 0
        for group in groups:
            size = len(group.members or ())
            if kept and listed + size > MAX_LISTED_MEMBERS:
                break
            kept.append(group)
            listed += size
        return kept

    async def _query(self, caller: Caller, request: ListRequest, with_members: bool) -> Page:
        lookup, match = plan(request.filter, self.render)
        if match is not None and _names_members(parse_filter(request.filter or "")):
            return await self._member_filtered(caller, request, lookup, match, with_members)
        name = self._folded_probe(caller, lookup)
        if name is not None and isinstance(parse_filter(request.filter or ""), Compare):
            # Entra's probe: the folded-name entry holds the exact spelling too, so this one read answers it.
            return await self._folded_lookup(caller, request, name, with_members)
        return await self._store.query_groups(
            caller.directory.id,
            lookup=lookup,
            match=match,
            start_index=request.start_index,
            count=request.count,
            with_members=with_members,
            sort=request.sort,
        )

    async def _group_ids_of(self, caller: Caller, user_ids: list[str]) -> list[str]:
        """The ids of the groups any of ``user_ids`` belongs to, in id order: a range query of each one's reverse
        entries (the filter's clause limit bounds how many)."""
        found = await self._store.user_groups(caller.directory.id, user_ids)
        return sorted({group_id for pairs in found.values() for group_id, _ in pairs})

    async def _read_groups(self, caller: Caller, ids: list[str], with_members: bool) -> list[Resource]:
        """The groups among ``ids``, in that order, by point reads (a group deleted meanwhile is left out)."""
        gate = asyncio.Semaphore(READS_IN_FLIGHT)

        async def read(group_id: str) -> Resource | None:
            async with gate:
                return await self._store.get_group(caller.directory.id, group_id, with_members=with_members)

        return [g for g in await asyncio.gather(*(read(i) for i in ids)) if g is not None]

    async def _walk_groups_of(
        self, caller: Caller, user_ids: list[str], count: int, after: Position | None, with_members: bool
    ) -> Slice:
        """A cursor page of the groups any of ``user_ids`` belongs to: their reverse entries, then the page's groups
        by point reads. A position is the id of the group its page starts with."""
        ids = await self._group_ids_of(caller, user_ids)
        first = bisect.bisect_left(ids, after[-1]) if after else 0
        groups = await self._read_groups(caller, ids[first : first + count], with_members)
        following = ids[first + count] if first + count < len(ids) else None
        starts: list[Position | None] = [(g.id,) for g in groups]
        if after is None and starts:
            starts[0] = None
        return Slice(groups, (following,) if following is not None else None, starts)

    async def _member_filtered(
        self, caller: Caller, request: ListRequest, lookup: Lookup | None, match: Match, with_members: bool
    ) -> Page:
        """A filter on ``members``: stores match before they read members, so match here, after reading them.

        Entra never filters on members (docs/reference/entra-wire.md §1.0: eq on displayName); this keeps such filters
        correct at the cost of reading every candidate's members; membership tests alone, joined by ``or``, read only
        those users' own entries and the page's groups.
        """
        users = _member_tests(request)
        if users is not None:
            ids = await self._group_ids_of(caller, users)
            start = max(request.start_index, 1) - 1
            return Page(await self._read_groups(caller, ids[start : start + request.count], with_members), len(ids))
        page = await self._store.query_groups(
            caller.directory.id, lookup=lookup, match=None, start_index=1, count=10**9, with_members=True
        )
        hits = []
        for n, group in enumerate(page.resources, 1):
            if match(group):
                hits.append(group)
            if n % 20 == 0:
                await asyncio.sleep(0)  # a long member scan lets /health and other requests run in between
        start = request.start_index - 1
        selected = hits[start : start + request.count]
        if not with_members:
            for group in selected:
                group.members = None
        return Page(selected, len(hits))

    async def _folded_lookup(self, caller: Caller, request: ListRequest, name: str, with_members: bool) -> Page:
        """Under `normalize`/`create`, Entra's displayName probe finds the catalog group its name folds to: the
        folded-name index answers the exact spelling and every folded one in one point read (a hit: two)."""
        if not isinstance(parse_filter(request.filter or ""), Compare):
            return Page([], 0)  # the probe is one comparison; anything more is no probe
        found = await self._store.group_by_folded_name(caller.directory.id, name)
        hits = [found] if found is not None else []
        if with_members:
            hits = [await self.get(caller, g.id, with_members=True) for g in hits]
        start = request.start_index - 1
        return Page(hits[start : start + request.count], len(hits))

    async def replace(self, caller: Caller, group_id: str, body: Any, if_match: str | None) -> Resource:
        data, members = normalize_resource(body, "Group", resource_id=group_id)

        async def attempt() -> Resource:
            current = await self.get(caller, group_id, with_members=False)
            check_if_match(if_match, current.version)
            await self._check_rename(caller, current, data)
            change = MemberChange(add=await self._existing_members(caller, members or []), remove_all=True)
            return await self._update(caller, current, data, change)

        return await with_retries(attempt, conditional=if_match is not None)

    async def patch(self, caller: Caller, group_id: str, body: Any, if_match: str | None) -> Resource:
        async def attempt() -> Resource:
            current = await self.get(caller, group_id, with_members=False)
            check_if_match(if_match, current.version)
            result = apply_patch(
                current.data, body, resource_type="Group", role_mode=caller.directory.role_mode, resource_id=group_id
            )
            if not result.changed and not result.members:
                return current
            data_changed = result.data != current.data
            if data_changed:
                await self._check_rename(caller, current, result.data)
            change = result.members
            change.add = await self._existing_members(caller, change.add)
            if not data_changed:
                # Member changes commute, so without If-Match they need no version check: concurrent
                # PATCHes of one group all land at once instead of retrying against each other.
                return await self._update(caller, current, None, change, conditional=if_match is not None)
            return await self._update(caller, current, result.data, change)

        return await with_retries(attempt, conditional=if_match is not None)

    async def delete(self, caller: Caller, group_id: str, if_match: str | None = None) -> None:
        """Delete a group; under `strict` and `normalize` its catalog name stays, as a new empty group.

        The directory's admin owns those catalogs (Entra cannot create a group there), so Entra's DELETE (the
        group was unassigned or deleted in Entra) unlinks rather than removes: the id Entra knew answers 404 as
        RFC 7644 §3.6 requires, its memberships are gone, and a later assignment finds the name again.
        Within Entra's 60 s: a group whose memberships take longer to remove answers 503 with Retry-After once
        it is gone, and the retried DELETE continues the removal and answers 204 (README "Memberships at scale").
        A stale If-Match is 412: the group stays and no event is written (RFC 7644 §3.14).
        """
        store, directory = self._store, caller.directory.id
        expected = await expected_version(if_match, lambda: self.get(caller, group_id, with_members=False))
        current = None
        if caller.directory.name_policy != "create":  # None on a retried DELETE: the name was kept the first time
            current = await store.get_group(directory, group_id, with_members=False)
        try:
            deleted = await conditional_delete(
                lambda: store.delete_group(directory, group_id, budget=DELETE_BUDGET_SECONDS, expected_version=expected)
            )
        except Unfinished:
            await self._keep_catalog_name(caller, current)
            raise Unavailable(
                f"Group {group_id} is deleted, but removing its memberships takes longer than one request may;"
                " repeat the DELETE after Retry-After to finish it (it answers 204 when done).",
                retry_after=DELETE_RETRY_AFTER,
            ) from None
        if not deleted:
            raise not_found("Group", group_id)
        await self._keep_catalog_name(caller, current)

    async def _keep_catalog_name(self, caller: Caller, deleted: Resource | None) -> None:
        """The deleted catalog group's name, again as an empty group with a new id (nothing under `create`)."""
        if deleted is None:
            return
        stamp = now()
        entry = Resource(new_id(), {"displayName": deleted.data["displayName"]}, stamp, stamp)
        with contextlib.suppress(Conflict):  # a concurrent DELETE or `scimctl group add` put the name back first
            await self._store.create_group(caller.directory.id, entry, [], event_values=caller.directory.event_values)

    async def _update(
        self,
        caller: Caller,
        current: Resource,
        data: dict[str, Any] | None,
        change: MemberChange,
        *,
        conditional: bool = True,
    ) -> Resource:
        try:
            updated = await self._store.update_group(
                caller.directory.id,
                current.id,
                data=data,
                last_modified=now(),
                members=change,
                expected_version=current.version if conditional else None,
                event_values=caller.directory.event_values,
            )
        except Conflict:
            name = (data or {}).get("displayName", "")
            raise _taken(name) from None
        if updated is None:
            raise not_found("Group", current.id)
        return updated

    async def _check_rename(self, caller: Caller, current: Resource, data: dict[str, Any]) -> None:
        """Catalog names are the directory's: only policy `create` lets Entra rename a group.

        Under `normalize` a name that folds to the current one is no rename, and the catalog spelling stays.
        """
        new, old = data.get("displayName", ""), current.data.get("displayName", "")
        if not str(new).strip():
            raise InvalidValue("displayName is required and cannot be removed")
        policy = caller.directory.name_policy
        if new == old or policy == "create":
            return
        if policy == "normalize" and name_fold(new) == name_fold(old):
            data["displayName"] = old
            return
        rule = broken_rule(new)
        why = f" ({rule})" if rule else ""
        raise InvalidValue(
            f"The user group {old!r} cannot be renamed to {new!r}{why} from Entra: under policy {policy} user group"
            " names come from the directory's catalog. Rename the group back in Entra, or ask the directory admin"
            " to switch the directory to policy create."
        )

    async def _existing_members(self, caller: Caller, ids: list[str]) -> list[str]:
        if len(ids) > MAX_MEMBERS_PER_REQUEST:
            raise InvalidValue(f"A request can add at most {MAX_MEMBERS_PER_REQUEST} members; got {len(ids)}.")
        if not ids:
            return []
        found = await self._store.existing_user_ids(caller.directory.id, ids)
        missing = [i for i in ids if i not in found]
        if missing:
            shown = ", ".join(repr(i) for i in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise InvalidValue(
                f"Members must be users of this directory; no user has the id {shown}{more}. Provision the users first."
            )
        return ids
