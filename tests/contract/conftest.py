"""Contract fixtures: apps under other name policies and role modes, and a spy on the store's member reads."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from scim.app import App, install_app
from scim.protocol.schema import USER_SCHEMA
from scim.service.admin import AdminService
from tests.contract.entra import CATALOG, USERS, create_plain_user
from tests.support.app import CLIENT_ID, Client, make_app
from tests.support.contract import AppFactory, MemberReads


@pytest.fixture
async def make_client() -> AsyncIterator[AppFactory]:
    """Build an App with the given policy and role mode, catalog roles and groups, and a client for it."""
    made: list[App] = []

    async def factory(
        policy: str = "strict", role_mode: str = "single", *, roles: tuple[str, ...] = (), groups: tuple[str, ...] = ()
    ) -> tuple[App, Client]:
        app = await make_app(policy, role_mode)
        admin = AdminService(app.store, app.clients, app.tokens)
        for role in roles:
            await admin.add_role("dev", role)
        for group in groups:
            await admin.add_group("dev", group)
        install_app(app)
        made.append(app)
        token, _ = await app.tokens.issue(CLIENT_ID, "dev", ttl=3600)
        return app, Client(token)

    yield factory
    install_app(None)
    for app in made:
        await app.close()


@pytest.fixture
async def admin(app: App) -> AdminService:
    return AdminService(app.store, app.clients, app.tokens)


@pytest.fixture
def member_reads(app: App) -> MemberReads:
    return MemberReads(app)


@pytest.fixture
async def finance(client: Client, admin: AdminService) -> str:
    """The catalog group FinanceTeam (and HumanResources beside it); its id."""
    group = await admin.add_group("dev", CATALOG)
    await admin.add_group("dev", "HumanResources")
    return group.id


@pytest.fixture
async def users(client: Client) -> dict[str, str]:
    return {f"u{i}": await create_plain_user(client, f"member{i}@contoso.com") for i in range(1, 5)}


@pytest.fixture
async def target(client: Client, admin: AdminService) -> dict[str, str]:
    """A user and a catalog group to aim PUT/PATCH at."""
    reply = await client.post(USERS, {"schemas": [USER_SCHEMA], "userName": "target@contoso.com"})
    group = await admin.add_group("dev", "FinanceTeam")
    return {"user": reply.json["id"], "group": group.id}
