"""The relay's second destination (docs/integration.md "Signed events"): for directories whose ``event_format`` is
``set`` or ``both``, each committed v1 event becomes an RFC 9967 SET, signed with the event key and appended to the
directory's SET log, from which read-only clients poll (RFC 8936)."""

from __future__ import annotations

import time
from typing import Protocol

from scim.auth.event_keys import EventSigner
from scim.model import Directory, EventFormat
from scim.protocol.changes import OutboxRow
from scim.protocol.sets import claims, transaction
from scim.store.base import SetLog

# How long the relay trusts a directory's event_format: `scimctl directory set-policy --event-format` takes effect
# within this on every instance.
FORMAT_CACHE_SECONDS = 30.0


class SetStore(SetLog, Protocol):
    """A store with directories and a SET log (both stores)."""

    async def get_directory(self, directory: str) -> Directory | None: ...


class SetAppender:
    """Signs a committed outbox row's events and appends them to the directory's SET log."""

    def __init__(self, store: SetStore, signer: EventSigner, *, issuer: str, base_url: str) -> None:
        self._store = store
        self._signer = signer
        self._issuer = issuer
        self._base_url = base_url
        self._formats: dict[str, tuple[float, EventFormat]] = {}

    async def format(self, directory: str) -> EventFormat:
        """The directory's event format, cached for FORMAT_CACHE_SECONDS ("v1" for a directory that is gone)."""
        cached = self._formats.get(directory)
        if cached is not None and time.monotonic() - cached[0] < FORMAT_CACHE_SECONDS:
            return cached[1]
        found = await self._store.get_directory(directory)
        chosen: EventFormat = found.event_format if found is not None else "v1"
        self._formats[directory] = (time.monotonic(), chosen)
        return chosen

    async def append(self, row: OutboxRow) -> None:
        """The row's events as SETs, in order; a jti already in the log (a resent row) is not appended again."""
        txn = transaction(row.key[1])
        built = [claims(e, issuer=self._issuer, base_url=self._base_url, txn=txn) for e in row.events]
        tokens = await self._signer.sign(built)
        await self._store.set_append(row.directory, [(c["jti"], t) for c, t in zip(built, tokens, strict=True)])
