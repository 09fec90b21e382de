"""Round trips to Table Storage for TableStore: one place that counts calls and maps Azure errors.

Every network call goes through this module, so ``round_trips`` is exact (one per point operation,
per transaction and per page of a query) and no Azure exception escapes untranslated.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.data.tables import TableTransactionError, UpdateMode

from scim.errors import Conflict, InvalidValue, StoreUnavailable, VersionMismatch
from scim.protocol.changes import OutboxRow
from scim.store._codec import BATCH
from scim.telemetry import count_round_trip

if TYPE_CHECKING:
    from azure.data.tables.aio import TableClient, TableServiceClient

Entity = dict[str, Any]
Kind = Literal["resources", "admin", "sets"]
T = TypeVar("T")
X = TypeVar("X")
_UNAVAILABLE = {408, 429, 500, 502, 503, 504}
# Calls one request keeps in flight at once: enough to hide latency, few enough that one request cannot
# flood a partition (Azure's target is 2,000 entities/s per partition) or Azurite's connection pool.
FAN_OUT = 8
RANGE = "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high"
_TOO_LARGE = {"EntityTooLarge", "PropertyValueTooLarge", "RequestBodyTooLarge", "TooManyProperties"}


class Missing(Exception):
    """A transaction operation that must find its entity did not (the resource is gone)."""

    def __init__(self, op: Op) -> None:
        self.op = op
        super().__init__(op.entity.get("RowKey"))


@dataclass(slots=True)
class Op:
    """One entity-group transaction operation and what its failure means."""

    action: Literal["create", "upsert", "update", "delete"]
    entity: Entity
    etag: str | None = None  # when set, the write happens only if the entity still has this ETag
    merge: bool = False
    missing_ok: bool = False  # a delete of an entity already gone is dropped and the rest retried
    attribute: str = "id"  # Conflict(attribute) when a create collides

    def sdk(self) -> tuple[str, Entity, dict[str, Any]]:
        options: dict[str, Any] = {}
        if self.etag is not None:
            options = {"etag": self.etag, "match_condition": MatchConditions.IfNotModified}
        if self.action in ("update", "upsert"):
            options["mode"] = UpdateMode.MERGE if self.merge else UpdateMode.REPLACE
        return self.action, self.entity, options


class Rider(Protocol):
    """One more entity a transaction carries, told the results once it committed (the change feed's outbox row)."""

    async def op(self, pk: str) -> Op:
        """The entity to add to a transaction in partition ``pk``."""
        ...

    def committed(self, op: Op, results: list[Mapping[str, Any] | None]) -> None:
        """The transaction committed; ``results`` align with its ops, ``op`` last (never raises)."""
        ...


class Outbox(Protocol):
    """The change feed's outbox of these tables (scim.store._outbox), held here while the feed is on."""

    async def pending(self, limit: int, min_age: float) -> list[OutboxRow]: ...

    async def delete(self, rows: list[OutboxRow]) -> None: ...


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Throttling, timeouts, refused connections and 5xx become StoreUnavailable; oversize, InvalidValue."""
    try:
        yield
    except (ServiceRequestError, ServiceResponseError, TimeoutError, OSError) as exc:
        raise StoreUnavailable("Table Storage did not answer.") from exc
    except HttpResponseError as exc:
        status = exc.status_code
        if status is None or status in _UNAVAILABLE:
            raise StoreUnavailable(f"Table Storage answered {status}.") from exc
        code = str(getattr(exc, "error_code", "") or "")
        if status == 413 or any(code.endswith(c) or c in code for c in _TOO_LARGE):
            raise InvalidValue("The resource is too large to store.") from exc
        raise


class Seen:
    """The last version of each entity this process read or wrote, so a write at that version needs no re-read.

    Safe because every write that relies on it is conditional on the same ETag (If-Match).
    """

    def __init__(self, size: int = 2048) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, str], tuple[str, Entity]] = OrderedDict()

    def put(self, entity: Entity, etag: str) -> None:
        key = (entity["PartitionKey"], entity["RowKey"])
        self._items[key] = (etag, entity)
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def get(self, pk: str, rk: str, etag: str) -> Entity | None:
        found = self._items.get((pk, rk))
        return found[1] if found is not None and found[0] == etag else None

    def latest(self, pk: str, rk: str) -> Entity | None:
        """The entity as this process last saw it, whatever its version; never the base of a conditional write."""
        found = self._items.get((pk, rk))
        return found[1] if found is not None else None

    def drop(self, pk: str, rk: str) -> None:
        self._items.pop((pk, rk), None)


async def bounded(call: Callable[[X], Awaitable[T]], items: Iterable[X], limit: int = FAN_OUT) -> list[T]:
    """``call`` on every item with at most ``limit`` in flight; results in item order. A failure cancels the rest."""
    pending = list(items)
    results: list[T | None] = [None] * len(pending)
    queue = iter(enumerate(pending))

    async def worker() -> None:
        for position, item in queue:
            results[position] = await call(item)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(limit, len(pending))):
                group.create_task(worker())
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None  # callers handle StoreUnavailable, not groups of it
    return results  # type: ignore[return-value]


async def read_for_write(
    io: TableIO, seen: Seen, pk: str, rk: str, expected_version: str | None
) -> tuple[Entity, str] | None:
    """The resource entity a conditional write starts from, and its ETag; None when it does not exist.

    The version this process just read costs no round trip; a stored version other than
    ``expected_version`` is VersionMismatch before anything is written.
    """
    current = seen.get(pk, rk, expected_version) if expected_version else None
    if current is not None and expected_version is not None:
        return current, expected_version
    found = await io.get("resources", pk, rk)
    if found is None:
        return None
    if expected_version is not None and found[1] != expected_version:
        raise VersionMismatch()
    return found


class TableIO:
    """The three tables of one prefix, created once per process on first use."""

    def __init__(self, service: TableServiceClient, prefix: str) -> None:
        self.service = service
        self.names: dict[Kind, str] = {k: f"{prefix}{k}" for k in ("resources", "admin", "sets")}
        self.round_trips = 0
        self.entities_read = 0
        self._clients: dict[Kind, TableClient] = {}
        self._lock = asyncio.Lock()
        self.outbox: Outbox | None = None  # set when the change feed is on

    @property
    def outbox_room(self) -> int:
        """Operations a transaction keeps free for its outbox entity."""
        return 1 if self.outbox is not None else 0

    def _trip(self) -> None:
        """Count one service call here and on the current request's span (scim.store.round_trips)."""
        self.round_trips += 1
        count_round_trip()

    async def client(self, kind: Kind) -> TableClient:
        """The table's client, creating all tables on the first call (idempotent, under a lock)."""
        if not self._clients:
            async with self._lock:
                if not self._clients:
                    clients = {}
                    for k, name in self.names.items():
                        self._trip()
                        # ResourceExistsError: another process or the infra template created it.
                        with translated(), contextlib.suppress(ResourceExistsError):
                            try:
                                await self.service.create_table(name)
                            except HttpResponseError as exc:
                                # A role that may not create tables still works when infra made them.
                                if exc.status_code != 403:
                                    raise
                        clients[k] = self.service.get_table_client(name)
                    self._clients = clients
        return self._clients[kind]

    async def get(self, kind: Kind, pk: str, rk: str) -> tuple[Entity, str] | None:
        """One point read: the entity and its ETag, or None."""
        table = await self.client(kind)
        self._trip()
        with translated():
            try:
                entity = await table.get_entity(pk, rk)
            except ResourceNotFoundError:
                return None
        self.entities_read += 1
        return dict(entity), str(entity.metadata["etag"])

    async def pages(
        self, kind: Kind, query_filter: str, parameters: Mapping[str, str], select: list[str] | None = None
    ) -> AsyncIterator[list[tuple[Entity, str]]]:
        """The filter's entities one service page (at most 1,000) at a time; one round trip per page."""
        table = await self.client(kind)
        with translated():
            pages = table.query_entities(query_filter, parameters=dict(parameters), select=select).by_page()
            while True:
                try:
                    page = await pages.__anext__()
                except StopAsyncIteration:
                    break  # the pager stops without a call once no continuation token is left
                except BaseException:
                    self._trip()
                    raise
                self._trip()
                found = [(dict(entity), str(entity.metadata.get("etag", ""))) async for entity in page]
                self.entities_read += len(found)
                yield found

    async def page(
        self,
        kind: Kind,
        query_filter: str,
        parameters: Mapping[str, str],
        *,
        size: int,
        token: dict[str, Any] | None = None,
    ) -> tuple[list[tuple[Entity, str]], dict[str, Any] | None]:
        """One service page of at most ``size`` entities from ``token`` on (one round trip), and the continuation
        token after it (None: nothing is left). Tokens are the service's own, opaque (Azure encodes the keys)."""
        table = await self.client(kind)
        self._trip()
        with translated():
            pager = table.query_entities(query_filter, parameters=dict(parameters), results_per_page=size)
            pages = pager.by_page(continuation_token=token)  # type: ignore[arg-type]
            try:
                page = await pages.__anext__()
            except StopAsyncIteration:
                return [], None
            found = [(dict(entity), str(entity.metadata.get("etag", ""))) async for entity in page]
        self.entities_read += len(found)
        return found, getattr(pages, "continuation_token", None) or None

    async def query(
        self, kind: Kind, query_filter: str, parameters: Mapping[str, str], select: list[str] | None = None
    ) -> list[tuple[Entity, str]]:
        """Every entity the filter selects, following continuation tokens; one round trip per page."""
        return [row async for page in self.pages(kind, query_filter, parameters, select) for row in page]

    async def range(
        self, kind: Kind, pk: str, low: str, high: str, select: list[str] | None = None
    ) -> list[tuple[Entity, str]]:
        """Entities of one partition with low <= RowKey < high."""
        return [row async for page in self.range_pages(kind, pk, low, high, select) for row in page]

    def range_pages(
        self, kind: Kind, pk: str, low: str, high: str, select: list[str] | None = None
    ) -> AsyncIterator[list[tuple[Entity, str]]]:
        """Entities of one partition with low <= RowKey < high, a page at a time (bounded memory)."""
        return self.pages(kind, RANGE, {"pk": pk, "low": low, "high": high}, select)

    async def keyed_rows(self, kind: Kind, pk: str, rks: list[str], select: list[str]) -> list[Entity]:
        """The entities of one partition among ``rks``, by point reads (at most FAN_OUT in flight).

        Not an ``or`` of RowKeys: Azure serves that as a scan of the partition (table design guide), whose
        cost grows with the partition; a point read costs the same at 10 entities or 100,000.
        """
        found = await bounded(lambda rk: self.get(kind, pk, rk), dict.fromkeys(rks))
        return [{name: e[name] for name in select if name in e} for e, _ in filter(None, found)]

    async def transact(
        self, kind: Kind, ops: list[Op], outgoing: Rider | None = None
    ) -> list[Mapping[str, Any] | None]:
        """Commit ops (≤ 100, one partition) atomically; results align with ops (None for dropped deletes).

        409 on a create → Conflict(op.attribute); 412 → VersionMismatch; 404 on a missing_ok delete drops
        that op and retries the rest (one more round trip); any other 404 → Missing(op). ``outgoing`` (the
        change feed's events, scim.store._outbox) adds one entity to the same transaction and hears of the commit.
        """
        rider = None
        if outgoing is not None and ops:
            rider = await outgoing.op(str(ops[0].entity["PartitionKey"]))
            ops = [*ops, rider]
        if len(ops) > BATCH:
            raise ValueError(f"{len(ops)} operations exceed one transaction")
        live = list(range(len(ops)))
        table = await self.client(kind)
        while live:
            self._trip()
            try:
                with translated():
                    results = await table.submit_transaction([ops[i].sdk() for i in live])
            except TableTransactionError as exc:
                position = live[exc.index] if 0 <= exc.index < len(live) else live[0]
                failed = ops[position]
                if exc.status_code == 409:
                    raise Conflict(failed.attribute) from exc
                if exc.status_code == 412:
                    raise VersionMismatch() from exc
                if exc.status_code == 404 and failed.missing_ok:
                    live.remove(position)
                    continue
                if exc.status_code == 404:
                    raise Missing(failed) from exc
                raise
            aligned: list[Mapping[str, Any] | None] = [None] * len(ops)
            for position, result in zip(live, results, strict=True):
                aligned[position] = result
            if rider is not None and outgoing is not None:
                outgoing.committed(rider, aligned)
                return aligned[:-1]
            return aligned
        return [None] * len(ops)

    async def upsert(self, kind: Kind, entity: Entity) -> None:
        table = await self.client(kind)
        self._trip()
        with translated():
            await table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    async def delete(self, kind: Kind, pk: str, rk: str) -> bool:
        """Delete one entity; False when it was not there (a one-operation transaction reports 404)."""
        try:
            await self.transact(kind, [Op("delete", {"PartitionKey": pk, "RowKey": rk})])
        except Missing:
            return False
        return True

    async def close(self) -> None:
        for table in self._clients.values():
            await table.close()
        await self.service.close()
