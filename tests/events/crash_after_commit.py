"""A host that dies right after a commit, before the relay publishes: run as a script by test_recovery.py.

The outbox sink is the first thing the store calls once the transaction has committed, so exiting there
is a kill between commit and publish.
"""

from __future__ import annotations

import asyncio
import os
import sys

from scim.model import Directory, Resource
from scim.store.tables import TableStore

KILLED = 9


async def main(connection_string: str, prefix: str, user_id: str) -> None:
    store = TableStore.from_connection_string(connection_string, prefix)
    await store.put_directory(Directory("dev"))
    store.enable_outbox(lambda rows: os._exit(KILLED))
    stamp = "2026-01-01T00:00:00.000Z"
    await store.create_user("dev", Resource(user_id, {"userName": "kim@x.test"}, stamp, stamp))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
