"""Fill a Table store fast: each user and its userName entry, 50 users a transaction, 4 transactions in flight
(Azurite resets connections when more large batches queue up on one table)."""

from __future__ import annotations

from scim.model import Resource
from scim.store import _codec as k
from scim.store._rows import index_creates
from scim.store._tableio import Op, bounded
from scim.store.tables import TableStore


async def bulk_users(store: TableStore, directory: str, users: list[Resource]) -> None:
    """The entities create_user writes, without its one transaction per user (no change events)."""
    pk = k.user_pk(directory)

    def ops(chunk: list[Resource]) -> list[Op]:
        out: list[Op] = []
        for made in chunk:
            out.append(Op("create", k.resource_entity(pk, made) | {"Seq": 1}))
            out += index_creates(pk, k.user_index_rks(made.data), made.id)
        return out

    chunks = [users[n : n + 50] for n in range(0, len(users), 50)]
    await bounded(lambda chunk: store._io.transact("resources", ops(chunk)), chunks, 4)
