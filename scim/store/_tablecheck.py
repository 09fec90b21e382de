"""The Table Storage half of scim.store.check (loaded only for a TableStore)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scim.errors import Conflict, VersionMismatch
from scim.store import _codec as k
from scim.store._tableio import Entity, Op, TableIO
from scim.store.report import CheckReport

if TYPE_CHECKING:
    from scim.store.tables import TableStore


async def check_tables(store: TableStore, report: CheckReport, *, repair: bool) -> CheckReport:
    """Fill ``report`` for its directory; the checker belongs to the store, so it reads its I/O layer."""
    directory = await store.get_directory(report.directory)
    unique = directory is None or directory.unique_external_id
    return await _TableCheck(store._io, report, repair, unique_external_id=unique).run()


@dataclass(frozen=True, slots=True)
class _Kind:
    name: str
    pk: str
    index_rks: Callable[[dict[str, Any]], dict[str, str]]

    def wants(self, found: tuple[Entity, str] | None, attribute: str, rk: str) -> bool:
        """Whether the resource read as ``found`` needs the index entry ``rk``."""
        return found is not None and self.index_rks(k.resource_from(*found).data).get(attribute) == rk


Rows = dict[str, tuple[Entity, str]]


class _TableCheck:
    def __init__(self, io: TableIO, report: CheckReport, repair: bool, *, unique_external_id: bool = True) -> None:
        self.io, self.repair, self.report = io, repair, report
        user_rks = functools.partial(k.user_index_rks, unique_external_id=unique_external_id)
        self.users = _Kind("user", k.user_pk(report.directory), user_rks)
        self.groups = _Kind("group", k.group_pk(report.directory), k.group_index_rks)

    async def _fix(self, ops: list[Op], issue: str) -> None:
        self.report.issues.append(issue)
        if self.repair:
            # A concurrent writer fixed or changed it first: leave it to that writer.
            with contextlib.suppress(Conflict, VersionMismatch):
                await self.io.transact("resources", ops)
                self.report.repaired += 1

    async def _read(self, pk: str, rk: str) -> tuple[Entity, str] | None:
        return await self.io.get("resources", pk, rk)

    async def run(self) -> CheckReport:
        user_ids, _ = await self._indexes(self.users)
        group_ids, group_rows = await self._indexes(self.groups)
        self.report.users, self.report.groups = len(user_ids), len(group_ids)
        await self._memberships(group_rows, user_ids, group_ids)
        return self.report

    async def _indexes(self, kind: _Kind) -> tuple[set[str], Rows]:
        """Each resource has its index entries and each index entry names a resource that wants it."""
        scanned = await self.io.query("resources", "PartitionKey eq @pk", {"pk": kind.pk})
        rows: Rows = {str(e["RowKey"]): (e, etag) for e, etag in scanned}
        wanted: dict[str, tuple[str, str]] = {}  # index row key -> (attribute, resource id)
        for rk, found in rows.items():
            if rk.startswith(k.ID_LOW):
                resource_id = str(found[0]["Id"])
                for attribute, index_rk in kind.index_rks(k.resource_from(*found).data).items():
                    wanted[index_rk] = (attribute, resource_id)
                    holder = rows.get(index_rk)
                    if holder is None or holder[0]["Id"] != resource_id:
                        await self._missing_index(kind, index_rk, attribute, resource_id)
        for rk, (entity, etag) in rows.items():
            if rk[:3] in ("un|", "ux|", "dn|", "nf|") and wanted.get(rk, ("", ""))[1] != entity["Id"]:
                await self._stray_index(kind, rk, str(entity["Id"]), etag)
        return {str(found[0]["Id"]) for rk, found in rows.items() if rk.startswith(k.ID_LOW)}, rows

    async def _missing_index(self, kind: _Kind, rk: str, attribute: str, resource_id: str) -> None:
        holder = await self._read(kind.pk, rk)
        if holder is not None and holder[0]["Id"] == resource_id:
            return
        if holder is not None:
            self.report.issues.append(f"{kind.name}s {resource_id} and {holder[0]['Id']} share one {attribute}")
            return
        if kind.wants(await self._read(kind.pk, k.id_rk(resource_id)), attribute, rk):
            op = Op("create", k.index_entity(kind.pk, rk, resource_id), attribute=attribute)
            await self._fix([op], f"{kind.name} {resource_id} has no {attribute} index entry")

    async def _stray_index(self, kind: _Kind, rk: str, resource_id: str, etag: str) -> None:
        current = await self._read(kind.pk, k.id_rk(resource_id)) if k.id_fits(resource_id) else None
        if current is not None and rk in kind.index_rks(k.resource_from(*current).data).values():
            return
        op = Op("delete", k.index_entity(kind.pk, rk, resource_id), etag=etag, missing_ok=True)
        await self._fix([op], f"an index entry names {kind.name} {resource_id}, which does not hold that value")

    async def _exists(self, kind: _Kind, resource_id: str, known: set[str]) -> bool:
        if resource_id in known:
            return True
        return k.id_fits(resource_id) and await self._read(kind.pk, k.id_rk(resource_id)) is not None

    async def _memberships(self, rows: Rows, users: set[str], groups: set[str]) -> None:
        """Every membership has its reverse entry, a live group and a live user; every reverse entry a membership."""
        pk = self.groups.pk
        for rk, (entity, etag) in rows.items():
            if rk.startswith("dl|"):
                # A group delete that stopped before its sweep: the sweep's leftovers are memberships of a missing
                # group (removed below); the mark only lets a repeated DELETE answer 204.
                mark = [Op("delete", {"PartitionKey": pk, "RowKey": rk}, etag=etag, missing_ok=True)]
                await self._fix(mark, f"the delete of group {entity['Group']} did not finish removing its memberships")
            if not rk.startswith(("m|", "r|")):
                continue
            group_id, member_id = str(entity["Group"]), str(entity["Member"])
            forward, reverse = k.member_entities(pk, group_id, member_id)
            pair = [Op("delete", forward, missing_ok=True), Op("delete", reverse, missing_ok=True)]
            if rk.startswith("r|"):
                if forward["RowKey"] not in rows and await self._read(pk, forward["RowKey"]) is None:
                    await self._fix(pair[1:], f"a reverse entry says {member_id} is in group {group_id}; it is not")
            elif not await self._exists(self.groups, group_id, groups):
                await self._fix(pair, f"{member_id} is a member of group {group_id}, which does not exist")
            elif not await self._exists(self.users, member_id, users):
                await self._fix(pair, f"group {group_id} lists {member_id}, which is not a user of this directory")
            else:
                self.report.memberships += 1
                if reverse["RowKey"] not in rows and await self._read(pk, reverse["RowKey"]) is None:
                    await self._fix(
                        [Op("upsert", reverse)], f"membership {group_id} → {member_id} lacks its reverse entry"
                    )
