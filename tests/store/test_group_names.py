"""Group names resolve by the folded-name index on both stores, existing Table directories get that index from
check --repair, and a large group's DELETE answers within Entra's deadline (README "Memberships at scale")."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from azure.functions.timer import TimerRequest

from scim.app import App, build_app, install_app
from scim.config import load_settings
from scim.dev.azurite import Azurite
from scim.dev.localrun import load_function_app, seed
from scim.errors import Conflict, Unfinished
from scim.model import MemberChange, Resource
from scim.secrets import MemorySecretStore
from scim.service import groups as group_service
from scim.store import _codec as k
from scim.store.base import Store
from scim.store.check import check_directory
from scim.store.tables import TableStore
from tests.support.app import BASE, CLIENT_ID, CLIENT_SECRET, Client, make_app
from tests.support.store import table_prefix

D = "contoso"


def group(gid: str, name: str) -> Resource:
    return Resource(gid, {"displayName": name}, "c", "m")


async def test_a_name_finds_its_group_ignoring_case_accents_and_spaces(store: Store) -> None:
    await store.create_group(D, group("g1", "FinanceiroOperacoes"), [])
    for spelling in ("FinanceiroOperacoes", "Financeiro Operações", "financeiro  OPERACOES"):
        found = await store.group_by_folded_name(D, spelling)
        assert found is not None and found.id == "g1" and found.members is None, spelling
    assert await store.group_by_folded_name(D, "Financeiro") is None
    assert await store.group_by_folded_name("other", "FinanceiroOperacoes") is None


async def test_no_two_groups_share_a_folded_name(store: Store) -> None:
    await store.create_group(D, group("g1", "FinanceTeam"), [])
    with pytest.raises(Conflict):
        await store.create_group(D, group("g2", "Finance Téam"), [])
    await store.create_group(D, group("g3", "Sales"), [])
    with pytest.raises(Conflict):
        await store.update_group(
            D,
            "g3",
            data={"displayName": "finance team"},
            last_modified="m",
            members=MemberChange(),
            expected_version=None,
        )
    renamed = await store.update_group(
        D, "g3", data={"displayName": "Sales Team"}, last_modified="m", members=MemberChange(), expected_version=None
    )
    assert renamed is not None
    assert await store.group_by_folded_name(D, "Sales") is None, "a rename moves the folded entry"
    assert (await store.group_by_folded_name(D, "salesteam")).id == "g3"  # type: ignore[union-attr]
    assert await store.delete_group(D, "g1") is True
    assert await store.group_by_folded_name(D, "FinanceTeam") is None
    await store.create_group(D, group("g2", "Finance Téam"), [])  # the name is free again


@pytest.mark.azurite
async def test_check_repair_gives_an_existing_directory_its_folded_name_index(azurite: Azurite) -> None:
    store = TableStore.from_connection_string(azurite.connection_string, table_prefix())
    try:
        await store.create_group(D, group("g1", "FinanceTeam"), [])
        # A directory written before the index existed: the group and its displayName entry only.
        assert await store._io.delete("resources", k.group_pk(D), k.folded_name_rk("FinanceTeam"))
        assert await store.group_by_folded_name(D, "Finance Team") is None
        report = await check_directory(store, D, repair=False)
        assert report.issues == ["group g1 has no folded displayName index entry"]
        repaired = await check_directory(store, D, repair=True)
        assert repaired.repaired == 1
        assert (await store.group_by_folded_name(D, "Finance Team")).id == "g1"  # type: ignore[union-attr]
        assert (await check_directory(store, D, repair=False)).consistent
    finally:
        await store.close()


@pytest.fixture
async def tables(azurite: Azurite) -> AsyncIterator[TableStore]:
    store = TableStore.from_connection_string(azurite.connection_string, table_prefix())
    yield store
    await store.close()


async def members_left(store: TableStore, gid: str) -> int:
    low, high = k.members_range(gid)
    return len(await store._io.range("resources", k.group_pk(D), low, high))


@pytest.mark.azurite
async def test_a_delete_out_of_time_is_finished_by_repeating_it(tables: TableStore) -> None:
    members = [f"m{n:05}" for n in range(1_200)]  # two query pages
    await tables.create_group(D, group("big", "Big"), members)
    with pytest.raises(Unfinished):
        await tables.delete_group(D, "big", budget=0)
    assert await tables.get_group(D, "big", with_members=False) is None, "gone for readers at once"
    assert await tables.group_by_folded_name(D, "Big") is None
    assert await members_left(tables, "big") == 1_200
    assert await tables.delete_group(D, "big") is True, "the repeat finishes the delete and says so"
    assert await members_left(tables, "big") == 0
    assert await tables.delete_group(D, "big") is False, "once finished, the group is simply gone"
    assert (await check_directory(tables, D, repair=False)).consistent


@pytest.mark.azurite
async def test_check_repair_finishes_what_a_stopped_delete_left(tables: TableStore) -> None:
    await tables.create_group(D, group("big", "Big"), [f"m{n:05}" for n in range(120)])
    with pytest.raises(Unfinished):
        await tables.delete_group(D, "big", budget=0)
    report = await check_directory(tables, D, repair=True)
    assert "the delete of group big did not finish removing its memberships" in report.issues
    assert await members_left(tables, "big") == 0
    assert (await check_directory(tables, D, repair=False)).consistent


@pytest.fixture
async def app_on_tables(azurite: Azurite) -> AsyncIterator[tuple[App, TableStore]]:
    """An installed App under policy `create` on a Table store of its own."""
    store = TableStore.from_connection_string(azurite.connection_string, table_prefix())
    settings = load_settings({"SCIM_STORE": "memory", "SCIM_PUBLIC_BASE_URL": BASE})
    app = build_app(settings, store=store, secret_store=MemorySecretStore())
    await seed(app, CLIENT_ID, CLIENT_SECRET, "create")
    install_app(app)
    try:
        yield app, store
    finally:
        install_app(None)
        await app.close()


@pytest.mark.azurite
async def test_delete_over_http_answers_503_with_retry_after_then_204(
    app_on_tables: tuple[App, TableStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, store = app_on_tables
    token, _ = await app.tokens.issue(CLIENT_ID, "dev", ttl=3600)
    client = Client(token)
    await store.create_group("dev", group("big", "Big"), [f"m{n:05}" for n in range(1_100)])
    monkeypatch.setattr(group_service, "DELETE_BUDGET_SECONDS", 0.0)  # as if the sweep had taken too long
    first = await client.delete("/scim/v2/Groups/big")
    assert first.status == 503
    assert first.headers["Retry-After"] == str(group_service.DELETE_RETRY_AFTER)
    assert "repeat the DELETE" in first.json["detail"]
    assert (await client.get("/scim/v2/Groups/big")).status == 404, "the group is gone from the first answer"
    monkeypatch.setattr(group_service, "DELETE_BUDGET_SECONDS", 30.0)
    assert (await client.delete("/scim/v2/Groups/big")).status == 204
    assert (await client.delete("/scim/v2/Groups/big")).status == 404


async def test_entra_cannot_create_or_rename_onto_a_taken_folded_name() -> None:
    app = await make_app("create")
    install_app(app)
    try:
        token, _ = await app.tokens.issue(CLIENT_ID, "dev", ttl=3600)
        client = Client(token)
        schemas = ["urn:ietf:params:scim:schemas:core:2.0:Group"]
        assert (await client.post("/scim/v2/Groups", {"schemas": schemas, "displayName": "FinanceTeam"})).status == 201
        again = await client.post("/scim/v2/Groups", {"schemas": schemas, "displayName": "Finance Téam"})
        assert again.status == 409 and "'FinanceTeam' already exists" in again.json["detail"]
        sales = (await client.post("/scim/v2/Groups", {"schemas": schemas, "displayName": "Sales"})).json["id"]
        rename = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "displayName", "value": "finance team"}],
        }
        renamed = await client.patch(f"/scim/v2/Groups/{sales}", rename)
        assert renamed.status == 409 and "ignoring case, accents and spaces" in renamed.json["detail"]
    finally:
        install_app(None)
        await app.close()


@pytest.mark.azurite
async def test_the_timer_trigger_finishes_a_stopped_delete(app_on_tables: tuple[App, TableStore]) -> None:
    _, store = app_on_tables
    await store.create_group("dev", group("big", "Big"), [f"m{n:05}" for n in range(1_100)])
    with pytest.raises(Unfinished):
        await store.delete_group("dev", "big", budget=0)
    [timer] = [f for f in load_function_app().app.get_functions() if f.get_function_name() == "group_delete_sweep"]
    await timer.get_user_function()(TimerRequest())
    low, high = k.members_range("big")
    assert await store._io.range("resources", k.group_pk("dev"), low, high) == []
    assert await store.delete_group("dev", "big") is False, "finished: the mark is gone too"
    assert (await check_directory(store, "dev", repair=False)).consistent
