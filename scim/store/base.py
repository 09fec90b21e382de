"""The Store contract: one call per SCIM unit of work, so a Table Storage store meets the round-trip budget.

Records are plain data. A store copies what it is given and what it returns: callers may mutate
results freely. "Not found" is ``None`` (or ``False`` for deletes), never an exception.
Stores raise only ``scim.errors.Conflict`` (a unique key is taken), ``VersionMismatch`` (a
conditional write found another version) and ``StoreUnavailable`` (throttling, timeouts, 5xx).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from scim.model import (
    Client,
    Directory,
    Lookup,
    Match,
    MemberChange,
    Page,
    Position,
    Resource,
    Role,
    SetEntry,
    SetPosition,
    Slice,
    Sort,
)
from scim.protocol.changes import OutboxRow


class Store(Protocol):
    # Users -----------------------------------------------------------------------------------
    async def create_user(
        self, directory: str, user: Resource, *, unique_external_id: bool = True, event_values: bool = False
    ) -> Resource:
        """Insert a user and its userName/externalId index entries atomically; Conflict(attr) on a clash.

        With ``unique_external_id`` False (the directory's setting) externalId is neither indexed nor unique.
        Every write also commits its change events when the feed is on (``OutboxStore``); ``event_values``
        puts the changed values in them (the directory's opt-in)."""

    async def get_user(self, directory: str, user_id: str) -> Resource | None:
        """One read by id."""

    async def get_users(self, directory: str, user_ids: list[str]) -> list[Resource]:
        """The users among ``user_ids``, in that order, by point reads (bounded concurrency); absent ids are skipped."""

    async def query_users(
        self,
        directory: str,
        *,
        lookup: Lookup | None,
        match: Match | None,
        start_index: int,
        count: int,
        sort: Sort | None = None,
    ) -> Page:
        """Users passing ``lookup`` (index) and ``match`` (in memory), ordered by id (or ``sort``), 1-based slice.

        ``match`` sees the stored resource and must not change it; groups are matched without members."""

    async def walk_users(
        self,
        directory: str,
        *,
        lookup: Lookup | None,
        match: Match | None,
        count: int,
        after: Position | None,
        sort: Sort | None = None,
    ) -> Slice:
        """The next cursor page (RFC 9865) of users passing ``lookup`` and ``match``, from ``after`` (None: the start).

        Reads continue where the previous page stopped (never re-reading it): a resource present and unchanged for
        the whole walk appears exactly once. Unsorted order is the store's key order."""

    async def replace_user(
        self,
        directory: str,
        user: Resource,
        *,
        expected_version: str | None,
        unique_external_id: bool = True,
        event_values: bool = False,
    ) -> Resource | None:
        """Write a whole user (moving index entries on rename) if its version is still ``expected_version``.

        ``unique_external_id`` must be the value the user was created with (the directory's fixed setting)."""

    async def delete_user(self, directory: str, user_id: str, *, expected_version: str | None = None) -> bool:
        """Remove a user, its index entries and every membership it has.

        With ``expected_version``, VersionMismatch (and nothing removed) when the user is at another version."""

    async def existing_user_ids(self, directory: str, ids: Iterable[str]) -> set[str]:
        """The subset of ``ids`` that name users of this directory."""

    # Groups ----------------------------------------------------------------------------------
    async def create_group(
        self, directory: str, group: Resource, members: list[str], *, event_values: bool = False
    ) -> Resource:
        """Insert a group (displayName case-folded unique, Conflict('displayName')) and its members."""

    async def get_group(self, directory: str, group_id: str, *, with_members: bool) -> Resource | None:
        """One read by id; member entities are read only when ``with_members``."""

    async def group_by_folded_name(self, directory: str, name: str) -> Resource | None:
        """The group (without members) whose displayName folds like ``name`` (case, accents and whitespace:
        scim.protocol.text.name_fold), which is unique per directory; a point read of an index, not a scan."""

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
        """Groups passing ``lookup`` and ``match``, ordered by id (or ``sort``), 1-based slice."""

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
        """The next cursor page of groups, as ``walk_users`` (members read for the page only, when asked for)."""

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
        """Replace the group's data (when given) and apply member changes; a new version either way.

        The result carries ``members=None``; read the group again to see its members."""

    async def delete_group(
        self, directory: str, group_id: str, *, budget: float | None = None, expected_version: str | None = None
    ) -> bool:
        """Remove a group and its memberships; True also when an earlier delete of it is finished now.

        Past ``budget`` seconds the group is gone but memberships may remain: Unfinished, and repeating the
        call continues the removal. ``expected_version`` as for delete_user."""

    async def finish_deletes(self, directory: str, *, budget: float | None = None) -> int:
        """Finish the group deletes of this directory that stopped before removing every membership (Unfinished
        past ``budget`` seconds); returns how many it finished."""

    async def member_page(
        self, directory: str, group_id: str, *, after: str | None, count: int
    ) -> tuple[list[str], bool]:
        """Up to ``count`` member ids of a group, in the store's key order, after member ``after`` (None: from the
        first), and whether more follow: one range query, whatever the group's size. Entries are read as stored:
        the caller checks that the group exists."""

    async def user_groups(self, directory: str, user_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
        """For each user id, the (group id, group displayName) of the groups it directly belongs to, ordered by
        group id; at most one query (RFC 7643 §4.1.2 ``groups``). An unknown id maps to []."""

    # Catalog, directories and clients ---------------------------------------------------------
    async def list_roles(self, directory: str) -> list[Role]: ...

    async def put_role(self, directory: str, role: Role) -> None: ...

    async def delete_role(self, directory: str, value: str) -> bool: ...

    async def get_directory(self, directory: str) -> Directory | None: ...

    async def put_directory(self, directory: Directory) -> None: ...

    async def list_directories(self) -> list[Directory]: ...

    async def get_client(self, client_id: str) -> Client | None: ...

    async def put_client(self, client: Client) -> None: ...

    async def delete_client(self, client_id: str) -> bool: ...

    async def list_clients(self) -> list[Client]: ...

    async def put_health(self, directory: str, instance: str, record: str) -> None:
        """Insert or replace one instance's health record of a directory (JSON text, opaque to the store)."""

    async def health_records(self, directory: str) -> dict[str, str]:
        """Every instance's health record of the directory, by instance."""

    async def delete_health(self, directory: str, instance: str) -> None:
        """Forget one instance's record (one that stopped long ago); nothing happens if there is none."""

    async def close(self) -> None:
        """Release connections; the store is not used afterwards."""


class OutboxStore(Protocol):
    """The change feed's side of a store: events committed with each write, until the relay publishes them."""

    def enable_outbox(self, sink: Callable[[list[OutboxRow]], None]) -> None:
        """From now on every write commits its events with it and hands them to ``sink`` once committed."""

    async def outbox_pending(self, *, limit: int = 1000, min_age: float = 0.0) -> list[OutboxRow]:
        """Committed events not yet published, at least ``min_age`` seconds old, in commit order per resource."""

    async def outbox_delete(self, rows: list[OutboxRow]) -> None:
        """Forget published rows."""


class SetLog(Protocol):
    """Each directory's signed change events (docs/integration.md "Signed events"), kept for the retention window,
    and each poll client's position in them. Keys order the log by the time a SET was appended."""

    async def set_append(self, directory: str, sets: list[tuple[str, str]]) -> int:
        """Append (jti, token) pairs in order; a jti already in the log is skipped. Returns how many were new."""

    async def set_read(self, directory: str, *, after: str, before: str, limit: int) -> list[SetEntry]:
        """Up to ``limit`` SETs with ``after`` < key < ``before``, oldest first."""

    async def set_position(self, directory: str, client_id: str) -> SetPosition:
        """A client's position; the start of the log when it never acknowledged anything."""

    async def put_set_position(self, directory: str, client_id: str, position: SetPosition) -> None:
        """Record a client's position."""

    async def set_purge(self, directory: str, before: str) -> int:
        """Forget SETs with keys below ``before`` (older than the retention window); how many."""
