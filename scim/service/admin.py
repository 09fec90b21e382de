"""What an admin does through scimctl: directories, the role and user-group catalogs, clients, users and tokens."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from scim.auth.clients import SECRET_LIFETIME, ClientRegistry, Registration
from scim.auth.tokens import DEFAULT_TTL, MAX_TTL, MIN_TTL, IssuedToken, KeyRing, TokenService
from scim.clock import now
from scim.errors import Conflict
from scim.model import Federation, role_values
from scim.protocol.changes import queue_name
from scim.service.common import new_id
from scim.service.names import broken_rule
from scim.store.base import Client, Directory, Lookup, NamePolicy, Page, Resource, Role, RoleMode, Store

Progress = Callable[[int, int], None]
MAX_LIST = 1000


class AdminError(Exception):
    """A refused admin action; the message says what to do instead."""


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: list[str]
    existing: list[str]
    refused: list[tuple[str, str]]  # (name, why)


def _check_catalog_name(kind: str, name: str) -> None:
    rule = broken_rule(name)
    if rule:
        raise AdminError(f"{kind} {name!r} is not a valid catalog name: {rule}. Entra names must match it exactly.")


def check_directory_id(directory: str) -> None:
    """AdminError unless ``directory`` is letters, digits and dashes (it is part of every storage key)."""
    if not directory or not directory.replace("-", "").isalnum():
        raise AdminError(f"A directory id is letters, digits and dashes, e.g. contoso-prod; got {directory!r}.")


def _count(items: list[str] | int, noun: str) -> str:
    n = items if isinstance(items, int) else len(items)
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _sample(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def csv_names(text: str) -> list[tuple[str, str]]:
    """(name, display name) rows from CSV: first column the name, optional second the display name.

    A first row whose first cell is ``name`` or ``value`` is a header; blank lines and ``#`` comments are skipped.
    """
    rows: list[tuple[str, str]] = []
    for i, row in enumerate(csv.reader(io.StringIO(text))):
        cells = [c.strip() for c in row]
        if not cells or not cells[0] or cells[0].startswith("#"):
            continue
        if i == 0 and cells[0].lower() in ("name", "value", "displayname"):
            continue
        rows.append((cells[0], cells[1] if len(cells) > 1 else ""))
    return rows


class AdminService:
    def __init__(
        self, store: Store, clients: ClientRegistry, tokens: TokenService, *, queue_prefix: str = "scim"
    ) -> None:
        self._store = store
        self._queue_prefix = queue_prefix  # the change feed's queue names (SCIM_TABLE_PREFIX)
        self._clients = clients
        self._tokens = tokens
        self.keys: KeyRing = tokens.keyring()

    # Directories ------------------------------------------------------------------------------
    async def ensure_directory(
        self,
        directory: str,
        *,
        policy: NamePolicy | None = None,
        role_mode: RoleMode | None = None,
        unique_external_id: bool | None = None,
        event_values: bool | None = None,
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
    ) -> Directory:
        """Change an existing directory's policies (create refuses nothing; this refuses a typo'd id)."""
        await self._require_directory(directory)
        return await self.ensure_directory(
            directory,
            policy=policy,
            role_mode=role_mode,
            unique_external_id=unique_external_id,
            event_values=event_values,
        )

    async def _require_directory(self, directory: str) -> Directory:
        found = await self._store.get_directory(directory)
        if found is None:
            raise AdminError(f"Directory {directory!r} does not exist; create it with `scimctl directory create`.")
        return found

    # Catalog ----------------------------------------------------------------------------------
    async def add_role(self, directory: str, value: str, display_name: str = "") -> Role:
        await self._require_directory(directory)
        _check_catalog_name("Role", value)
        role = Role(value, display_name or value)
        await self._store.put_role(directory, role)
        return role

    async def list_roles(self, directory: str) -> list[Role]:
        await self._require_directory(directory)
        return await self._store.list_roles(directory)

    async def remove_role(self, directory: str, value: str, *, force: bool = False) -> list[str]:
        """Remove a role; refused while users hold it unless ``force``. Returns the holders' userNames."""
        await self._require_directory(directory)
        if value not in {r.value for r in await self._store.list_roles(directory)}:
            raise AdminError(f"Role {value!r} does not exist in {directory!r}.")
        holders = [str(u.data.get("userName")) for u in await self.users_with_role(directory, value)]
        if holders and not force:
            raise AdminError(
                f"Role {value!r} is held by {_count(holders, 'user')} ({_sample(holders)}). Removing it leaves it on"
                " them until Entra next replaces their roles, and Entra can no longer assign it: new assignments"
                " are refused with 400 invalidValue. Re-run with --force to remove it anyway."
            )
        await self._store.delete_role(directory, value)
        return holders

    async def users_with_role(self, directory: str, value: str) -> list[Resource]:
        """Every user holding ``value`` (a scan: an admin question, never on the request path)."""
        found: list[Resource] = []
        start = 1
        while True:
            page = await self._store.query_users(directory, lookup=None, match=None, start_index=start, count=MAX_LIST)
            found += [u for u in page.resources if value in role_values(u.data)]
            start += len(page.resources)
            if not page.resources or start > page.total:
                return found

    async def group_names_by_member(self, directory: str) -> dict[str, list[str]]:
        """user id -> the catalog groups it belongs to (one scan of the groups with their members)."""
        page = await self._store.query_groups(
            directory, lookup=None, match=None, start_index=1, count=10**9, with_members=True
        )
        names: dict[str, list[str]] = {}
        for group in page.resources:
            for member in group.members or []:
                names.setdefault(member, []).append(str(group.data.get("displayName")))
        return names

    async def add_group(self, directory: str, name: str) -> Resource:
        """Add a user group to the catalog; Entra groups link to it by displayName."""
        found = await self._require_directory(directory)
        _check_catalog_name("User group", name)
        stamp = now()
        try:
            return await self._store.create_group(
                directory,
                Resource(new_id(), {"displayName": name}, stamp, stamp),
                [],
                event_values=found.event_values,
            )
        except Conflict:
            raise AdminError(
                f"User group {name!r} already exists in {directory!r}, or one whose name differs from it only in case,"
                " accents or spaces (`scimctl group list` shows them)."
            ) from None

    async def list_groups(self, directory: str) -> list[Resource]:
        await self._require_directory(directory)
        page = await self._store.query_groups(
            directory, lookup=None, match=None, start_index=1, count=10**9, with_members=False
        )
        return page.resources

    async def remove_group(self, directory: str, name: str, *, force: bool = False) -> int | None:
        """Remove a user group; refused while it has members unless ``force``. None when it does not exist,
        else the number of memberships removed with it."""
        for group in await self.list_groups(directory):
            if group.data.get("displayName") == name:
                full = await self._store.get_group(directory, group.id, with_members=True)
                members = len(full.members or []) if full else 0
                if members and not force:
                    raise AdminError(
                        f"User group {name!r} has {_count(members, 'member')} and Entra refers to it by its id"
                        f" {group.id}. Removing it deletes those memberships, and Entra's next update of the group"
                        " gets 404 (its provisioning log shows the failure) until the name is added again and"
                        " Entra links to the new group. Re-run with --force to remove it anyway."
                    )
                await self._store.delete_group(directory, group.id)
                return members
        return None

    async def import_catalog(
        self, directory: str, kind: str, rows: Iterable[tuple[str, str]], progress: Progress | None = None
    ) -> ImportResult:
        """Add roles or user groups from (name, display name) rows; existing ones are kept, bad names reported."""
        rows = list(rows)
        await self._require_directory(directory)
        if kind == "role":
            have = {r.value for r in await self.list_roles(directory)}
        else:
            have = {str(g.data.get("displayName")) for g in await self.list_groups(directory)}
        added: list[str] = []
        existing: list[str] = []
        refused: list[tuple[str, str]] = []
        for done, (name, display) in enumerate(rows, 1):
            try:
                if name in have:
                    existing.append(name)
                elif kind == "role":
                    await self.add_role(directory, name, display)
                    added.append(name)
                else:
                    await self.add_group(directory, name)
                    added.append(name)
                have.add(name)
            except AdminError as exc:
                refused.append((name, str(exc)))
            if progress is not None:
                progress(done, len(rows))
        return ImportResult(added, existing, refused)

    # Users ------------------------------------------------------------------------------------
    async def list_users(self, directory: str, *, start_index: int = 1, count: int = 100) -> Page:
        await self._require_directory(directory)
        return await self._store.query_users(
            directory, lookup=None, match=None, start_index=start_index, count=min(count, MAX_LIST)
        )

    async def find_user(self, directory: str, key: str) -> Resource:
        """A user by id, or else by userName (case-insensitive, as SCIM compares it)."""
        await self._require_directory(directory)
        user = await self._store.get_user(directory, key)
        if user is None:
            page = await self._store.query_users(
                directory, lookup=Lookup("userName", key), match=None, start_index=1, count=1
            )
            user = page.resources[0] if page.resources else None
        if user is None:
            raise AdminError(f"No user with id or userName {key!r} in {directory!r}.")
        return user

    # Clients ----------------------------------------------------------------------------------
    async def create_client(
        self,
        directory: str,
        networks: list[str],
        *,
        client_id: str | None = None,
        secret: str | None = None,
        secret_days: int | None = None,
        federation: Federation | None = None,
        read_only: bool = False,
        entra_issued_tenant: str = "",
    ) -> Registration:
        await self._require_directory(directory)
        await self._tokens.ensure_signing_key()  # a first client on a fresh store can get tokens at once
        # secret_days=0 means a secret that never expires (not recommended: Entra's gallery guidance is 1-3 years).
        lifetime = SECRET_LIFETIME if secret_days is None else (timedelta(days=secret_days) if secret_days else None)
        try:
            return await self._clients.register(
                directory,
                networks,
                client_id=client_id,
                secret=secret,
                secret_lifetime=lifetime,
                federation=federation,
                read_only=read_only,
                entra_issued_tenant=entra_issued_tenant,
            )
        except ValueError as exc:
            raise AdminError(str(exc)) from None

    async def client(self, client_id: str) -> Client:
        try:
            return await self._clients.require(client_id)
        except ValueError as exc:
            raise AdminError(str(exc)) from None

    async def rotate_secret(self, client_id: str, *, expire_old_in_days: float) -> Registration:
        if expire_old_in_days < 0:
            raise AdminError("--expire-old-in-days cannot be negative.")
        try:
            return await self._clients.rotate_secret(client_id, expire_old_in=timedelta(days=expire_old_in_days))
        except ValueError as exc:
            raise AdminError(str(exc)) from None

    async def add_secret(self, client_id: str) -> tuple[str, str]:
        """A new client secret beside the old ones (rotation): (secret, version)."""
        try:
            return await self._clients.add_secret(client_id)
        except ValueError as exc:
            raise AdminError(str(exc)) from None

    async def retire_secrets(self, client_id: str, *, keep: str, after: timedelta) -> int:
        return await self._clients.retire_secrets(client_id, keep=keep, after=after)

    async def drop_secret(self, client_id: str, version: str) -> None:
        await self._clients.drop_secret(client_id, version)

    async def update_client(
        self,
        client_id: str,
        *,
        networks: list[str] | None = None,
        disabled: bool | None = None,
        auto_rotate_days: int | None = None,
    ) -> Client:
        try:
            return await self._clients.update(
                client_id, networks=networks, disabled=disabled, auto_rotate_days=auto_rotate_days
            )
        except ValueError as exc:
            raise AdminError(str(exc)) from None

    async def delete_client(self, client_id: str) -> None:
        if not await self._clients.delete(client_id):
            raise AdminError(f"Client {client_id!r} does not exist.")

    # Tokens -----------------------------------------------------------------------------------
    async def issue_token(self, client_id: str, *, ttl: int = DEFAULT_TTL, long_lived: bool = False) -> IssuedToken:
        """A token for a client, issued by the admin directly (the step the senhasegura guide does with Postman)."""
        client = await self.client(client_id)
        if client.disabled:
            raise AdminError(f"Client {client_id!r} is disabled; `scimctl client enable` it first.")
        if long_lived:
            return await self._tokens.issue_long_lived(client.id, client.directory, read_only=client.read_only)
        if not MIN_TTL <= ttl <= MAX_TTL:
            raise AdminError(f"--ttl must be between {MIN_TTL // 60} and {MAX_TTL // 60} minutes.")
        await self._tokens.ensure_signing_key()
        token, expires_in = await self._tokens.issue(client.id, client.directory, ttl=ttl, read_only=client.read_only)
        return IssuedToken(token, expires_in, "")

    async def revoke_token(self, client_id: str, token_id: str) -> None:
        await self.client(client_id)
        live = {v.version for v in await self.keys.long_lived(client_id)}
        if token_id not in live or not await self.keys.revoke(client_id, token_id):
            raise AdminError(f"Client {client_id!r} has no long-lived token {token_id!r}; see `scimctl token list`.")
