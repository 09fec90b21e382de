"""The HTTPS server the doubles answer on: one aiohttp handler for every method and path."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def serve_tls(handle: Handler, cert: Path, key: Path) -> tuple[web.AppRunner, str]:
    """``handle`` over HTTPS on a free port of 127.0.0.1: the runner (cleaned up by the caller) and the base URL."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock, ssl_context=context).start()
    return runner, f"https://127.0.0.1:{sock.getsockname()[1]}"
