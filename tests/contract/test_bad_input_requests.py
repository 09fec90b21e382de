"""Bad filters, query parameters, tokens, routes and methods through the triggers: each is answered with the right
SCIM error (RFC 7644 §3.12), never a 5xx, never a Python exception in the body.
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any

import jwt
import pytest

from scim.app import App
from scim.dev.devhost import FunctionsAsgi
from scim.secrets import SIGNING_KEY_SECRET
from tests.contract.entra import GOOD_USER, GROUPS, USERS, assert_error, assert_list, op, patch
from tests.support.app import CLIENT_ID, CLIENT_SECRET, ROUTES, Client

# Filters and query parameters -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        pytest.param('userName eq "abc', ["closing"], id="unbalanced quote"),
        pytest.param('(userName eq "a"', ["')'"], id="unclosed parenthesis"),
        pytest.param('userName eq "a")', ["end of the filter"], id="extra parenthesis"),
        pytest.param('userName xx "a"', ["operator"], id="unknown operator"),
        pytest.param('userName == "a"', ["operator"], id="== operator"),
        pytest.param('active co "true"', ["boolean"], id="co on a boolean"),
        pytest.param('active sw "t"', ["boolean"], id="sw on a boolean"),
        pytest.param("userName gt true", ["boolean"], id="gt with a boolean"),
        pytest.param("userName co 5", ["string"], id="co with a number"),
        pytest.param("userName eq", ["value"], id="missing value"),
        pytest.param('userName eq "a" and', ["attribute path"], id="dangling and"),
        pytest.param('and userName eq "a"', ["attribute path"], id="leading and"),
        pytest.param("not", ["attribute path"], id="lone not"),
        pytest.param("userName eq eq eq", ["'and', 'or' or the end"], id="eq eq eq"),
        pytest.param('"just a string"', ["attribute path"], id="just a string"),
        pytest.param("%%%", ["attribute path"], id="percent signs"),
        pytest.param('emails[type eq "work"', ["']'"], id="unclosed bracket"),
        pytest.param('emails[type[value eq "a"]]', ["comparison"], id="nested brackets"),
        pytest.param("(" * 40 + 'userName eq "a"' + ")" * 40, ["nesting"], id="40 nested parentheses"),
        pytest.param('userName eq "' + "a" * 5000 + '"', ["limit is 4096"], id="5000-character filter"),
        pytest.param('userName eq "bad \\q escape"', ["escapes"], id="bad JSON escape"),
        pytest.param('userName pr "a"', ["'and', 'or' or the end"], id="pr with a value"),
        pytest.param('userName eq "a" or', ["attribute path"], id="dangling or"),
        pytest.param("()", ["attribute path"], id="empty parentheses"),
    ],
)
@pytest.mark.parametrize("base", [USERS, GROUPS])
async def test_bad_filters_are_invalid_filter(client: Client, base: str, text: str, fragments: list[str]) -> None:
    from urllib.parse import quote

    reply = await client.get(f"{base}?filter={quote(text, safe='')}")
    assert_error(reply, 400, "invalidFilter", *fragments)


@pytest.mark.parametrize(
    ("query", "fragments"),
    [
        pytest.param("startIndex=abc", ["whole numbers"], id="startIndex letters"),
        pytest.param("count=1.5", ["whole numbers"], id="count a fraction"),
        pytest.param("count=ten", ["whole numbers"], id="count a word"),
        pytest.param("startIndex=" + "9" * 5000, ["whole numbers"], id="startIndex 5000 digits"),
        pytest.param("attributes=[", ["not valid"], id="attributes a bracket"),
    ],
)
async def test_bad_query_parameters(client: Client, query: str, fragments: list[str]) -> None:
    assert_error(await client.get(f"{USERS}?{query}"), 400, "invalidValue", *fragments)


@pytest.mark.parametrize(
    ("query", "start", "items"),
    [
        pytest.param("count=100000", 1, 1, id="count above the maximum is capped"),
        pytest.param("startIndex=-5", 1, 1, id="negative startIndex means 1"),
        pytest.param("startIndex=" + "9" * 30, int("9" * 30), 0, id="startIndex beyond any page"),
        pytest.param("filter=&count=", 1, 1, id="empty filter and count are absent"),
        pytest.param("aadOptscim062020&unknown=1", 1, 1, id="§2.2 unknown query parameters are ignored"),
    ],
)
async def test_odd_but_valid_query_parameters(
    client: Client, target: dict[str, str], query: str, start: int, items: int
) -> None:
    assert_list(await client.get(f"{USERS}?{query}"), 1, start=start, items=items)


# Tokens ---------------------------------------------------------------------------------------------------------


async def _token(app: App, *, key: str | None = None, kid: str | None = None, alg: str = "HS256", **claims: Any) -> str:
    current = (await app.secrets.versions(SIGNING_KEY_SECRET))[0]
    now = int(time.time())
    payload = {
        "iss": app.settings.issuer,
        "aud": "scim",
        "sub": CLIENT_ID,
        "dir": "dev",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "jti": "0" * 32,
        "typ": "access",
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT warns about short keys for HS512: that token is meant to be bad
        return jwt.encode(
            payload,
            "" if alg == "none" else (key or current.value),  # PyJWT signs alg none with the empty key
            algorithm=alg,
            headers={"kid": kid or current.version},
        )


TOKEN_CASES = [
    pytest.param({}, ["Bearer <token>"], id="no Authorization header"),
    pytest.param({"authorization": "Basic dXNlcjpwYXNz"}, ["Bearer scheme"], id="Basic scheme"),
    pytest.param({"authorization": "Bearer"}, ["Bearer scheme"], id="Bearer without a token"),
    pytest.param({"authorization": "Bearer    "}, ["Bearer scheme"], id="Bearer and spaces"),
    pytest.param({"authorization": "Token abc"}, ["Bearer scheme"], id="unknown scheme"),
    pytest.param({"authorization": "Bearer garbage"}, ["not a well-formed JWT"], id="garbage"),
    pytest.param({"authorization": "Bearer a.b.c"}, ["not a well-formed JWT"], id="three garbage parts"),
    pytest.param({"authorization": "Bearer " + "x" * 5000}, ["too long"], id="5000-character token"),
    pytest.param("other-key", ["signature"], id="signed with another key"),
    pytest.param("other-kid", ["no longer valid"], id="unknown key id"),
    pytest.param("expired", ["expired"], id="expired"),
    pytest.param("future", ["not valid yet"], id="not valid yet"),
    pytest.param("alg-none", ["algorithm"], id="alg none"),
    pytest.param("hs512", ["algorithm"], id="HS512 with the right key"),
    pytest.param("audience", ["another service"], id="wrong audience"),
    pytest.param("issuer", ["another service"], id="wrong issuer"),
    pytest.param("no-dir", ["claims"], id="no directory claim"),
    pytest.param("no-exp", ["claims"], id="no expiry"),
    pytest.param("other-client", ["disabled or no longer exists"], id="unknown client"),
    pytest.param("other-directory", ["disabled or no longer exists"], id="directory not the client's"),
]


async def _bad_header(app: App, case: Any) -> dict[str, str]:
    if isinstance(case, dict):
        return case
    now = int(time.time())
    claims: dict[str, dict[str, Any]] = {
        "other-key": {"key": "k" * 64},
        "other-kid": {"kid": "0123456789abcdef"},
        "expired": {"iat": now - 7200, "exp": now - 3600},
        "future": {"nbf": now + 3600},
        "alg-none": {"alg": "none"},
        "hs512": {"alg": "HS512"},
        "audience": {"aud": "8adf8e6e-67b2-4cf2-a259-e3dc5476c621"},
        "issuer": {"iss": "https://sts.windows.net/tenant/"},
        "no-dir": {"dir": None},
        "no-exp": {"exp": None},
        "other-client": {"sub": "11111111-2222-3333-4444-555555555555"},
        "other-directory": {"dir": "elsewhere"},
    }
    return {"authorization": f"Bearer {await _token(app, **claims[case])}"}


@pytest.mark.parametrize(("case", "fragments"), TOKEN_CASES)
@pytest.mark.parametrize(
    ("method", "url"),
    [("GET", USERS), ("POST", USERS), ("GET", f"{GROUPS}?filter=displayName%20eq%20%22x%22"), ("PATCH", f"{USERS}/x")],
)
async def test_bad_tokens_are_401(
    client: Client, app: App, case: Any, fragments: list[str], method: str, url: str
) -> None:
    headers = await _bad_header(app, case)
    body = GOOD_USER if method == "POST" else patch(op("add", "title", "x")) if method == "PATCH" else None
    reply = await client.request(method, url, body=body, headers=headers, token=None)
    doc = assert_error(reply, 401, None, *fragments)
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert "eyJ" not in doc["detail"]  # the token is never echoed
    page = await app.store.query_users("dev", lookup=None, match=None, start_index=1, count=10)
    assert page.total == 0


async def test_a_valid_token_still_works(client: Client, app: App) -> None:
    """The control for the table above: a token built the same way, unchanged, is accepted."""
    reply = await client.get(USERS, headers={"authorization": f"Bearer {await _token(app)}"}, token=None)
    assert reply.status == 200, reply.body


# Routes and methods -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "status", "fragments"),
    [
        pytest.param("POST", f"{USERS}/some-id", 405, ["POST"], id="POST /Users/{id}"),
        pytest.param("POST", f"{GROUPS}/some-id", 405, ["POST"], id="POST /Groups/{id}"),
        pytest.param("DELETE", USERS, 405, ["needs a resource id"], id="DELETE /Users"),
        pytest.param("PATCH", USERS, 405, ["needs a resource id"], id="PATCH /Users"),
        pytest.param("PUT", GROUPS, 405, ["needs a resource id"], id="PUT /Groups"),
        pytest.param("GET", "/scim/v2/Schemas/urn:example:unknown", 404, ["does not exist"], id="unknown schema"),
        pytest.param("GET", "/scim/v2/ResourceTypes/Printer", 404, ["'Printer'"], id="unknown resource type"),
        pytest.param("GET", f"{USERS}/{'x' * 5000}", 404, ["does not exist"], id="5000-character id"),
        pytest.param("GET", f"{USERS}/%00%01", 404, ["does not exist"], id="control characters in the id"),
        pytest.param("DELETE", f"{GROUPS}/nope", 404, ["'nope'"], id="DELETE unknown group"),
    ],
)
async def test_unsupported_routes_and_methods(
    client: Client, method: str, url: str, status: int, fragments: list[str]
) -> None:
    body = GOOD_USER if method in ("POST", "PUT") else patch(op("add", "title", "x")) if method == "PATCH" else None
    assert_error(await client.request(method, url, body=body), status, None, *fragments)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/scim/v2/Bulk", 404),
        ("POST", "/scim/v2/Bulk", 404),
        ("GET", "/scim/v2/Users/a/b", 404),
        ("GET", "/nowhere", 404),
        ("DELETE", "/scim/v2/Schemas", 405),
        ("GET", "/oauth2/token", 405),
        ("OPTIONS", "/scim/v2/Users", 405),
    ],
)
async def test_paths_and_methods_no_trigger_serves(method: str, path: str, status: int) -> None:
    """The local host mirrors the Functions host: no trigger for the path is 404, none for the method is 405."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    scope = {"type": "http", "method": method, "path": path, "headers": [], "query_string": b"", "client": ("1", 1)}
    host = object.__new__(FunctionsAsgi)  # FunctionApp.get_functions() runs once per app: reuse conftest's ROUTES
    host._routes = ROUTES
    host._max_body = 1024
    await host(scope, receive, send)
    assert sent[0]["status"] == status


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/scim/v2/Me", "/scim/v2/me/", "/scim/v2/Me/some-id"])
async def test_me_is_501_not_implemented(client: Client, method: str, path: str) -> None:
    """RFC 7644 §3.11: a provider that does not support /Me SHOULD answer 501, with a SCIM error body."""
    body = GOOD_USER if method in ("POST", "PUT") else patch(op("add", "title", "x")) if method == "PATCH" else None
    assert_error(await client.request(method, path, body=body), 501, None, "/Me", "RFC 7644")


@pytest.mark.parametrize("path", ["/scim/v2/Userz", "/scim/v2/scim/v2/Users", "/scim/v2/Users/abc/extra"])
async def test_unknown_paths_under_the_base_url_get_a_scim_404_that_names_the_endpoints(
    client: Client, path: str
) -> None:
    reply = await client.get(path)
    assert_error(reply, 404, None, path, "/Users", "Tenant URL")


@pytest.mark.parametrize("path", ["/", "/nowhere", "/Users", "/api/scim/v2/Users", "/scimv2/Groups"])
async def test_paths_outside_the_base_url_get_a_scim_404_and_a_log_line(
    client: Client, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Not the host's plain-text 404, and on-call can see what was asked for."""
    with caplog.at_level(logging.INFO, logger="scim.routes"):
        reply = await client.get(path + "?filter=userName%20eq%20%22someone%22")
    assert_error(reply, 404, None, path, "/scim/v2", "/oauth2/token")
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith("no endpoint")] == [
        f"no endpoint at {path!r} (GET)"
    ]
    assert all("someone" not in r.getMessage() for r in caplog.records)  # the query string is not logged


@pytest.mark.parametrize(("method", "path"), [("GET", "/oauth2/token"), ("POST", "/health"), ("PUT", "/health/ready")])
async def test_a_wrong_method_on_a_fixed_route_is_405_not_404(client: Client, method: str, path: str) -> None:
    reply = await client.request(method, path)
    assert_error(reply, 405, None, "use")


async def test_a_client_secret_pasted_as_the_bearer_token_gets_the_long_lived_token_hint(client: Client) -> None:
    """Entra's Secret Token field holding the client secret instead of a long-lived token."""
    reply = await client.get(USERS, token=CLIENT_SECRET)
    assert reply.status == 401
    detail = reply.json["detail"]
    assert "not a well-formed JWT" in detail and "scimctl token issue --client <client-id> --long-lived" in detail
    assert CLIENT_SECRET not in reply.body.decode()
