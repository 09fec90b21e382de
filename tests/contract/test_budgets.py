"""CPU budgets (README "Hostile input"): each is answered with a 400 whose detail names the limit, and none refuses
what Entra sends (docs/reference/entra-wire.md §1.1, §1.5, §1.6): its filters, excludedAttributes=members, and
several members per operation.
"""

from __future__ import annotations

from typing import Any

import pytest

from scim.app import App
from scim.model import Resource
from scim.protocol.filter_ast import MAX_CLAUSES
from scim.protocol.patch import MAX_MEMBER_CHANGES, MAX_OPERATIONS
from scim.protocol.patch_values import MAX_MEMBER_VALUES, MAX_VALUES
from scim.protocol.render import MAX_PROJECTION_PATHS
from scim.protocol.schema import GROUP_SCHEMA, USER_SCHEMA
from scim.service.groups import MAX_GROUPS_WITH_MEMBERS, MAX_LISTED_MEMBERS
from scim.service.query import MAX_FILTER_WORK
from tests.contract.entra import GROUPS, USERS, assert_error, assert_list, filter_url, op, patch, stored_group
from tests.support.app import Client


async def test_a_filter_past_the_clause_budget_is_invalid_filter(client: Client) -> None:
    text = " or ".join(["userName pr"] * (MAX_CLAUSES + 1))
    assert_error(await client.get(filter_url(USERS, text)), 400, "invalidFilter", f"at most {MAX_CLAUSES}")
    members = " or ".join(['members[value eq "x"]'] * (MAX_CLAUSES + 1))
    assert_error(await client.get(filter_url(GROUPS, members)), 400, "invalidFilter", f"at most {MAX_CLAUSES}")
    assert (await client.get(filter_url(USERS, " or ".join(["userName pr"] * MAX_CLAUSES)))).status == 200


@pytest.mark.parametrize("parameter", ["attributes", "excludedAttributes"])
async def test_projection_past_the_path_budget_is_invalid_value(client: Client, parameter: str) -> None:
    paths = ",".join(f"name.givenName{i}" for i in range(8000))
    reply = await client.get(f"{USERS}?{parameter}={paths}")
    assert_error(reply, 400, "invalidValue", f"at most {MAX_PROJECTION_PATHS} paths")
    at_limit = ",".join(["name.givenName"] * MAX_PROJECTION_PATHS)
    assert (await client.get(f"{USERS}?{parameter}={at_limit}")).status == 200


async def test_patch_operations_past_the_budget_are_too_many(client: Client) -> None:
    created = await client.post(USERS, {"schemas": [USER_SCHEMA], "userName": "ops@x"})
    body = patch(*[op("replace", "title", "x")] * (MAX_OPERATIONS + 1))
    assert_error(await client.patch(f"{USERS}/{created.json['id']}", body), 400, "tooMany", str(MAX_OPERATIONS))


async def test_values_per_operation_past_the_budget_are_invalid_value(client: Client) -> None:
    created = await client.post(USERS, {"schemas": [USER_SCHEMA], "userName": "many@x"})
    emails = [{"value": f"e{i}@x"} for i in range(MAX_VALUES + 1)]
    reply = await client.patch(f"{USERS}/{created.json['id']}", patch(op("add", "emails", emails)))
    assert_error(reply, 400, "invalidValue", f"at most {MAX_VALUES} values")


async def test_removing_more_members_than_the_budget_is_too_many_and_changes_nothing(
    client: Client, app: App, admin: Any
) -> None:
    """A PATCH removing 100,000 made-up members was accepted (and fanned out on Tables)."""
    group = await admin.add_group("dev", "FinanceTeam")
    before = await stored_group(app, group.id)
    made_up = [{"value": f"nobody-{i}"} for i in range(MAX_MEMBER_CHANGES + 1)]
    reply = await client.patch(f"{GROUPS}/{group.id}", patch(op("remove", "members", made_up)))
    assert_error(reply, 400, "invalidValue", f"at most {MAX_MEMBER_VALUES} values per operation")
    spread = [op("Remove", "members", made_up[i : i + 5000]) for i in range(0, len(made_up), 5000)]
    assert_error(await client.patch(f"{GROUPS}/{group.id}", patch(*spread)), 400, "tooMany", "Operations[2]")
    assert (await stored_group(app, group.id)).version == before.version


async def test_entra_member_patches_within_the_budget_pass(client: Client, app: App, admin: Any) -> None:
    group = await admin.add_group("dev", "FinanceTeam")
    ids = [(await client.post(USERS, {"userName": f"m{i}@x"})).json["id"] for i in range(30)]
    add = patch(op("Add", "members", [{"$ref": None, "value": i} for i in ids]))
    assert (await client.patch(f"{GROUPS}/{group.id}", add)).status == 204
    removals = patch(*[op("remove", f'members[value eq "{i}"]') for i in ids[:20]])
    assert (await client.patch(f"{GROUPS}/{group.id}", removals)).status == 204
    assert set((await stored_group(app, group.id)).members or []) == set(ids[20:])
    probe = f"{GROUPS}?excludedAttributes=members&filter=displayName%20eq%20%22FinanceTeam%22"
    [found] = assert_list(await client.get(probe), 1)
    assert "members" not in found


async def _groups_with_members(app: App, groups: int, size: int) -> list[str]:
    users = []
    for i in range(groups * size):
        user = Resource(id=f"u{i:06d}", data={"userName": f"u{i}@x"}, created="", last_modified="")
        users.append((await app.store.create_user("dev", user)).id)
    ids = []
    for g in range(groups):
        group = Resource(id=f"g{g:03d}", data={"displayName": f"Group{g}"}, created="", last_modified="")
        await app.store.create_group("dev", group, users[g * size : (g + 1) * size])
        ids.append(group.id)
    return ids


async def test_a_group_listing_with_members_is_paged_within_the_member_budget(client: Client, app: App) -> None:
    """GET /Groups?count=1000 rendered every member of every group (2.2 MB for 10 groups of 1,500)."""
    size = MAX_LISTED_MEMBERS // 2 + 1
    ids = await _groups_with_members(app, 3, size)
    seen: list[str] = []
    start = 1
    while start <= len(ids):
        reply = await client.get(f"{GROUPS}?count=1000&startIndex={start}")
        assert reply.status == 200, reply.body
        doc = reply.json
        assert doc["totalResults"] == 3
        assert sum(len(g.get("members", [])) for g in doc["Resources"]) <= max(MAX_LISTED_MEMBERS, size)
        assert doc["itemsPerPage"] == len(doc["Resources"]) == 1
        seen += [g["id"] for g in doc["Resources"]]
        start += doc["itemsPerPage"]
    assert seen == ids
    without = await client.get(f"{GROUPS}?count=1000&excludedAttributes=members")
    assert len(assert_list(without, 3)) == 3


async def test_a_group_listing_with_members_holds_a_bounded_number_of_groups(client: Client, app: App) -> None:
    await _groups_with_members(app, MAX_GROUPS_WITH_MEMBERS + 5, 1)
    doc = (await client.get(f"{GROUPS}?count=1000")).json
    assert doc["totalResults"] == MAX_GROUPS_WITH_MEMBERS + 5
    assert doc["itemsPerPage"] == MAX_GROUPS_WITH_MEMBERS
    assert (await client.get(f"{GROUPS}?count=1000&attributes=displayName")).json["itemsPerPage"] == (
        MAX_GROUPS_WITH_MEMBERS + 5
    )


async def test_a_post_of_a_group_with_a_lone_surrogate_member_is_refused(client: Client) -> None:
    raw = b'{"schemas":["' + GROUP_SCHEMA.encode() + b'"],"displayName":"G","members":[{"value":"\\ud800"}]}'
    assert_error(await client.post(GROUPS, raw=raw), 400, "invalidValue", "members[0].value")


async def test_an_unindexed_filter_past_the_work_budget_is_too_many(client: Client, app: App) -> None:
    clauses = MAX_CLAUSES
    for i in range(MAX_FILTER_WORK // clauses + 1):
        user = Resource(id=f"s{i:06d}", data={"userName": f"s{i}@x"}, created="", last_modified="")
        await app.store.create_user("dev", user)
    scan = " or ".join(f'title eq "nope{i}"' for i in range(clauses))
    assert_error(await client.get(filter_url(USERS, scan)), 400, "tooMany", str(MAX_FILTER_WORK), "indexed")
    # Entra's match query and the legacy manager check are indexed: one candidate, whatever the directory size.
    indexed = f'userName eq "s1@x" and ({" or ".join(f"title eq {chr(34)}t{i}{chr(34)}" for i in range(clauses - 1))})'
    assert (await client.get(filter_url(USERS, indexed))).status == 200
    assert_list(await client.get(filter_url(USERS, 'userName eq "s7@x"')), 1)
    assert (await client.get(filter_url(USERS, 'id eq "s000003" and manager eq "x"') + "&attributes=id")).status == 200


async def test_a_member_filter_counts_members_against_the_work_budget(client: Client, app: App) -> None:
    size = MAX_FILTER_WORK // (2 * MAX_CLAUSES) + 1
    await _groups_with_members(app, 2, size)
    text = " or ".join(f'members[display eq "nobody{i}"]' for i in range(MAX_CLAUSES))
    assert_error(await client.get(filter_url(GROUPS, text)), 400, "tooMany", str(MAX_FILTER_WORK))
    # Membership tests alone read the users' own membership entries, not the groups' members: no scan to budget.
    one_in_each = ["u000001", f"u{2 * size - 1:06d}", *(f"nobody{i}" for i in range(MAX_CLAUSES - 2))]
    tests = " or ".join(f'members[value eq "{user}"]' for user in one_in_each)
    found = assert_list(await client.get(filter_url(GROUPS, tests) + "&excludedAttributes=members"), 2)
    assert [g["id"] for g in found] == ["g000", "g001"]


async def test_a_membership_check_on_a_large_group_stays_within_the_work_budget(client: Client, app: App) -> None:
    """A client asking whether one user is in a 5,000-member group (id eq … and members[value eq …]) is answered."""
    [group] = await _groups_with_members(app, 1, 5_000)
    text = f'id eq "{group}" and members[value eq "u004999"]'
    assert_list(await client.get(filter_url(GROUPS, text) + "&excludedAttributes=members"), 1)
