"""The Graph client's own rules: Retry-After forms, next links that leave Graph, and a refused token."""

from __future__ import annotations

import email.utils
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from scim.entra.graph import MAX_WAIT, Graph, GraphError, retry_after
from tests.doubles.graph import GraphDouble
from tests.support.scimctl import Cli


def test_retry_after_seconds_dates_and_fallback() -> None:
    assert retry_after("12", 0) == 12.0
    assert retry_after("86400", 0) == MAX_WAIT  # a wait is capped, whatever Graph asks
    soon = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25.0 <= retry_after(soon, 0) <= 30.0
    assert retry_after("not a date", 3) == 8.0 and retry_after(None, 1) == 2.0


class _OneReply(requests.Session):
    """A session whose only answer is ``body``: enough to show what the client does with a page."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__()
        self.body = body
        self.urls: list[str] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        self.urls.append(str(url))
        response = requests.Response()
        response.status_code = 200
        response._content = json.dumps(self.body).encode()
        return response


def test_a_next_link_to_another_host_never_gets_the_token() -> None:
    session = _OneReply({"value": [{"id": "1"}], "@odata.nextLink": "https://attacker.example/v1.0/x?$skiptoken=2"})
    graph = Graph(lambda: "token", session, base="https://graph.microsoft.com")
    with pytest.raises(GraphError, match="a next page link points elsewhere"):
        graph.list("/servicePrincipals")
    assert session.urls == ["https://graph.microsoft.com/v1.0/servicePrincipals"]


def test_a_revoked_cached_token_is_replaced_once_then_explained(cli: Cli, graph: GraphDouble) -> None:
    cli("directory", "create", "contoso")
    cli("entra", "setup", "--directory", "contoso")
    grants = len(graph.grants)
    graph._tokens.clear()  # the cached access token is revoked on Entra's side
    assert cli("entra", "status", "--directory", "contoso")["state"] == "Disabled"
    assert len(graph.grants) == grants + 1  # the cache entry was dropped and a new token fetched

    graph.fail("GET", r"/servicePrincipals$", 401, times=2)  # refused even with a new token
    cli("entra", "status", "--directory", "contoso", code=1)
    assert "HTTP 401 InvalidAuthenticationToken" in cli.err and "sign in again, or check --tenant" in cli.err
