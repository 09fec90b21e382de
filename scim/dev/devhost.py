"""Serve function_app's registered triggers over real HTTP, so `make run` needs no Core Tools.

Routes, methods and handlers come from ``app.get_functions()``: the local host serves exactly what
Azure serves. The socket peer is appended to X-Forwarded-For, as the platform's front end does, and
written into any other configured address header; only a peer named in SCIM_TRUSTED_PROXIES keeps
the address header it sent (docs/security.md §4.2). uvicorn's own proxy-header handling stays off.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import azure.functions as func

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_PARAM = re.compile(r"\{(\*)?(\w+)(\?)?(?::[^}]*)?\}")


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    pattern: re.Pattern[str]
    methods: frozenset[str]
    handler: Callable[[func.HttpRequest], Awaitable[func.HttpResponse]]
    catch_all: bool = False  # `{*rest}`: matched only when no other route does, as in ASP.NET routing


def compile_route(template: str) -> re.Pattern[str]:
    """A Functions route template as a case-insensitive regex (ASP.NET routing ignores case); `{x?}` is optional
    and `{*x}` takes the rest of the path."""
    pattern, pos = "", 0
    for m in _PARAM.finditer(template):
        literal = template[pos : m.start()]
        star, name, optional = m.group(1), m.group(2), m.group(3)
        if star:
            pattern += re.escape(literal) + f"(?P<{name}>.*)"
        elif optional and literal.endswith("/"):
            pattern += re.escape(literal[:-1]) + f"(?:/(?P<{name}>[^/]+))?"
        else:
            pattern += re.escape(literal) + f"(?P<{name}>[^/]+)"
        pos = m.end()
    pattern += re.escape(template[pos:])
    return re.compile(f"^/{pattern}/?$", re.IGNORECASE)


def routes_of(app: func.FunctionApp) -> list[Route]:
    """The HTTP triggers of a FunctionApp, read from their function.json bindings."""
    import json

    out = []
    for fn in app.get_functions():
        bindings = json.loads(fn.get_function_json())["bindings"]
        binding = next((b for b in bindings if b["type"] == "httpTrigger"), None)
        if binding is None:
            continue  # the timer trigger (the change feed's sweep): scim.dev.localrun runs it on its schedule
        out.append(
            Route(
                fn.get_function_name() or "",
                compile_route(binding["route"]),
                frozenset(m.upper() for m in binding.get("methods") or ["GET", "POST", "PUT", "PATCH", "DELETE"]),
                fn.get_user_function(),
                catch_all="{*" in binding["route"],
            )
        )
    # Literal and parameter routes win over a catch-all, whatever the registration order.
    return sorted(out, key=lambda route: route.catch_all)


class FunctionsAsgi:
    """An ASGI application that turns each request into a func.HttpRequest for the matching trigger."""

    _trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    _address_header = "x-forwarded-for"

    def __init__(
        self,
        app: func.FunctionApp,
        *,
        max_body_bytes: int,
        trusted_proxies: tuple[str, ...] = (),
        address_header: str = "x-forwarded-for",
    ) -> None:
        self._routes = routes_of(app)
        self._max_body = max_body_bytes
        self._trusted = tuple(ipaddress.ip_network(p, strict=False) for p in trusted_proxies)
        self._address_header = address_header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"].upper()
        matched = [(r, m) for r in self._routes if (m := r.pattern.match(path))]
        if not matched:
            await _plain(send, 404, b"Not Found")
            return
        allowed = [(r, m) for r, m in matched if method in r.methods]
        if not allowed:
            await _plain(send, 405, b"Method Not Allowed")
            return
        route, match = allowed[0]
        body = await self._body(receive)
        headers = _headers(scope, self._address_header, self._trusted)
        response = await route.handler(
            func.HttpRequest(
                method=method,
                url=_url(scope, headers),
                headers=headers,
                params=dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)),
                route_params={k: v for k, v in match.groupdict().items() if v is not None},
                body=body,
            )
        )
        raw_headers = [(k.lower().encode(), str(v).encode()) for k, v in response.headers.items()]
        await send({"type": "http.response.start", "status": response.status_code, "headers": raw_headers})
        await send({"type": "http.response.body", "body": response.get_body() or b""})

    async def _body(self, receive: Receive) -> bytes:
        # Read at most one byte past the limit: the handler answers 413 without the server buffering more.
        chunks, size = [], 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            if size <= self._max_body:
                chunks.append(chunk)
            size += len(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks)[: self._max_body + 1]


def _headers(
    scope: Scope,
    address_header: str = "x-forwarded-for",
    trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (),
) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    # The socket peer (uvicorn runs with proxy_headers=False, so scope["client"] is never a header's value).
    peer = str((scope.get("client") or ("",))[0])
    if _is_trusted(peer, trusted) and headers.get(address_header):
        return headers  # a named proxy wrote the header: its last hop is the caller
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded}, {peer}" if forwarded else peer
    if address_header != "x-forwarded-for":
        headers[address_header] = peer
    return headers


def _is_trusted(peer: str, trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    if not trusted:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in trusted)


def _url(scope: Scope, headers: dict[str, str]) -> str:
    host = headers.get("host", "127.0.0.1")
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{scope.get('scheme', 'http')}://{host}{scope['path']}" + (f"?{query}" if query else "")


async def _plain(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
