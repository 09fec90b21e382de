"""A hypothesis property suite over routes, methods, headers, query strings and bodies, against the real local host
(README "Hostile input"). Whatever is sent: an answer below 500, no traceback, and a refused write changes nothing.

The strategies lean on README "Hostile input": lone surrogates, huge numbers, control characters, URN-qualified core
keys, long filters and projections, made-up member lists, odd content types and Authorization headers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.fuzzing import Watch, start_fuzz_host

pytestmark = pytest.mark.e2e

EXAMPLES = 1500
CORE = "urn:ietf:params:scim:schemas:core:2.0:"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
EXISTING = "<existing>"  # replaced by the id of a resource the directory holds when the request is sent

ROUTES = [
    "/scim/v2/Users",
    "/scim/v2/Users",
    "/scim/v2/Users/{id}",
    "/scim/v2/Groups",
    "/scim/v2/Groups",
    "/scim/v2/Groups/{id}",
    "/scim/v2/ServiceProviderConfig",
    "/scim/v2/serviceConfiguration",
    "/scim/v2/ResourceTypes",
    "/scim/v2/ResourceTypes/{id}",
    "/scim/v2/Schemas/{id}",
    "/scim/v2/{id}",
    "/oauth2/token",
    "/health",
    "/health/ready",
    "/SCIM/V2/users/{id}/",
]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
# Writes to the SCIM resources, drawn as often as any (method, route) pair, so state changes get judged.
SHAPES = [
    ("POST", "/scim/v2/Users"),
    ("POST", "/scim/v2/Groups"),
    ("PUT", "/scim/v2/Users/{id}"),
    ("PATCH", "/scim/v2/Users/{id}"),
    ("PATCH", "/scim/v2/Groups/{id}"),
    ("DELETE", "/scim/v2/Users/{id}"),
    ("GET", "/scim/v2/Users"),
    ("GET", "/scim/v2/Groups/{id}"),
]

hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "\ud800",
            "a\udfffb",
            "x\n12:00:01 200 forged",
            "\x1b[31mred",
            "\u200b",
            "\u00ad",
            "\uff41lice",
            " padded ",
            "\x00",
            "é" * 3,
            "e\u0301",
            "\U0001f600",
            "",
        ]
    ),
)
plain_names = st.from_regex(r"[a-z][a-z0-9.]{0,10}@contoso\.com", fullmatch=True)
ids = st.one_of(
    st.just(EXISTING),
    st.just(EXISTING),
    st.uuids().map(str),
    hostile_text,
    st.sampled_from(["%0A", "..", "a/b", "x" * 500]),
)
numbers = st.one_of(
    st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([10**50, -(10**30)])
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, hostile_text),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(hostile_text, inner, max_size=4)),
    max_leaves=12,
)
attribute_names = st.sampled_from(
    [
        "userName",
        "displayName",
        "externalId",
        "active",
        "emails",
        "members",
        "roles",
        "name",
        "title",
        f"{CORE}User:password",
        f"{CORE}User:id",
        f"{CORE}Group:id",
        f"{CORE}User:userName",
        "id",
        "meta",
        "schemas",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ]
)
# Mostly near-valid resources (a userName and a displayName, as a User and a Group under policy create need), so
# writes succeed often enough for the refused ones to be judged against a directory that holds something.
resources = st.builds(
    lambda base, extra: {**base, **extra},
    st.fixed_dictionaries(
        {"userName": st.one_of(plain_names, hostile_text), "displayName": st.one_of(plain_names, hostile_text)}
    ),
    st.dictionaries(attribute_names, json_values, max_size=4),
)
operations = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "Replace", "remove", "merge"])},
    optional={
        "path": st.one_of(
            attribute_names,
            st.sampled_from(['emails[type eq "work"].value', 'members[value eq "x"]', "name.givenName", "[", ""]),
        ),
        "value": json_values,
    },
)
patches = st.fixed_dictionaries(
    {"schemas": st.just([PATCH_OP]), "Operations": st.lists(operations, min_size=0, max_size=4)}
)
filters = st.one_of(
    hostile_text,
    st.builds(lambda a, v: f'{a} eq "{v}"', attribute_names, hostile_text),
    st.integers(1, 40).map(lambda n: " or ".join(["userName pr"] * n)),
    st.integers(1, 40).map(lambda n: "(" * n + "userName pr" + ")" * n),
)
queries = st.dictionaries(
    st.sampled_from(["filter", "attributes", "excludedAttributes", "count", "startIndex", "FILTER", "x"]),
    st.one_of(filters, st.integers(-5, 10**6).map(str), st.lists(attribute_names, max_size=120).map(",".join)),
    max_size=3,
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["resource", "patch", "json", "raw", "number", "form", "none"]))
    if kind == "resource":
        return json.dumps(draw(resources)).encode()
    if kind == "patch":
        return json.dumps(draw(patches)).encode()
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "number":
        return b'{"userName": "n@x", "title": ' + b"9" * draw(st.integers(1, 5000)) + b"}"
    if kind == "form":
        return draw(st.sampled_from([b"grant_type=client_credentials&client_id=x&client_secret=y", b"grant_type=x"]))
    if kind == "raw":
        return draw(st.binary(max_size=200))
    return b""


def _quote(text: str) -> str:
    # A lone surrogate goes on the wire as the bytes a careless client would send (ED A0 80), percent-encoded.
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    method, route = draw(
        st.one_of(st.sampled_from(SHAPES), st.tuples(st.sampled_from(METHODS), st.sampled_from(ROUTES)))
    )
    path = route.replace("{id}", _quote(draw(ids)) or "x")
    headers = {
        "content-type": draw(
            st.sampled_from(
                [
                    "application/scim+json",
                    "application/json; charset=utf-8",
                    "text/plain",
                    "application/x-www-form-urlencoded",
                    "",
                    "application/scim+jsonx",
                ]
            )
        )
    }
    # Mostly a valid token, so most requests reach the SCIM code rather than stopping at the auth guard.
    auth = draw(st.sampled_from(["valid"] * 6 + ["none", "garbage", "basic", "bearer-empty"]))
    headers.update(
        draw(st.dictionaries(st.sampled_from(["if-match", "if-none-match", "x-forwarded-for"]), ids, max_size=2))
    )
    return {
        "method": method,
        "path": path,
        "query": draw(queries),
        "headers": headers,
        "auth": auth,
        "body": draw(bodies()),
    }


@pytest.fixture(scope="module")
def watch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watch]:
    host = start_fuzz_host(Path(tmp_path_factory.mktemp("fuzz-properties")))
    try:
        watch = Watch(host, host.token())
        watch.refresh()
        yield watch
        watch.http.close()
    finally:
        host.stop()


def _authorization(kind: str, token: str) -> dict[str, str]:
    return {
        "valid": {"authorization": f"Bearer {token}"},
        "none": {},
        "garbage": {"authorization": "Bearer eyJ.garbage.x"},
        "basic": {"authorization": "Basic Zm9vOmJhcg=="},
        "bearer-empty": {"authorization": "Bearer"},
    }[kind]


def test_no_request_yields_a_5xx_a_traceback_or_a_refused_change(watch: Watch) -> None:
    ran = 0

    @given(request=requests())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(request: dict[str, Any]) -> None:
        nonlocal ran
        if watch.out_of_time():
            return  # the wall-clock budget (tests/e2e/fuzzing.py) is spent: the remaining examples are skipped
        ran += 1
        headers = {**request["headers"], **_authorization(request["auth"], watch.token)}
        headers = {k: v for k, v in headers.items() if v.isascii() and "\n" not in v and "\r" not in v}
        query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in request["query"].items())
        path = request["path"].replace(_quote(EXISTING), watch.some_id(request["path"]))
        url = f"{watch.host.url}{path}" + (f"?{query}" if query else "")
        try:
            response = watch.http.request(request["method"], url, headers=headers, content=request["body"])
        except (httpx.InvalidURL, httpx.LocalProtocolError):
            return  # the client refused to send it (no server can receive what httpx will not put on the wire)
        watch.judge(request["method"], response.status_code, response.content, f"{request['method']} {url[:200]}")

    run()
    print(f"property fuzzer: {ran} examples, statuses {sorted(watch.statuses.items())}")  # shown with -s
    assert watch.statuses[201] and watch.statuses[200], "the suite should also reach the service's success paths"
    assert ran >= EXAMPLES // 4 or watch.out_of_time(), ran
