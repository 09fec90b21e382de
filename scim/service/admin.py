"""What an admin does through scimctl: directories, the role and user-group catalogs, clients and tokens."""

from __future__ import annotations

from scim.auth.clients import ClientRegistry, Registration
from scim.auth.tokens import LONG_LIVED_TTL, TokenService
from scim.errors import Conflict
from scim.service.common import new_id, now
from scim.service.names import broken_rule
from scim.store.base import Directory, NamePolicy, Resource, Role, RoleMode, Store


class AdminError(Exception):
    """A refused admin action; the message says what to do instead."""


def _check_catalog_name(kind: str, name: str) -> None:
    rule = broken_rule(name)
    if rule:
        raise AdminError(f"{kind} {name!r} is not a valid catalog name: {rule}. Entra names must match it exactly.")


class AdminService:
    def __init__(self, store: Store, clients: ClientRegistry, tokens: TokenService) -> None:
        self._store = store
        self._clients = clients
        self._tokens = tokens

    async def ensure_directory(
        self, directory: str, *, policy: NamePolicy | None = None, role_mode: RoleMode | None = None
    ) -> Directory:
        """Create the directory, or change its policies when given."""
        if not directory or not directory.replace("-", "").isalnum():
            raise AdminError("A directory id is letters, digits and dashes, e.g. contoso-prod.")
        current = await self._store.get_directory(directory) or Directory(directory)
        updated = Directory(directory, policy or current.name_policy, role_mode or current.role_mode)
        await self._store.put_directory(updated)
        return updated

    async def _require_directory(self, directory: str) -> Directory:
        found = await self._store.get_directory(directory)
        if found is None:
            raise AdminError(f"Directory {directory!r} does not exist; create it with `scimctl directory create`.")
        return found

    async def add_role(self, directory: str, value: str, display_name: str = "") -> Role:
        await self._require_directory(directory)
        _check_catalog_name("Role", value)
        role = Role(value, display_name or value)
        await self._store.put_role(directory, role)
        return role

    async def add_group(self, directory: str, name: str) -> Resource:
        """Add a user group to the catalog; Entra groups link to it by displayName."""
        await self._require_directory(directory)
        _check_catalog_name("User group", name)
        stamp = now()
        try:
            return await self._store.create_group(
                directory, Resource(new_id(), {"displayName": name}, stamp, stamp), []
            )
        except Conflict:
            raise AdminError(f"User group {name!r} already exists in {directory!r}.") from None

    async def remove_group(self, directory: str, name: str) -> bool:
        page = await self._store.query_groups(
            directory, lookup=None, match=None, start_index=1, count=10**9, with_members=False
        )
        for group in page.resources:
            if group.data.get("displayName") == name:
                return await self._store.delete_group(directory, group.id)
        return False

    async def create_client(
        self, directory: str, networks: list[str], *, client_id: str | None = None, secret: str | None = None
    ) -> Registration:
        await self._require_directory(directory)
        try:
            return await self._clients.register(directory, networks, client_id=client_id, secret=secret)
        except ValueError as exc:
            raise AdminError(str(exc)) from None

    async def issue_token(self, client_id: str, *, ttl: int, long_lived: bool) -> tuple[str, int]:
        """A token for a client, issued by the admin directly (the step the senhasegura guide does with Postman)."""
        client = await self._store.get_client(client_id)
        if client is None or client.disabled:
            raise AdminError(f"Client {client_id!r} does not exist or is disabled.")
        await self._tokens.ensure_signing_key()
        return await self._tokens.issue(
            client.id, client.directory, ttl=LONG_LIVED_TTL if long_lived else ttl, long_lived=long_lived
        )
