"""Groups and memberships for TableStore (see scim.store._codec for the key layout).

A group, its displayName index entry and its memberships (each with a reverse entry) share the
directory's group partition, so the group's version and up to 49 member changes commit in one
entity-group transaction; larger changes continue in transactions of 50 pairs.

A member change without If-Match merges only ``LastModified`` into the group entity, unconditionally
(If-Match: *): Azure gives the entity a new ETag (the group's meta.version) for every such commit, and
concurrent changes never refuse each other, so none retries. Adds and removes of distinct members commute,
so no condition is needed to lose nothing; the merge still fails with 404 once the group is deleted, so
no membership of the first transaction lands in a deleted group. README "Memberships at scale".
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import time
from typing import Any

from scim.errors import Conflict, StoreUnavailable, Unfinished
from scim.model import Lookup, Match, MemberChange, Page, Position, Resource, Slice, Sort
from scim.protocol import changes as ev
from scim.protocol.text import name_fold
from scim.store import _codec as k
from scim.store._common import lookup_matches
from scim.store._memberships import BATCH_FAN_OUT, chunks, moved, pair_ops, sweep, transact_all
from scim.store._outbox import next_sequence, outgoing
from scim.store._rows import delete_with_index, index_creates, index_moves, read_current, seen_resource
from scim.store._tableio import RANGE, Entity, Missing, Op, Seen, TableIO, bounded
from scim.store._walk import sorted_candidates, walk_partition
from scim.store.paging import page_of, slice_after


@dataclasses.dataclass
class _GroupWrite:
    """The group's part of an update: its ops, its entity as written (None for a blind merge), its data
    before the change, and the change's sequence (None when nothing was read to count it)."""

    ops: list[Op]
    entity: Entity | None
    old_data: dict[str, Any]
    sequence: int | None


class TableGroups:
    """Group methods of TableStore; expects ``_io`` and ``_seen`` from it."""

    _io: TableIO
    _seen: Seen

    async def _members(self, pk: str, group_id: str) -> list[str]:
        """Member ids, sorted; only one page of entities (1,000) is held at a time beside the ids."""
        ids: list[str] = []
        async for rows in self._io.range_pages("resources", pk, *k.members_range(group_id), select=["Member"]):
            ids += [str(e["Member"]) for e, _ in rows]
        ids.sort()
        return ids

    async def create_group(
        self, directory: str, group: Resource, members: list[str], *, event_values: bool = False
    ) -> Resource:
        """Group + displayName index + up to 48 memberships in one transaction; the rest written before it.

        Only that last transaction carries the group.created event: the earlier ones are not the commit."""
        k.require_id(group.id, "group")
        pk = k.group_pk(directory)
        entity = k.resource_entity(pk, group) | {"Seq": 1}
        head = [Op("create", entity, attribute="id")]
        head += index_creates(pk, k.group_index_rks(group.data), group.id)
        ids = sorted(set(members))
        display = k.str_attr(group.data, "displayName")
        room = self._io.outbox_room
        first, rest = chunks(pair_ops(pk, group.id, ids, [], display), k.BATCH - len(head) - room, room)
        if rest:
            # Memberships beyond the first transaction go in before the group exists: a failure leaves
            # only memberships of a missing group, which check --repair removes. Never touch a live group.
            if await self._io.get("resources", pk, k.id_rk(group.id)) is not None:
                raise Conflict("id")
            await transact_all(self._io, rest)
        events = outgoing(
            self._io,
            directory,
            lambda: ev.group_created(group.id, group.data, ids, values=event_values),
            1,
            entity["RowKey"],
        )
        try:
            results = await self._io.transact("resources", head + first, events)
        except Conflict:
            if rest:
                with contextlib.suppress(StoreUnavailable):
                    await sweep(self._io, pk, *k.members_range(group.id))
            raise
        out = seen_resource(self._seen, entity, str(results[0]["etag"]) if results[0] else "")
        out.members = ids
        return out

    async def get_group(self, directory: str, group_id: str, *, with_members: bool) -> Resource | None:
        """One point read; member entities are read (one query page per 1,000) only when asked for."""
        if not k.id_fits(group_id):
            return None
        pk = k.group_pk(directory)
        found = await self._io.get("resources", pk, k.id_rk(group_id))
        if found is None:
            return None
        out = seen_resource(self._seen, *found)
        if with_members:
            out.members = await self._members(pk, group_id)
        return out

    async def group_by_folded_name(self, directory: str, name: str) -> Resource | None:
        """A point read of the folded-name index entry, then one of the group it names (none on a miss)."""
        pk = k.group_pk(directory)
        index = await self._io.get("resources", pk, k.folded_name_rk(name))
        if index is None:
            return None
        found = await self.get_group(directory, str(index[0]["Id"]), with_members=False)
        if found is None or name_fold(k.str_attr(found.data, "displayName") or "") != name_fold(name):
            return None  # a stale entry (check --repair removes it)
        return found

    async def _group_candidates(self, directory: str, lookup: Lookup | None, sort: Sort | None) -> list[Resource]:
        """Lookup by id/displayName through a point read or the index; anything else scans the partition."""
        pk = k.group_pk(directory)
        candidates: list[Resource]
        if lookup is not None and lookup.attribute in ("id", "displayName"):
            group_id: str | None = lookup.value
            if lookup.attribute == "displayName":
                index = await self._io.get("resources", pk, k.display_name_rk(lookup.value))
                group_id = str(index[0]["Id"]) if index else None
            found = await self.get_group(directory, group_id, with_members=False) if group_id else None
            candidates = [found] if found is not None else []
        elif sort is not None:
            candidates = await sorted_candidates(self._io, pk)
        else:
            rows = await self._io.range("resources", pk, k.ID_LOW, k.ID_HIGH)
            candidates = [k.resource_from(e, etag) for e, etag in rows]
        return [g for g in candidates if lookup is None or lookup_matches(g, lookup)]

    async def _with_members(self, pk: str, groups: list[Resource]) -> None:
        lists = await bounded(lambda g: self._members(pk, g.id), groups)
        for resource, ids in zip(groups, lists, strict=True):
            resource.members = ids

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
        """Candidates (see _group_candidates) passing match, ordered by id or ``sort``; members for the page only."""
        candidates = await self._group_candidates(directory, lookup, sort)
        page = page_of([g for g in candidates if match is None or match(g)], start_index, count, sort)
        if with_members:
            await self._with_members(k.group_pk(directory), page.resources)
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
        """Unsorted and unindexed: one range query continued by token, a round trip per page; else candidates."""
        pk = k.group_pk(directory)
        if lookup is None and sort is None:
            page = await walk_partition(self._io, pk, match=match, count=count, after=after)
        else:
            candidates = await self._group_candidates(directory, lookup, sort)
            page = slice_after(candidates, match=match, sort=sort, after=after, count=count)
        if with_members:
            await self._with_members(pk, page.resources)
        return page

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
        """One transaction writes the group (new ETag) with the first member changes, then the rest follow.

        With data or an expected version the group's write is conditional (If-Match), so a concurrent
        writer loses with VersionMismatch before any of its memberships land. A member change alone with
        no expected version merges LastModified unconditionally: no read, no retry, whatever else commits.
        """
        if not k.id_fits(group_id):
            return None
        pk, rk = k.group_pk(directory), k.id_rk(group_id)
        write = await self._group_write(pk, group_id, data, last_modified, expected_version)
        if write is None:
            return None
        add = sorted(set(members.add))
        remove = await self._removals(pk, group_id, members, add)
        before, display = self._displays(pk, rk, None if write.entity is None else write.old_data, data)
        room = self._io.outbox_room
        first, rest = chunks(pair_ops(pk, group_id, add, remove, display), k.BATCH - len(write.ops) - room, room)
        new_etag = await self._commit_first(directory, group_id, write, first, data, event_values=event_values)
        if new_etag is None:
            return None
        await self._commit_rest(directory, group_id, rest, write.sequence, new_etag)
        if display != before:
            await self._rename_reverse(pk, group_id, display, skip=set(add))
        if write.entity is not None:
            return seen_resource(self._seen, write.entity, new_etag)
        return await self._merged(pk, rk, last_modified, new_etag)

    async def _group_write(
        self, pk: str, group_id: str, data: dict[str, Any] | None, last_modified: str, expected_version: str | None
    ) -> _GroupWrite | None:
        """The group's own ops: a blind LastModified merge, or (after a read) a conditional merge or replace.

        None when the group is missing."""
        rk = k.id_rk(group_id)
        if data is None and expected_version is None:
            merge = Op("update", {"PartitionKey": pk, "RowKey": rk, "LastModified": last_modified}, merge=True)
            return _GroupWrite([merge], None, {}, None)
        found = await read_current(self._io, self._seen, pk, rk, expected_version)
        if found is None:
            return None
        old, sequence = found.resource, found.sequence
        if data is None:
            entity: Entity = {"PartitionKey": pk, "RowKey": rk, "LastModified": last_modified, "Seq": sequence}
            written = {**found.entity, "LastModified": last_modified, "Seq": sequence}
            return _GroupWrite([Op("update", entity, etag=found.etag, merge=True)], written, old.data, sequence)
        new = Resource(group_id, data, old.created, last_modified)
        written = k.resource_entity(pk, new, created=old.created) | {"Seq": sequence}
        ops = [Op("update", written, etag=found.etag)]
        ops += index_moves(pk, k.group_index_rks(old.data), k.group_index_rks(data), group_id)
        return _GroupWrite(ops, written, old.data, sequence)

    async def _removals(self, pk: str, group_id: str, members: MemberChange, add: list[str]) -> list[str]:
        """Members to remove, sorted; a member also added stays."""
        if members.remove_all:
            return sorted(set(await self._members(pk, group_id)) - set(add))
        wanted = sorted(set(members.remove) - set(add))
        if len(wanted) > 1:
            # Deleting an absent membership fails its transaction (404) and costs a retry each, so
            # several removals first ask which are present (point reads); one removal just tries.
            rows = await self._io.keyed_rows("resources", pk, [k.member_rk(group_id, m) for m in wanted], ["Member"])
            return sorted(str(e["Member"]) for e in rows)
        return wanted

    async def _commit_first(
        self,
        directory: str,
        group_id: str,
        write: _GroupWrite,
        first: list[Op],
        data: dict[str, Any] | None,
        *,
        event_values: bool,
    ) -> str | None:
        """The group's ops and the first member changes in one transaction (with the group.updated event).

        Its new ETag, or None when the group is gone."""
        pk, rk = k.group_pk(directory), k.id_rk(group_id)
        events = outgoing(
            self._io,
            directory,
            lambda: ev.group_updated(group_id, write.old_data, data, *moved(first), values=event_values),
            write.sequence,
            rk,
        )
        try:
            results = await self._io.transact("resources", write.ops + first, events)
        except Missing:
            self._seen.drop(pk, rk)
            return None
        return str(results[0]["etag"]) if results[0] else ""

    async def _commit_rest(
        self, directory: str, group_id: str, rest: list[list[Op]], sequence: int | None, version: str
    ) -> None:
        """The remaining member changes, BATCH_FAN_OUT transactions at a time.

        Each is a commit of its own; their events share the first one's sequence and version."""

        async def commit(ops: list[Op]) -> Any:
            events = functools.partial(ev.member_changes, group_id, *moved(ops))
            return await self._io.transact(
                "resources", ops, outgoing(self._io, directory, events, sequence, version=version)
            )

        await bounded(commit, rest, BATCH_FAN_OUT)

    def _displays(
        self, pk: str, rk: str, old_data: dict[str, Any] | None, data: dict[str, Any] | None
    ) -> tuple[str | None, str | None]:
        """The group's displayName before and after a change, which its reverse entries carry (User ``groups``).

        A member change with no read takes it from this process's last read of the group, else writes none."""
        if old_data is None:
            known = self._seen.latest(pk, rk)
            name = k.str_attr(k.resource_from(known, "").data, "displayName") if known else None
            return name, name
        return k.str_attr(old_data, "displayName"), k.str_attr(old_data if data is None else data, "displayName")

    async def _merged(self, pk: str, rk: str, last_modified: str, etag: str) -> Resource | None:
        """The group after an unconditional merge: its data as this process last read it (one read if never).

        Not remembered as that version: another writer may have changed the data in between, and a
        conditional write must never start from data that version does not hold.
        """
        known = self._seen.latest(pk, rk)
        if known is None:
            found = await self._io.get("resources", pk, rk)
            return seen_resource(self._seen, *found) if found is not None else None
        return k.resource_from({**known, "LastModified": last_modified}, etag)

    async def _rename_reverse(self, pk: str, group_id: str, display: str | None, *, skip: set[str]) -> None:
        """After a rename, the members' reverse entries carry the new displayName (merge updates, 100 per
        transaction); a member removed meanwhile is skipped, never brought back."""
        ops = [
            Op(
                "update",
                {"PartitionKey": pk, "RowKey": k.reverse_rk(m, group_id), "Display": display or ""},
                merge=True,
            )
            for m in await self._members(pk, group_id)
            if m not in skip
        ]
        for start in range(0, len(ops), k.BATCH):
            batch = ops[start : start + k.BATCH]
            while batch:
                try:
                    await self._io.transact("resources", batch)
                    break
                except Missing as gone:
                    batch = [op for op in batch if op is not gone.op]

    async def finish_deletes(self, directory: str, *, budget: float | None = None) -> int:
        """One range query for the directory's ``dl|`` marks, then each stopped delete is continued (Unfinished
        past ``budget``; the next call continues)."""
        deadline = None if budget is None else time.monotonic() + budget
        marks = await self._io.range("resources", k.group_pk(directory), "dl|", "dl}", ["Group"])
        for mark, _ in marks:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise Unfinished()
            await self.delete_group(directory, str(mark["Group"]), budget=left)
        return len(marks)

    async def member_page(
        self, directory: str, group_id: str, *, after: str | None, count: int
    ) -> tuple[list[str], bool]:
        """One range query over the group's member entries from ``after`` (read again and skipped: the range's low
        end is inclusive), one more than ``count`` to learn whether more follow."""
        if count <= 0 or not k.id_fits(group_id) or (after is not None and not k.id_fits(after)):
            return [], False
        low, high = k.members_range(group_id)
        if after is not None:
            low = k.member_rk(group_id, after)
        rows, token = await self._io.page(
            "resources", RANGE, {"pk": k.group_pk(directory), "low": low, "high": high}, size=count + 2
        )
        ids = [str(entity["Member"]) for entity, _ in rows]
        if after is not None and ids[:1] == [after]:
            ids = ids[1:]
        return ids[:count], len(ids) > count or token is not None

    async def user_groups(self, directory: str, user_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
        """One range query over the reverse entries between the smallest and largest of the ids' keys."""
        wanted = {i for i in user_ids if k.id_fits(i)}
        out: dict[str, list[tuple[str, str]]] = {i: [] for i in user_ids}
        if not wanted:
            return out
        lows = sorted(k.reverse_range(i)[0] for i in wanted)
        high = max(k.reverse_range(i)[1] for i in wanted)
        rows = await self._io.range("resources", k.group_pk(directory), lows[0], high, ["Group", "Member", "Display"])
        unnamed: set[str] = set()
        for entity, _ in rows:
            member = str(entity["Member"])
            if member in wanted:
                out[member].append((str(entity["Group"]), str(entity.get("Display") or "")))
                unnamed |= set() if entity.get("Display") else {str(entity["Group"])}
        if unnamed:
            # Entries written without a Display (before it existed, or by a member change that read no group):
            # the names come from the group entities, in one more keyed read.
            pk = k.group_pk(directory)
            found = await self._io.keyed_rows(
                "resources", pk, [k.id_rk(g) for g in sorted(unnamed)], ["Id", "Parts", "d0"]
            )
            names = {
                str(e["Id"]): k.str_attr(k.resource_from(e, "").data, "displayName") or ""
                for e in found
                if int(e.get("Parts", 1)) == 1
            }
            for groups_of in out.values():
                groups_of[:] = [(g, name or names.get(g, "")) for g, name in groups_of]
        for groups in out.values():
            groups.sort()
        return out

    async def delete_group(
        self, directory: str, group_id: str, *, budget: float | None = None, expected_version: str | None = None
    ) -> bool:
        """Delete the group, its index entries and mark it ``deleting`` in one transaction, then its memberships
        a page at a time, then the mark.

        The group is gone for readers and for member changes (their merge answers 404) from the first
        transaction on. A sweep that fails, or outlasts ``budget`` seconds (Unfinished), leaves the mark and
        memberships of a missing group: a repeated delete finds the mark, finishes the sweep and answers True
        (it sweeps even without one), and check --repair removes them too.
        """
        if not k.id_fits(group_id):
            return False
        deadline = None if budget is None else time.monotonic() + budget
        pk, rk = k.group_pk(directory), k.id_rk(group_id)
        mark = {"PartitionKey": pk, "RowKey": k.deleting_rk(group_id), "Group": group_id}
        deleted = await delete_with_index(
            self._io,
            pk,
            rk,
            k.group_index_rks,
            events=lambda found: outgoing(
                self._io, directory, lambda: ev.group_deleted(group_id), next_sequence(found)
            ),
            extra=(Op("upsert", mark),),
            expected_version=expected_version,
        )
        self._seen.drop(pk, rk)
        if not deleted:
            deleted = await self._io.get("resources", pk, mark["RowKey"]) is not None
        await sweep(self._io, pk, *k.members_range(group_id), deadline)
        if deleted:
            await self._io.delete("resources", pk, mark["RowKey"])
        return deleted
