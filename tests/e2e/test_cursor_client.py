"""scim2-client (python-scim) pages a directory by cursor (RFC 9865) over real HTTP, on Table Storage in Azurite.

The other side of the cursor edge is a client that follows ``nextCursor`` and validates every ListResponse and the
ServiceProviderConfig with scim2-models; this checks that such a client reads every user exactly once, and steps back by
``previousCursor``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from scim2_models import ListResponse, SearchRequest, ServiceProviderConfig, User

from tests.e2e.test_scim2_tester import HttpxSCIMClient
from tests.support.host import StartHost

pytestmark = [pytest.mark.e2e, pytest.mark.azurite]
USERS = 45
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


def test_scim2_client_walks_every_user_once_by_cursor(start_tables_host: StartHost) -> None:
    host = start_tables_host("strict")
    headers = {"Authorization": f"Bearer {host.token()}"}
    with httpx.Client(base_url=host.scim_url + "/", headers=headers, timeout=30) as http:
        created = set()
        for n in range(USERS):
            reply = http.post("Users", json={"schemas": [USER_SCHEMA], "userName": f"c{n}@x.org"})
            assert reply.status_code == 201, reply.text
            created.add(reply.json()["id"])
        client = HttpxSCIMClient(http)
        client.discover()
        config = client.query(ServiceProviderConfig)
        assert isinstance(config, ServiceProviderConfig) and config.pagination and config.pagination.cursor

        for search in (False, True):

            def page_at(cursor: str, search: bool = search) -> ListResponse[Any]:
                request: SearchRequest[User[Any]] = SearchRequest(cursor=cursor, count=10)
                page = client.search(request) if search else client.query(User, query_parameters=request)
                assert isinstance(page, ListResponse), page
                return page

            pages: list[list[str]] = []
            page = page_at("")
            assert page.previous_cursor is None, "the first page has none"
            while True:
                pages.append([str(r.id) for r in page.resources or []])
                if page.next_cursor is None:
                    break
                page = page_at(page.next_cursor)
            users = [i for ids in pages for i in ids if i in created]
            assert len(users) == len(set(users)) == USERS, f"search={search}: every user exactly once"
            back = []
            while page.previous_cursor is not None:
                page = page_at(page.previous_cursor)
                back.append([str(r.id) for r in page.resources or []])
            assert back == pages[-2:-6:-1], f"search={search}: previousCursor steps back 4 pages in a row"
