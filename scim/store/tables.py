"""TableStore: the Store on Azure Table Storage (azure-data-tables, async), imported only when SCIM_STORE=tables.

Round trips (``round_trips`` counts them): create user 1 transaction; get by id 1 read; lookup by
userName 2 reads; replace at a version this process has seen 1 transaction (else + 1 read); add N
members without If-Match ceil((N + 1) / 50) transactions (each member is a membership + reverse entry
pair) and no read, whatever the group's size; N ids checked for existence N point reads, 8 in flight; a group
by its folded name 2 reads (index, group), whatever the catalog's size.
Key layout and limits: scim.store._codec.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from scim.errors import InvalidValue
from scim.model import Client, Directory, Federation, Lookup, Match, Page, Position, Resource, Role, Slice, Sort
from scim.protocol import changes as ev
from scim.store import _codec as k
from scim.store._common import lookup_matches
from scim.store._groups import TableGroups
from scim.store._memberships import sweep
from scim.store._outbox import Sink, TableOutbox, next_sequence, outgoing
from scim.store._rows import delete_with_index, index_creates, index_moves, read_current, seen_resource
from scim.store._setlog import TableSetLog
from scim.store._tableio import Entity, Missing, Op, Seen, TableIO, bounded
from scim.store._walk import sorted_candidates, walk_partition
from scim.store.paging import page_of, slice_after

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential
    from azure.data.tables.aio import TableServiceClient


def client_options(*, retry_total: int, connection_timeout: float, read_timeout: float) -> dict[str, Any]:
    """SDK settings that make an unreachable store fail fast (StoreUnavailable → 503 + Retry-After) not hang."""
    return {
        "retry_total": retry_total,
        "retry_backoff_factor": 0.4,
        "retry_backoff_max": 4,
        "connection_timeout": connection_timeout,
        "read_timeout": read_timeout,
    }


class TableStore(TableGroups, TableSetLog):
    """Users, groups, memberships, the admin catalog and the SET log in ``{prefix}resources``, ``admin``, ``sets``."""

    # Telemetry: this store counts its own service calls, and its calls leave the process (child spans).
    reports_round_trips = True
    remote = True

    def __init__(self, service: TableServiceClient, prefix: str = "scim") -> None:
        # Table names are 3-63 letters and digits starting with a letter; "resources" adds 9.
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,53}", prefix):
            raise ValueError(f"table prefix {prefix!r} must be 1-54 letters or digits, starting with a letter")
        self._io = TableIO(service, prefix)
        self._seen = Seen()
        self._credential: AsyncTokenCredential | None = None

    @property
    def round_trips(self) -> int:
        """Service calls so far: each point operation, transaction and query page counts one."""
        return self._io.round_trips

    @property
    def entities_read(self) -> int:
        """Entities returned by reads and queries so far."""
        return self._io.entities_read

    @classmethod
    def from_connection_string(
        cls,
        connection_string: str,
        prefix: str = "scim",
        *,
        retry_total: int = 2,
        connection_timeout: float = 3.0,
        read_timeout: float = 10.0,
    ) -> TableStore:
        """For Azurite and development accounts (a shared key in the connection string)."""
        from azure.data.tables.aio import TableServiceClient

        options = client_options(
            retry_total=retry_total, connection_timeout=connection_timeout, read_timeout=read_timeout
        )
        return cls(TableServiceClient.from_connection_string(connection_string, **options), prefix)

    @classmethod
    def from_endpoint(
        cls,
        endpoint_url: str,
        credential: AsyncTokenCredential | None = None,
        prefix: str = "scim",
        *,
        retry_total: int = 2,
        connection_timeout: float = 3.0,
        read_timeout: float = 10.0,
    ) -> TableStore:
        """For Azure: Entra ID auth (managed identity through DefaultAzureCredential when none is given), no key."""
        from azure.data.tables.aio import TableServiceClient

        owned = None
        if credential is None:
            from azure.identity.aio import DefaultAzureCredential

            credential = owned = DefaultAzureCredential()
        options = client_options(
            retry_total=retry_total, connection_timeout=connection_timeout, read_timeout=read_timeout
        )
        store = cls(TableServiceClient(endpoint=endpoint_url, credential=credential, **options), prefix)
        store._credential = owned
        return store

    def enable_outbox(self, sink: Sink) -> None:
        """Turn the change feed on: every write also commits an outbox row, handed to ``sink`` once committed."""
        self._io.outbox = TableOutbox(self._io, sink)

    async def outbox_pending(self, *, limit: int = 1000, min_age: float = 0.0) -> list[ev.OutboxRow]:
        """Committed events still waiting for the queue (left by a relay that failed or a host that died)."""
        return [] if self._io.outbox is None else await self._io.outbox.pending(limit, min_age)

    async def outbox_delete(self, rows: list[ev.OutboxRow]) -> None:
        """Forget rows the relay has published."""
        if self._io.outbox is not None:
            await self._io.outbox.delete(rows)

    async def close(self) -> None:
        """Close the SDK clients (and the credential this store created)."""
        await self._io.close()
        if self._credential is not None:
            await self._credential.close()

    # Users -------------------------------------------------------------------------------------
    async def create_user(
        self, directory: str, user: Resource, *, unique_external_id: bool = True, event_values: bool = False
    ) -> Resource:
        """User and its userName/externalId index entries in one transaction (409 at an index → Conflict)."""
        k.require_id(user.id, "user")
        pk = k.user_pk(directory)
        entity = k.resource_entity(pk, user) | {"Seq": 1}
        rks = k.user_index_rks(user.data, unique_external_id=unique_external_id)
        ops = [Op("create", entity, attribute="id"), *index_creates(pk, rks, user.id)]
        events = outgoing(
            self._io, directory, lambda: ev.user_created(user.id, user.data, values=event_values), 1, entity["RowKey"]
        )
        results = await self._io.transact("resources", ops, events)
        return seen_resource(self._seen, entity, str(results[0]["etag"]) if results[0] else "")

    async def get_user(self, directory: str, user_id: str) -> Resource | None:
        """One point read."""
        if not k.id_fits(user_id):
            return None
        found = await self._io.get("resources", k.user_pk(directory), k.id_rk(user_id))
        return seen_resource(self._seen, *found) if found else None

    async def get_users(self, directory: str, user_ids: list[str]) -> list[Resource]:
        """One point read per id, FAN_OUT in flight (never an ``or`` of RowKeys, which Azure serves as a scan)."""
        found = await bounded(lambda user_id: self.get_user(directory, user_id), user_ids)
        return [user for user in found if user is not None]

    async def _by_index(self, pk: str, rk: str, lookup: Lookup) -> list[Resource]:
        """Index entry, then the resource it names (2 reads); a stale entry yields nothing."""
        index = await self._io.get("resources", pk, rk)
        if index is None or not k.id_fits(str(index[0]["Id"])):
            return []
        found = await self._io.get("resources", pk, k.id_rk(str(index[0]["Id"])))
        resource = seen_resource(self._seen, *found) if found else None
        return [resource] if resource is not None and lookup_matches(resource, lookup) else []

    async def _user_candidates(self, directory: str, lookup: Lookup | None, sort: Sort | None) -> list[Resource]:
        """id: 1 read; userName/externalId: index + entity; otherwise one query page per 1,000 users."""
        pk = k.user_pk(directory)
        if lookup is not None and lookup.attribute == "id":
            found = await self.get_user(directory, lookup.value)
            return [found] if found is not None else []
        if lookup is not None and lookup.attribute == "userName":
            return await self._by_index(pk, k.user_name_rk(lookup.value), lookup)
        if lookup is not None and lookup.attribute == "externalId":
            return await self._by_index(pk, k.external_id_rk(lookup.value), lookup)
        if sort is not None:
            return await sorted_candidates(self._io, pk)
        rows = await self._io.range("resources", pk, k.ID_LOW, k.ID_HIGH)
        return [k.resource_from(e, etag) for e, etag in rows]

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
        """Candidates (see _user_candidates) passing lookup and match, ordered by id or ``sort``."""
        candidates = await self._user_candidates(directory, lookup, sort)
        hits = [u for u in candidates if (lookup is None or lookup_matches(u, lookup)) and (match is None or match(u))]
        return page_of(hits, start_index, count, sort)

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
        """Unsorted and unindexed: one range query continued by token, a round trip per page; else candidates."""
        if lookup is None and sort is None:
            return await walk_partition(self._io, k.user_pk(directory), match=match, count=count, after=after)
        candidates = [
            u
            for u in await self._user_candidates(directory, lookup, sort)
            if lookup is None or lookup_matches(u, lookup)
        ]
        return slice_after(candidates, match=match, sort=sort, after=after, count=count)

    async def replace_user(
        self,
        directory: str,
        user: Resource,
        *,
        expected_version: str | None,
        unique_external_id: bool = True,
        event_values: bool = False,
    ) -> Resource | None:
        """Conditional replace plus index moves in one transaction; created is kept from the stored user.

        With no expected_version the write is still conditional on the version read here, so a
        concurrent writer surfaces as VersionMismatch (the service retries) instead of being overwritten.
        """
        if not k.id_fits(user.id):
            return None
        pk, rk = k.user_pk(directory), k.id_rk(user.id)
        found = await read_current(self._io, self._seen, pk, rk, expected_version)
        if found is None:
            return None
        old, sequence = found.resource, found.sequence
        entity = k.resource_entity(pk, user, created=old.created) | {"Seq": sequence}
        ops = [Op("update", entity, etag=found.etag)]
        before = k.user_index_rks(old.data, unique_external_id=unique_external_id)
        ops += index_moves(pk, before, k.user_index_rks(user.data, unique_external_id=unique_external_id), user.id)
        events = outgoing(
            self._io,
            directory,
            lambda: ev.user_replaced(user.id, old.data, user.data, values=event_values),
            sequence,
            rk,
        )
        try:
            results = await self._io.transact("resources", ops, events)
        except Missing:
            self._seen.drop(pk, rk)
            return None
        return seen_resource(self._seen, entity, str(results[0]["etag"]) if results[0] else "")

    async def delete_user(self, directory: str, user_id: str, *, expected_version: str | None = None) -> bool:
        """User and index entries in one transaction, then its memberships through the reverse entries.

        A failure in between leaves memberships of a missing user, which a retried delete (it sweeps
        even when the user is gone) or check --repair removes.
        """
        if not k.id_fits(user_id):
            return False
        pk, rk = k.user_pk(directory), k.id_rk(user_id)
        deleted = await delete_with_index(
            self._io,
            pk,
            rk,
            k.user_index_rks,
            events=lambda found: outgoing(
                self._io,
                directory,
                lambda: ev.user_deleted(user_id, k.resource_from(found, "").data),
                next_sequence(found),
            ),
            expected_version=expected_version,
        )
        self._seen.drop(pk, rk)
        await sweep(self._io, k.group_pk(directory), *k.reverse_range(user_id))
        return deleted

    async def existing_user_ids(self, directory: str, ids: Iterable[str]) -> set[str]:
        """One point read per id, FAN_OUT in flight: flat in the directory's size, unlike an ``or`` of RowKeys."""
        wanted = sorted({i for i in ids if k.id_fits(i)})
        rows = await self._io.keyed_rows("resources", k.user_pk(directory), [k.id_rk(i) for i in wanted], ["Id"])
        return {str(e["Id"]) for e in rows}

    # Catalog, directories and clients (admin table) --------------------------------------------
    @staticmethod
    def _admin_key(value: str, what: str) -> str:
        key = k.enc(value)
        if not value or len(key) > k.MAX_ID_KEY:
            raise InvalidValue(f"The {what} is empty or too long to store.")
        return key

    async def _admin_rows(self, pk: str) -> list[Entity]:
        return [e for e, _ in await self._io.query("admin", "PartitionKey eq @pk", {"pk": pk})]

    async def list_roles(self, directory: str) -> list[Role]:
        """Roles ordered by value."""
        rows = await self._admin_rows(f"role|{k.enc(directory)}")
        roles = [Role(value=str(e["Value"]), display_name=str(e.get("DisplayName", ""))) for e in rows]
        return sorted(roles, key=lambda r: r.value)

    async def put_role(self, directory: str, role: Role) -> None:
        """Insert or replace a role."""
        pk, rk = f"role|{k.enc(directory)}", self._admin_key(role.value, "role value")
        await self._io.upsert(
            "admin", {"PartitionKey": pk, "RowKey": rk, "Value": role.value, "DisplayName": role.display_name}
        )

    async def delete_role(self, directory: str, value: str) -> bool:
        """Remove a role; False when absent."""
        if not value or len(k.enc(value)) > k.MAX_ID_KEY:
            return False
        return await self._io.delete("admin", f"role|{k.enc(directory)}", k.enc(value))

    @staticmethod
    def _directory(entity: Entity) -> Directory:
        # A directory stored before the setting existed kept externalId unique (its users have index entries).
        return Directory(
            id=str(entity["Id"]),
            name_policy=entity["NamePolicy"],
            role_mode=entity["RoleMode"],
            unique_external_id=bool(entity.get("UniqueExternalId", True)),
            event_values=bool(entity.get("EventValues", False)),
            event_format=entity.get("EventFormat", "v1"),
        )

    async def get_directory(self, directory: str) -> Directory | None:
        """The directory's settings or None."""
        if not directory or len(k.enc(directory)) > k.MAX_ID_KEY:
            return None
        found = await self._io.get("admin", "directory", k.enc(directory))
        return self._directory(found[0]) if found else None

    async def put_directory(self, directory: Directory) -> None:
        """Insert or replace a directory's settings."""
        rk = self._admin_key(directory.id, "directory id")
        entity = {"PartitionKey": "directory", "RowKey": rk, "Id": directory.id}
        entity |= {"NamePolicy": directory.name_policy, "RoleMode": directory.role_mode}
        flags: dict[str, object] = {"UniqueExternalId": directory.unique_external_id}
        flags |= {"EventValues": directory.event_values}
        flags |= {"EventFormat": directory.event_format}
        await self._io.upsert("admin", entity | flags)

    async def list_directories(self) -> list[Directory]:
        """Directories ordered by id."""
        return sorted((self._directory(e) for e in await self._admin_rows("directory")), key=lambda d: d.id)

    @staticmethod
    def _client(entity: Entity) -> Client:
        return Client(
            id=str(entity["Id"]),
            directory=str(entity["Directory"]),
            networks=list(json.loads(str(entity["Networks"]))),
            disabled=bool(entity["Disabled"]),
            created=str(entity.get("Created", "")),
            federation=Federation(**json.loads(str(entity["Federation"]))) if entity.get("Federation") else None,
            read_only=bool(entity.get("ReadOnly", False)),
            entra_issued_tenant=str(entity.get("EntraIssuedTenant", "")),
            auto_rotate_days=int(entity.get("AutoRotateDays", 0)),
        )

    async def get_client(self, client_id: str) -> Client | None:
        """The client or None."""
        if not client_id or len(k.enc(client_id)) > k.MAX_ID_KEY:
            return None
        found = await self._io.get("admin", "client", k.enc(client_id))
        return self._client(found[0]) if found else None

    async def put_client(self, client: Client) -> None:
        """Insert or replace a client (its secret lives in the secret store, never here)."""
        entity: Entity = {"PartitionKey": "client", "RowKey": self._admin_key(client.id, "client id"), "Id": client.id}
        entity |= {"Directory": client.directory, "Networks": json.dumps(client.networks)}
        if client.federation is not None:
            entity["Federation"] = json.dumps(dataclasses.asdict(client.federation))
        entity |= {"Disabled": client.disabled, "Created": client.created, "ReadOnly": client.read_only}
        if client.entra_issued_tenant:
            entity["EntraIssuedTenant"] = client.entra_issued_tenant
        if client.auto_rotate_days:
            entity["AutoRotateDays"] = client.auto_rotate_days
        await self._io.upsert("admin", entity)

    async def delete_client(self, client_id: str) -> bool:
        """Remove a client; False when absent."""
        if not client_id or len(k.enc(client_id)) > k.MAX_ID_KEY:
            return False
        return await self._io.delete("admin", "client", k.enc(client_id))

    async def list_clients(self) -> list[Client]:
        """Clients ordered by id."""
        return sorted((self._client(e) for e in await self._admin_rows("client")), key=lambda c: c.id)

    async def put_health(self, directory: str, instance: str, record: str) -> None:
        """Insert or replace one instance's health record of a directory, in the admin table."""
        pk, rk = f"health|{self._admin_key(directory, 'directory id')}", self._admin_key(instance, "instance id")
        await self._io.upsert("admin", {"PartitionKey": pk, "RowKey": rk, "Instance": instance, "Record": record})

    async def health_records(self, directory: str) -> dict[str, str]:
        """Every instance's health record of the directory, by instance: one range of the admin table."""
        rows = await self._admin_rows(f"health|{k.enc(directory)}")
        return {str(e["Instance"]): str(e["Record"]) for e in rows}

    async def delete_health(self, directory: str, instance: str) -> None:
        """Forget one instance's record."""
        await self._io.delete("admin", f"health|{k.enc(directory)}", k.enc(instance))
