"""The Entra corpus for /Users queries: match filters, legacy filters, attributes and 1-based paging
(docs/reference/entra-wire.md §1.1, §2.4 item 8, §5, §6.2, §6.3), through the triggers.
"""

from __future__ import annotations

import pytest

from tests.contract.entra import (
    ENT,
    USERS,
    assert_list,
    create_plain_user,
    create_user,
    filter_url,
)
from tests.support.app import Client

USER = "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"


# Filters (§1.1, §2.4.8, §6.3) --------------------------------------------------------------------------------


@pytest.fixture
async def people(client: Client) -> dict[str, str]:
    """Three users with distinct matching attributes, plus a manager relation for the legacy check (§1.1 step 5)."""
    boss = await create_user(client, "Boss@Contoso.com", externalId="boss", displayName="The Boss")
    jyoung = await create_user(
        client,
        "Jeff.Young@Contoso.com",
        externalId="jyoung",
        displayName="BobIsAmazing",
        emails=[{"type": "work", "value": "user@contoso.com"}, {"type": "home", "value": "jeff@home.example"}],
        **{ENT: {"manager": {"value": boss["id"]}}},
    )
    other = await create_user(client, "other@contoso.com", externalId="12345", emails=[])
    return {"boss": boss["id"], "jyoung": jyoung["id"], "other": other["id"]}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param('userName eq "Jeff.Young@Contoso.com"', ["jyoung"], id="§1.1 match query on userName"),
        pytest.param('userName eq "jeff.young@contoso.com"', ["jyoung"], id="§6.3 userName filter ignores case"),
        pytest.param('USERNAME EQ "JEFF.YOUNG@CONTOSO.COM"', ["jyoung"], id="§2.4.8 attribute and operator case"),
        pytest.param("externalId eq jyoung", ["jyoung"], id="§1.1 legacy unquoted externalId eq jyoung (S1 ex. 1)"),
        pytest.param('externalId eq "jyoung"', ["jyoung"], id="§1.1 quoted externalId"),
        pytest.param('externalId eq "JYOUNG"', [], id="§1.1 externalId is caseExact (RFC 7643 §3.1)"),
        pytest.param("externalId eq 12345", ["other"], id="§1.1 unquoted numeric externalId"),
        pytest.param(
            'emails[type eq "work"].value eq "user@contoso.com"',
            ["jyoung"],
            id="§1.1 emails[type eq work].value eq x matching attribute",
        ),
        pytest.param(
            'emails[type eq "work"].value eq "USER@contoso.com"', ["jyoung"], id="§2.4.8 email value ignores case"
        ),
        pytest.param(
            'emails[type eq "work"].value eq "jeff@home.example"',
            [],
            id="§1.1 work-email filter does not match the home email",
        ),
        pytest.param('displayName eq "bobisamazing"', ["jyoung"], id="§6.2 Postman DisplayName filter, any case"),
        pytest.param(
            'userName eq "Jeff.Young@Contoso.com" and externalId eq "jyoung"', ["jyoung"], id="§1.0 eq with and"
        ),
        pytest.param('userName eq "nobody" and externalId eq "jyoung"', [], id="§1.0 and with one side false"),
        pytest.param('userName eq "Jeff.Young@Contoso.com#EXT#"', [], id="§5 a B2B UPN with #EXT# does not match"),
    ],
)
async def test_user_filters(client: Client, people: dict[str, str], url: str, expected: list[str]) -> None:
    for encoding in ("plain", "plus", "pct"):
        reply = await client.get(filter_url(USERS, url, encoding=encoding))
        found = assert_list(reply, len(expected))
        assert sorted(r["id"] for r in found) == sorted(people[name] for name in expected), encoding


async def test_postman_filter_on_users_with_trailing_slash(client: Client, people: dict[str, str]) -> None:
    """§6.2: `/Users/?filter=DisplayName+eq+%22BobIsAmazing%22` (S14 #44)."""
    [found] = assert_list(await client.get("/scim/v2/Users/?filter=DisplayName+eq+%22BobIsAmazing%22"), 1)
    assert found["id"] == people["jyoung"]


@pytest.mark.parametrize(
    ("manager", "total"),
    [
        pytest.param("boss", 1, id="§1.1 legacy manager check: current manager"),
        pytest.param("other", 0, id="§1.1 legacy manager check: another manager"),
    ],
)
async def test_legacy_manager_check_with_attributes_id(
    client: Client, people: dict[str, str], manager: str, total: int
) -> None:
    """§1.1 step 5 (S18): `id eq <id> and manager eq <managerId>&attributes=id`."""
    text = f'id eq "{people["jyoung"]}" and manager eq "{people[manager]}"'
    reply = await client.get(filter_url(USERS, text, encoding="plus", extra="attributes=id"))
    found = assert_list(reply, total)
    for resource in found:
        assert resource["id"] == people["jyoung"]
        assert set(resource) <= {"id", "schemas", "meta"}, resource


async def test_attributes_user_name_and_emails(client: Client, people: dict[str, str]) -> None:
    """§6.2 Postman `?attributes=userName,emails`: those plus id/schemas/meta, for GET by id and for lists."""
    one = await client.get(f"{USERS}/{people['jyoung']}?attributes=userName,emails")
    assert one.status == 200
    assert set(one.json) == {"id", "schemas", "meta", "userName", "emails"}
    assert len(one.json["emails"]) == 2
    listing = await client.get(f"{USERS}?attributes=userName,emails")
    for resource in assert_list(listing, 3):
        assert set(resource) <= {"id", "schemas", "meta", "userName", "emails"}
        assert "userName" in resource


async def test_attributes_with_value_filter_selects_the_attribute(client: Client, people: dict[str, str]) -> None:
    """§6.2 "ComplexAttribute tests": `?attributes=emails[type eq "work"]`."""
    reply = await client.get(f'{USERS}/{people["jyoung"]}?attributes=emails[type eq "work"]')
    assert reply.status == 200
    assert set(reply.json) == {"id", "schemas", "meta", "emails"}


# Pagination (§5, RFC 7644 §3.4.2.4) -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "start", "items"),
    [
        pytest.param("startIndex=1&count=2", 1, 2, id="§5 first page (Postman startIndex=1&count=2)"),
        pytest.param("startIndex=3&count=2", 3, 2, id="§5 middle page"),
        pytest.param("startIndex=5&count=5", 5, 1, id="§5 last partial page (Logic App count=5)"),
        pytest.param("startIndex=6&count=5", 6, 0, id="§5 past the end"),
        pytest.param("startIndex=0&count=2", 1, 2, id="§5 startIndex below 1 means 1"),
        pytest.param("count=0", 1, 0, id="§5 count=0 gives totalResults only"),
        pytest.param("count=-4", 1, 0, id="§5 negative count means 0"),
        pytest.param("", 1, 5, id="§5 no paging parameters lists everyone"),
        pytest.param("STARTINDEX=2&COUNT=1", 2, 1, id="§5 parameter names in any case"),
    ],
)
async def test_pagination_is_one_based(client: Client, query: str, start: int, items: int) -> None:
    for i in range(5):
        await create_plain_user(client, f"page-{i}@contoso.com")
    reply = await client.get(f"{USERS}?{query}")
    assert_list(reply, 5, start=start, items=items)


async def test_pages_cover_every_user_once(client: Client) -> None:
    ids = {await create_plain_user(client, f"walk-{i}@contoso.com") for i in range(7)}
    seen: list[str] = []
    start = 1
    while True:
        page = (await client.get(f"{USERS}?startIndex={start}&count=3")).json
        assert page["totalResults"] == 7
        if not page["Resources"]:
            break
        seen += [r["id"] for r in page["Resources"]]
        start += page["itemsPerPage"]
    assert sorted(seen) == sorted(ids) and len(seen) == 7


async def test_paging_applies_to_filtered_results(client: Client) -> None:
    for i in range(4):
        await create_plain_user(client, f"filtered-{i}@contoso.com")
    await create_plain_user(client, "unrelated@contoso.com")
    reply = await client.get(filter_url(USERS, 'userName sw "filtered-"', extra="startIndex=2&count=2"))
    found = assert_list(reply, 4, start=2, items=2)
    assert all(r["userName"].startswith("filtered-") for r in found)
