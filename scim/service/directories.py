"""What an admin does to directories through scimctl: create them, set their policies, read their users."""

from __future__ import annotations

from scim.model import Directory, EventFormat, Lookup, NamePolicy, Page, Resource, RoleMode
from scim.protocol.changes import queue_name
from scim.store.base import Store

# The most users one admin listing returns, and the page size of admin scans.
MAX_LIST = 1000


class AdminError(Exception):
    """A refused admin action; the message says what to do instead."""


def check_directory_id(directory: str) -> None:
    """AdminError unless ``directory`` is letters, digits and dashes (it is part of every storage key)."""
    if not directory or not directory.replace("-", "").isalnum():
        raise AdminError(f"A directory id is letters, digits and dashes, e.g. contoso-prod; got {directory!r}.")


class DirectoryAdmin:
    """Directories and the users in them, as an admin sees them (never on the request path)."""

    def __init__(self, store: Store, *, queue_prefix: str = "scim") -> None:
        self._store = store
        self._queue_prefix = queue_prefix  # the change feed's queue names (SCIM_TABLE_PREFIX)

    async def ensure_directory(
        self,
        directory: str,
        *,
        policy: NamePolicy | None = None,
        role_mode: RoleMode | None = None,
        unique_external_id: bool | None = None,
        event_values: bool | None = None,
        event_format: EventFormat | None = None,
    ) -> Directory:
        """Create the directory, or change its policies when given."""
        check_directory_id(directory)
        found = await self._store.get_directory(directory)
        if found is None:
            await self.check_queue_name(directory)
        current = found or Directory(directory)
        unique = current.unique_external_id if unique_external_id is None else unique_external_id
        if found is not None and unique != current.unique_external_id:
            users = await self._store.query_users(directory, lookup=None, match=None, start_index=1, count=0)
            if users.total:
                # Existing users were written with (or without) externalId index entries; switching now would
                # leave them unmatched by the new rule.
                raise AdminError(
                    f"Directory {directory!r} already has {users.total} users; externalId uniqueness is chosen"
                    " before the first user arrives."
                )
        values = current.event_values if event_values is None else event_values
        updated = Directory(
            directory,
            policy or current.name_policy,
            role_mode or current.role_mode,
            unique_external_id=unique,
            event_values=values,
            event_format=event_format or current.event_format,
        )
        await self._store.put_directory(updated)
        return updated

    async def check_queue_name(self, directory: str) -> None:
        """A new directory's change-feed queue must be its own: a consumer of one queue reads one directory."""
        name = queue_name(self._queue_prefix, directory)
        for other in await self._store.list_directories():
            if queue_name(self._queue_prefix, other.id) == name:
                raise AdminError(
                    f"Directory {directory!r} would publish its changes to queue {name}, which directory {other.id!r}"
                    " already uses; choose another id."
                )

    async def set_policy(
        self,
        directory: str,
        *,
        policy: NamePolicy | None,
        role_mode: RoleMode | None,
        unique_external_id: bool | None = None,
        event_values: bool | None = None,
        event_format: EventFormat | None = None,
    ) -> Directory:
        """Change an existing directory's policies (create refuses nothing; this refuses a typo'd id)."""
        await self.require_directory(directory)
        return await self.ensure_directory(
            directory,
            policy=policy,
            role_mode=role_mode,
            unique_external_id=unique_external_id,
            event_values=event_values,
            event_format=event_format,
        )

    async def require_directory(self, directory: str) -> Directory:
        """The directory, or AdminError naming the command that creates it."""
        found = await self._store.get_directory(directory)
        if found is None:
            raise AdminError(f"Directory {directory!r} does not exist; create it with `scimctl directory create`.")
        return found

    async def list_users(self, directory: str, *, start_index: int = 1, count: int = 100) -> Page:
        await self.require_directory(directory)
        return await self._store.query_users(
            directory, lookup=None, match=None, start_index=start_index, count=min(count, MAX_LIST)
        )

    async def find_user(self, directory: str, key: str) -> Resource:
        """A user by id, or else by userName (case-insensitive, as SCIM compares it)."""
        await self.require_directory(directory)
        user = await self._store.get_user(directory, key)
        if user is None:
            page = await self._store.query_users(
                directory, lookup=Lookup("userName", key), match=None, start_index=1, count=1
            )
            user = page.resources[0] if page.resources else None
        if user is None:
            raise AdminError(f"No user with id or userName {key!r} in {directory!r}.")
        return user
