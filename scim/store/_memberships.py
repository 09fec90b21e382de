"""Membership pairs (a forward entry under the group, a reverse one under the member) and their transactions.

Both entries of a pair always commit in one transaction, so an interrupted change leaves whole pairs.
Group writes add and remove pairs; deleting a group or a user sweeps them (scim.store._codec for the keys).
"""

from __future__ import annotations

import time

from scim.errors import InvalidValue, Unfinished
from scim.store import _codec as k
from scim.store._tableio import Op, TableIO, bounded

# Transactions one change keeps in flight: a 100,000-member group is 2,000 transactions, which one at a
# time outlast Entra's request timeout; four at a time stay well inside one partition's throughput target.
BATCH_FAN_OUT = 4


def pair_ops(pk: str, group_id: str, add: list[str], remove: list[str], display: str | None = None) -> list[list[Op]]:
    """Upserts for added and deletes for removed members, each pair kept together (2 ops per member)."""
    pairs: list[list[Op]] = []
    for member in add:
        if not k.id_fits(member):
            raise InvalidValue("A member id is too long to store.")
        forward, reverse = k.member_entities(pk, group_id, member, display)
        pairs.append([Op("upsert", forward), Op("upsert", reverse)])
    for member in remove:
        if k.id_fits(member):  # a longer id was never stored
            forward, reverse = k.member_entities(pk, group_id, member)
            pairs.append([Op("delete", forward, missing_ok=True), Op("delete", reverse, missing_ok=True)])
    return pairs


def chunks(pairs: list[list[Op]], first_room: int, reserve: int = 0) -> tuple[list[Op], list[list[Op]]]:
    """Ops for the first transaction (``first_room`` free slots) and the remaining transactions.

    ``reserve`` slots stay free in every later transaction (the outbox entity, when the feed is on)."""
    first_pairs = first_room // 2
    head = [op for pair in pairs[:first_pairs] for op in pair]
    rest = pairs[first_pairs:]
    per = (k.BATCH - reserve) // 2 if reserve else k.PAIRS
    tail = [[op for pair in rest[i : i + per] for op in pair] for i in range(0, len(rest), per)]
    return head, tail


def moved(ops: list[Op]) -> tuple[list[str], list[str]]:
    """Members added and removed by a transaction's membership ops (forward entries only)."""
    added = [str(o.entity["Member"]) for o in ops if o.entity["RowKey"].startswith("m|") and o.action == "upsert"]
    removed = [str(o.entity["Member"]) for o in ops if o.entity["RowKey"].startswith("m|") and o.action == "delete"]
    return added, removed


async def transact_all(io: TableIO, batches: list[list[Op]]) -> None:
    """Commit batches (each is atomic; together they are not), BATCH_FAN_OUT at a time, stopping at a failure.

    Bounded: Azurite resets connections when many large batches queue up on one table.
    """
    await bounded(lambda ops: io.transact("resources", ops), batches, BATCH_FAN_OUT)


async def sweep(io: TableIO, pk: str, low: str, high: str, deadline: float | None = None) -> None:
    """Delete membership pairs found in a forward or reverse key range, a query page at a time.

    Memory stays at one page (1,000 rows) whatever the group's size; each page's 20 transactions run
    BATCH_FAN_OUT at a time. Every pair goes in one transaction, so an interrupted sweep leaves whole
    pairs, which the same call (a retried DELETE) or check --repair finishes. Past ``deadline`` (monotonic
    time) it stops between pages with Unfinished.
    """
    async for rows in io.range_pages("resources", pk, low, high, select=["Group", "Member"]):
        if deadline is not None and time.monotonic() > deadline:
            raise Unfinished()
        pairs = []
        for entity, _ in rows:
            forward, reverse = k.member_entities(pk, str(entity["Group"]), str(entity["Member"]))
            pairs.append([Op("delete", forward, missing_ok=True), Op("delete", reverse, missing_ok=True)])
        await transact_all(io, chunks(pairs, 0)[1])
