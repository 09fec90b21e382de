"""`scimctl check [--repair]`: find (and fix) what an interrupted multi-step write can leave behind.

Single transactions keep a resource and its index entries together, so the leftovers are: memberships
of a deleted group or user (delete stopped after its first transaction), memberships whose reverse
entry is missing or the other way round, and index entries that name no resource. A scan is not a
snapshot, so every suspect is confirmed by point reads before it is reported or repaired.
"""

from __future__ import annotations

from scim.model import Resource
from scim.protocol.render import stored_attributes
from scim.protocol.schema import ENTERPRISE_SCHEMA
from scim.store.memory import MemoryStore
from scim.store.report import CheckReport
from scim.telemetry import untraced


async def check_directory(store: object, directory: str, *, repair: bool) -> CheckReport:
    """Check one directory of a TableStore or MemoryStore; with ``repair`` remove orphans, restore entries."""
    store = untraced(store)  # the App's store is telemetry's Traced proxy; the check dispatches on what it wraps
    if isinstance(store, MemoryStore):
        report = await _memory_check(store, directory, repair=repair)
    else:
        # Imported here: the Azure SDK loads only where SCIM_STORE=tables.
        from scim.store._tablecheck import check_tables
        from scim.store.tables import TableStore

        if not isinstance(store, TableStore):
            raise TypeError(f"cannot check a {type(store).__name__}")
        report = await check_tables(store, CheckReport(directory), repair=repair)
    users = (await store.query_users(directory, lookup=None, match=None, start_index=1, count=1 << 30)).resources
    report.dangling_managers = _dangling_managers(users)
    groups = await store.query_groups(
        directory, lookup=None, match=None, start_index=1, count=1 << 30, with_members=False
    )
    for kind, resources in (("user", users), ("group", groups.resources)):
        for resource in resources:
            report.malformed += [f"{kind} {resource.id}: {why}" for why in stored_attributes(resource.data)[1]]
    return report


def _dangling_managers(users: list[Resource]) -> list[str]:
    """Users whose enterprise manager names no user of the directory (the validators' "SuzzyQ")."""
    ids = {u.id for u in users}
    found = []
    for user in users:
        extension = user.data.get(ENTERPRISE_SCHEMA)
        manager = (extension.get("manager") if isinstance(extension, dict) else None) or {}
        value = manager.get("value") if isinstance(manager, dict) else None
        if isinstance(value, str) and value not in ids:
            found.append(f"user {user.id} has manager {value!r}, which is not a user of this directory")
    return found


async def _memory_check(store: MemoryStore, directory: str, *, repair: bool) -> CheckReport:
    """MemoryStore keeps its indexes in step; only memberships of ids that are not users can appear."""
    report = CheckReport(directory)
    users = await store.query_users(directory, lookup=None, match=None, start_index=1, count=0)
    groups = await store.query_groups(
        directory, lookup=None, match=None, start_index=1, count=1 << 30, with_members=True
    )
    report.users, report.groups = users.total, groups.total
    report.memberships = sum(len(g.members or []) for g in groups.resources)
    dangling = store.dangling_members(directory)
    for group_id, ids in sorted(dangling.items()):
        report.issues += [f"group {group_id} lists {m}, which is not a user of this directory" for m in sorted(ids)]
    if repair and dangling:
        store.drop_members(directory, dangling)
        report.repaired = sum(len(ids) for ids in dangling.values())
        report.memberships -= report.repaired
    return report
