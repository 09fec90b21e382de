"""The function app called in-process: its triggers, the seeded `dev` directory and client, and an HTTP-like client."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func

from scim.app import App, build_app
from scim.config import load_settings
from scim.dev.devhost import routes_of
from scim.dev.localrun import load_function_app, seed
from scim.secrets import MemorySecretStore
from scim.store.memory import MemoryStore

FUNCTION_APP = load_function_app().app
ROUTES = routes_of(FUNCTION_APP)  # get_functions() may run once per FunctionApp
CLIENT_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
CLIENT_SECRET = "test-secret-" + "x" * 40
BASE = "http://127.0.0.1:7071"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """Calls function_app's registered triggers with azure.functions request objects."""

    def __init__(self, token: str | None) -> None:
        self.token = token

    async def request(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        token: str | None = "default",
    ) -> Reply:
        parts = urlsplit(url)
        path = parts.path
        all_headers = {"content-type": "application/scim+json", "x-forwarded-for": "127.0.0.1"}
        use = self.token if token == "default" else token
        if use:
            all_headers["authorization"] = f"Bearer {use}"
        all_headers.update({k.lower(): v for k, v in (headers or {}).items()})
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        for route in ROUTES:
            match = route.pattern.match(path)
            if match and method.upper() in route.methods:
                request = func.HttpRequest(
                    method=method.upper(),
                    url=BASE + url,
                    headers=all_headers,
                    params=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    route_params={k: v for k, v in match.groupdict().items() if v is not None},
                    body=payload,
                )
                response = await route.handler(request)
                return Reply(response.status_code, dict(response.headers), response.get_body())
        raise AssertionError(f"no trigger serves {method} {path}")

    async def get(self, url: str, **kw: Any) -> Reply:
        return await self.request("GET", url, **kw)

    async def post(self, url: str, body: Any = None, **kw: Any) -> Reply:
        return await self.request("POST", url, body=body, **kw)

    async def put(self, url: str, body: Any = None, **kw: Any) -> Reply:
        return await self.request("PUT", url, body=body, **kw)

    async def patch(self, url: str, body: Any = None, **kw: Any) -> Reply:
        return await self.request("PATCH", url, body=body, **kw)

    async def delete(self, url: str, **kw: Any) -> Reply:
        return await self.request("DELETE", url, **kw)


async def make_app(policy: str = "strict", role_mode: str = "single", *, unique_external_id: bool = False) -> App:
    settings = load_settings({"SCIM_STORE": "memory", "SCIM_PUBLIC_BASE_URL": BASE})
    app = build_app(settings, store=MemoryStore(), secret_store=MemorySecretStore())
    await seed(app, CLIENT_ID, CLIENT_SECRET, policy)
    directory = await app.store.get_directory("dev")
    assert directory is not None
    directory.role_mode = role_mode  # type: ignore[assignment]
    directory.unique_external_id = unique_external_id
    await app.store.put_directory(directory)
    return app
