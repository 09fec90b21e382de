"""Cursor paging (RFC 9865) and sorting (RFC 7644 §3.4.2.3) over the registered triggers, on the memory store.

The cursor walks of 5,000 users on Table Storage are in tests/store/test_walk.py; this suite is about what a client
sees: the ListResponse shape, ServiceProviderConfig, and every cursor that must be refused.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import quote

import pytest

from scim.app import App
from scim.auth.clients import NewClient
from scim.auth.cursors import PREVIOUS_CHARS, PREVIOUS_PAGES, Cursors, Resume
from scim.model import Resource
from scim.service.admin import AdminService
from scim.service.groups import MAX_LISTED_MEMBERS
from tests.support.app import Client

UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")  # RFC 3986 §2.3, which RFC 9865 §2 requires of a cursor


async def add_users(app: App, n: int, directory: str = "dev") -> list[str]:
    ids = [f"{i:04d}-u" for i in range(n)]
    for i, uid in enumerate(ids):
        stamp = f"2024-01-01T00:00:{i % 60:02d}.000Z"
        data = {"userName": f"user{(i * 7) % n:04d}@x.org", "displayName": f"N{i % 5}"}
        await app.store.create_user(directory, Resource(uid, data, stamp, stamp))
    return ids


async def walk(
    client: Client, url: str, *, body: dict[str, Any] | None = None
) -> tuple[list[str], list[dict[str, Any]]]:
    """Follow nextCursor from an empty cursor to the page without one; the ids in order and every page."""
    ids: list[str] = []
    pages: list[dict[str, Any]] = []
    cursor = ""
    for _ in range(1000):
        if body is None:
            sep = "&" if "?" in url else "?"
            reply = await client.get(f"{url}{sep}cursor={quote(cursor)}")
        else:
            reply = await client.post(url, {**body, "cursor": cursor})
        assert reply.status == 200, reply.body
        page = reply.json
        pages.append(page)
        ids += [r["id"] for r in page["Resources"]]
        if "nextCursor" not in page:
            return ids, pages
        cursor = page["nextCursor"]
        assert UNRESERVED.fullmatch(cursor)
    raise AssertionError("the walk never ended")


async def test_service_provider_config_advertises_cursors_and_sorting(client: Client) -> None:
    doc = (await client.get("/scim/v2/ServiceProviderConfig")).json
    assert doc["pagination"] == {
        "cursor": True,
        "index": True,
        "defaultPaginationMethod": "index",
        "defaultPageSize": 100,
        "maxPageSize": 1000,
        "cursorTimeout": 3600,
    }
    assert doc["sort"] == {"supported": True}


async def test_a_cursor_walk_returns_every_user_once(app: App, client: Client) -> None:
    ids = await add_users(app, 23)
    got, pages = await walk(client, "/scim/v2/Users?count=5")
    assert got == ids and len(pages) == 5
    assert all("startIndex" not in p for p in pages)
    assert all("totalResults" not in p for p in pages[:-1]), "a middle page does not pay for a count"
    assert pages[-1]["totalResults"] == 23 and pages[-1]["itemsPerPage"] == 3
    searched, _ = await walk(client, "/scim/v2/Users/.search", body={"count": 7})
    assert searched == ids


async def test_root_search_walks_users_then_groups(app: App, client: Client) -> None:
    users = await add_users(app, 4)
    for n in range(3):
        await app.store.create_group("dev", Resource(f"g{n}", {"displayName": f"G{n}"}, "c", "c"), [])
    got, _ = await walk(client, "/scim/v2/.search", body={"count": 3})
    assert got == [*users, "g0", "g1", "g2"]


async def test_a_filtered_sorted_projected_walk(app: App, client: Client) -> None:
    await add_users(app, 20)
    url = '/scim/v2/Users?count=4&filter=displayName eq "N1"&sortBy=userName&attributes=userName'
    _, pages = await walk(client, url)
    names = [r["userName"] for p in pages for r in p["Resources"]]
    assert len(names) == 4 and names == sorted(names)
    assert all("userName" in r and "displayName" not in r for p in pages for r in p["Resources"])


async def test_count_zero_answers_only_the_total(app: App, client: Client) -> None:
    await add_users(app, 3)
    page = (await client.get("/scim/v2/Users?cursor=&count=0")).json
    assert page["totalResults"] == 3 and page["Resources"] == [] and "nextCursor" not in page


async def test_groups_cut_at_the_member_budget_continue_where_they_stopped(app: App, client: Client) -> None:
    members = await add_users(app, 600)
    for n in range(3):
        await app.store.create_group("dev", Resource(f"g{n}", {"displayName": f"G{n}"}, "c", "c"), members)
    got, pages = await walk(client, "/scim/v2/Groups?count=3")
    assert got == ["g0", "g1", "g2"]
    assert all(sum(len(g["members"]) for g in p["Resources"]) <= MAX_LISTED_MEMBERS for p in pages)


# Refusals ------------------------------------------------------------------------------------
async def first_cursor(client: Client, url: str = "/scim/v2/Users?count=2") -> str:
    reply = await client.get(f"{url}&cursor=")
    assert reply.status == 200, reply.body
    return str(reply.json["nextCursor"])


def refused(reply: Any, scim_type: str) -> str:
    assert reply.status == 400, reply.body
    assert reply.json["scimType"] == scim_type
    return str(reply.json["detail"])


async def test_a_tampered_cursor_is_invalid(app: App, client: Client) -> None:
    await add_users(app, 5)
    cursor = await first_cursor(client)
    kid, body = cursor.split(".")
    flipped = body[:10] + ("A" if body[10] != "A" else "B") + body[11:]
    for bad in [f"{kid}.{flipped}", f"{kid}.{body[:-4]}", "x" * 40, "not a cursor", f"{'0' * 32}.{body}"]:
        detail = refused(await client.get(f"/scim/v2/Users?count=2&cursor={quote(bad)}"), "invalidCursor")
        assert "cursor=" in detail


async def test_a_cursor_for_another_query_route_client_or_directory_is_invalid(app: App, client: Client) -> None:
    admin = AdminService(app.store, app.clients, app.tokens)
    await add_users(app, 5)
    cursor = await first_cursor(client)
    same_message = refused(
        await client.get(f"/scim/v2/Users?count=2&cursor={cursor}&filter=userName pr"), "invalidCursor"
    )
    for url in [
        f"/scim/v2/Users?count=2&cursor={cursor}&sortBy=userName",
        f"/scim/v2/Users?count=2&cursor={cursor}&attributes=userName",
        f"/scim/v2/Groups?count=2&cursor={cursor}",
    ]:
        assert refused(await client.get(url), "invalidCursor") == same_message
    same_directory = await admin.create_client(NewClient("dev", ["any"]))
    await admin.ensure_directory("other")
    elsewhere = await admin.create_client(NewClient("other", ["any"]))
    for registration, directory in [(same_directory, "dev"), (elsewhere, "other")]:
        token, _ = await app.tokens.issue(registration.client.id, directory, ttl=3600)
        reply = await Client(token).get(f"/scim/v2/Users?count=2&cursor={cursor}")
        assert refused(reply, "invalidCursor") == same_message, "one answer, whatever the cursor's origin"


async def test_another_count_is_invalid_count(app: App, client: Client) -> None:
    await add_users(app, 5)
    cursor = await first_cursor(client)
    detail = refused(await client.get(f"/scim/v2/Users?count=3&cursor={cursor}"), "invalidCount")
    assert "2" in detail


async def test_an_expired_cursor_is_refused_and_a_rotated_key_still_opens(app: App, client: Client) -> None:
    await add_users(app, 5)
    cursor = await first_cursor(client)
    await app.tokens.keyring().rotate()
    assert (await client.get(f"/scim/v2/Users?count=2&cursor={cursor}")).status == 200, "rotation keeps cursors"
    app.cursors = Cursors(app.secrets, clock=lambda: time.time() + 3601)
    detail = refused(await client.get(f"/scim/v2/Users?count=2&cursor={cursor}"), "expiredCursor")
    assert "3600 seconds" in detail


async def test_start_index_beside_a_cursor_is_refused(client: Client) -> None:
    refused(await client.get("/scim/v2/Users?cursor=&startIndex=1"), "invalidValue")
    body = {"cursor": "", "startIndex": 1}
    refused(await client.post("/scim/v2/Users/.search", body), "invalidValue")
    refused(await client.post("/scim/v2/Users/.search", {"cursor": 5}), "invalidValue")


# Sorting by startIndex -------------------------------------------------------------------------
@pytest.mark.parametrize("order", ["ascending", "descending"])
async def test_sort_by_user_name_with_start_index(app: App, client: Client, order: str) -> None:
    await add_users(app, 10)
    page = (await client.get(f"/scim/v2/Users?sortBy=userName&sortOrder={order}&count=4&startIndex=3")).json
    names = [f"user{i:04d}@x.org" for i in range(10)]
    expected = (names if order == "ascending" else names[::-1])[2:6]
    assert [u["userName"] for u in page["Resources"]] == expected and page["totalResults"] == 10


async def test_an_unsortable_attribute_or_order_is_refused(client: Client) -> None:
    detail = refused(await client.get("/scim/v2/Users?sortBy=emails"), "invalidValue")
    assert "userName" in detail and "meta.lastModified" in detail
    refused(await client.get("/scim/v2/Users?sortBy=userName&sortOrder=up"), "invalidValue")
    urn = "urn:ietf:params:scim:schemas:core:2.0:User:userName"
    assert (await client.get(f"/scim/v2/Users?sortBy={urn}")).status == 200


async def test_a_members_filter_pages_by_cursor_only_as_one_users_groups(app: App, client: Client) -> None:
    await app.store.create_group("dev", Resource("g1", {"displayName": "G1"}, "c", "c"), [])
    url = '/scim/v2/Groups?filter=members[value eq "x"]'
    assert (await client.get(f"{url}&cursor=")).status == 200, "one user's groups: its own membership entries"
    other = '/scim/v2/Groups?filter=members[display eq "x"]'
    detail = refused(await client.get(f"{other}&cursor="), "invalidFilter")
    assert "startIndex" in detail and 'members[value eq "<user id>"]' in detail
    assert (await client.get(other)).status == 200


async def back_from(client: Client, url: str, page: dict[str, Any]) -> list[dict[str, Any]]:
    """Follow previousCursor from ``page`` until a page has none; the pages reached, nearest first."""
    pages: list[dict[str, Any]] = []
    while "previousCursor" in page:
        cursor = page["previousCursor"]
        assert UNRESERVED.fullmatch(cursor)
        reply = await client.get(f"{url}&cursor={quote(cursor)}")
        assert reply.status == 200, reply.body
        page = reply.json
        pages.append(page)
    return pages


@pytest.mark.parametrize(
    "url", ["/scim/v2/Users?count=4", "/scim/v2/Users?count=4&sortBy=userName&sortOrder=descending"]
)
async def test_previous_cursor_steps_back_four_pages_in_a_row(app: App, client: Client, url: str) -> None:
    """RFC 9865 §2 previousCursor: each page but the first names where the page before began; a cursor remembers
    the starts of the PREVIOUS_PAGES pages before it, so a client steps back that many pages in a row."""
    await add_users(app, 23)
    ids, forward = await walk(client, url)
    assert len(forward) == 6 and "previousCursor" not in forward[0]
    assert all("previousCursor" in p for p in forward[1:])
    back = await back_from(client, url, forward[-1])
    assert [p["Resources"] for p in back] == [p["Resources"] for p in forward[4:0:-1]], "pages 5, 4, 3, 2 again"
    assert len(back) == PREVIOUS_PAGES
    again = await back_from(client, url, forward[1])
    assert [p["Resources"] for p in again] == [forward[0]["Resources"]], "page 2 reached forward steps back to 1"
    assert "previousCursor" not in again[0]
    onward = back[-2]  # page 3, reached backwards: its nextCursor walks on to the end and counts right
    rest: list[str] = [r["id"] for r in onward["Resources"]]
    while "nextCursor" in onward:
        onward = (await client.get(f"{url}&cursor={quote(onward['nextCursor'])}")).json
        rest += [r["id"] for r in onward["Resources"]]
    assert rest == ids[8:] and onward["totalResults"] == len(ids)
    assert max(len(p.get("nextCursor", "")) for p in forward) < 1000, "a cursor stays short: it holds 4 starts"


async def test_long_sort_values_make_a_cursor_remember_fewer_pages_not_grow(app: App, client: Client) -> None:
    """A sorted walk's positions hold sort values: past PREVIOUS_CHARS (with the position) the oldest starts are
    forgotten first, so history never makes a cursor longer than that."""
    for n in range(12):
        stamp = "2024-01-01T00:00:00.000Z"
        name = f"{n:02d}" + "é" * 100 + "x" * 150 + "@x.org"  # a sort value whose position is ~770 characters
        await app.store.create_user("dev", Resource(f"{n:02d}-u", {"userName": name}, stamp, stamp))
    url = "/scim/v2/Users?count=2&sortBy=userName&attributes=userName"
    _, forward = await walk(client, url)
    assert len(forward) == 6
    assert max(len(p.get("nextCursor", "")) for p in forward) < 1.5 * PREVIOUS_CHARS, "base64 of the plaintext"
    back = await back_from(client, url, forward[-1])
    assert [p["Resources"] for p in back] == [forward[4]["Resources"]], "one long start fits, the second does not"


def test_a_resume_remembers_the_newest_starts() -> None:
    here = Resume(("p0",), 0)
    for n in range(1, 8):
        here = here.after_page((f"p{n}",), n * 2)
    assert here.back == tuple(((f"p{n}",), n * 2) for n in range(3, 7))
    before = here.previous()
    assert before is not None and before.position == ("p6",) and before.served == 12 and len(before.back) == 3


async def test_a_sorted_walk_over_names_of_8000_characters_keeps_its_cursors_short(app: App, client: Client) -> None:
    """A cursor carries the sort value where it resumes; values compare on their first SORT_CHARS characters (ties
    by id), so the longest userName the service takes still makes a cursor the service opens again."""
    stamp = "2024-01-01T00:00:00.000Z"
    for n, uid in enumerate(["c-u", "a-u", "b-u"]):
        name = ("é" * 8000) + f"{n}@x.org"  # equal on the first SORT_CHARS characters: ordered by id
        await app.store.create_user("dev", Resource(uid, {"userName": name}, stamp, stamp))
    await app.store.create_user("dev", Resource("z-u", {"userName": "a@x.org"}, stamp, stamp))
    ids, pages = await walk(client, "/scim/v2/Users?count=1&sortBy=userName&attributes=userName")
    assert ids == ["z-u", "a-u", "b-u", "c-u"]
    assert max(len(p.get("nextCursor", "")) for p in pages) < 1.5 * PREVIOUS_CHARS
    indexed = (await client.get("/scim/v2/Users?sortBy=userName&attributes=userName")).json
    assert [r["id"] for r in indexed["Resources"]] == ids, "startIndex sorts the same way"
