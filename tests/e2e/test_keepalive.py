"""The local host as kept-alive clients meet it (Entra's provisioning client, most SDKs, Python's http.client):
every accepted connection has TCP_NODELAY, so a response's headers and body leave together instead of the body
waiting for the client's delayed ACK (a 40 ms stall per response with a body), and one connection carries many
requests with bodies, each answered in full."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
from typing import Any

import pytest

from scim.dev.localrun import _listen
from tests.support.host import StartHost

pytestmark = pytest.mark.e2e

REQUESTS = 30


def test_accepted_connections_have_tcp_nodelay() -> None:
    """The listening socket `scimctl serve` hands uvicorn: asyncio's transport decides from it whether to set
    TCP_NODELAY on each accepted connection, and did not while the socket was made without IPPROTO_TCP."""

    async def accepted_option() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted: socket.socket = writer.get_extra_info("socket")
            seen.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        sock = _listen("127.0.0.1", 0)
        server = await asyncio.start_server(on_connect, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
            option = await asyncio.wait_for(seen, timeout=10)
            writer.close()
            return option

    assert asyncio.run(accepted_option()) != 0


def _call(
    connection: http.client.HTTPConnection, method: str, path: str, body: object, token: str
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    response = connection.getresponse()
    raw = response.read()  # read in full before the next request, as http.client requires on a kept-alive connection
    assert response.getheader("Connection", "").lower() != "close"
    return response.status, (json.loads(raw) if raw else {})


def test_one_kept_alive_http_client_connection_carries_every_request(start_host: StartHost) -> None:
    host = start_host()
    token = host.token()
    connection = http.client.HTTPConnection("127.0.0.1", host.port, timeout=10)
    connection.connect()
    local_port = connection.sock.getsockname()[1]
    try:
        for i in range(REQUESTS):
            user = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"keep{i}@contoso.com"}
            status, created = _call(connection, "POST", "/scim/v2/Users", user, token)
            assert (status, created["userName"]) == (201, user["userName"])
            query = f"/scim/v2/Users?filter=userName%20eq%20%22keep{i}%40contoso.com%22"
            status, found = _call(connection, "GET", query, None, token)
            assert (status, [r["id"] for r in found["Resources"]]) == (200, [created["id"]])
            patch = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "displayName", "value": f"Keep {i}"}],
            }
            status, _ = _call(connection, "PATCH", f"/scim/v2/Users/{created['id']}", patch, token)
            assert status == 204
            status, read = _call(connection, "GET", f"/scim/v2/Users/{created['id']}", None, token)
            assert (status, read["displayName"]) == (200, f"Keep {i}")
            # Still the one connection: http.client reconnects silently if the server closed it.
            assert connection.sock is not None and connection.sock.getsockname()[1] == local_port
    finally:
        connection.close()
