"""scimctl as the CLI tests drive it: its main() in this process, and the served endpoint, whichever store backs it."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from scim.cli import main
from tests.support.app import Client
from tests.support.host import Host

FORM = "application/x-www-form-urlencoded"


@dataclass
class Answer:
    status: int
    body: Any


class Http:
    """The served endpoint, whichever store backs it."""

    def __init__(self, base: str, host: Host | None) -> None:
        self.base = base
        self._host = host

    def call(self, method: str, path: str, *, token: str | None = None, body: Any = None, form: Any = None) -> Answer:
        headers = {"content-type": FORM if form else "application/scim+json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        raw = urlencode(form).encode() if form else (json.dumps(body).encode() if body is not None else b"")
        if self._host is None:
            reply = asyncio.run(Client(None).request(method, path, raw=raw, headers=headers, token=None))
            return Answer(reply.status, json.loads(reply.body) if reply.body else None)
        response = httpx.request(method, self.base + path, content=raw, headers=headers, timeout=15)
        return Answer(response.status_code, response.json() if response.content else None)

    def token(self, client_id: str, secret: str) -> Answer:
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        return self.call("POST", "/oauth2/token", form=form)


@dataclass
class Cli:
    """Runs scimctl's main(); records which commands ran, so a test can check that every command did."""

    capsys: pytest.CaptureFixture[str]
    store: str
    http: Http
    ran: set[tuple[str, ...]] = field(default_factory=set)
    err: str = ""
    out: str = ""

    def _record(self, argv: tuple[str, ...]) -> None:
        words = [a for a in argv if not a.startswith("-")]
        self.ran.add(tuple(words[:2]))
        self.ran.add(tuple(words[:1]))

    def __call__(self, *argv: str, code: int = 0) -> Any:
        """`scimctl --json ...`: the exit code, and the parsed JSON output."""
        self._record(argv)
        result = main(["--json", *argv])
        self.out, self.err = self.capsys.readouterr()
        assert result == code, (argv, self.out, self.err)
        return json.loads(self.out) if self.out.strip() else None

    def text(self, *argv: str, code: int = 0) -> str:
        self._record(argv)
        result = main(list(argv))
        self.out, self.err = self.capsys.readouterr()
        assert result == code, (argv, self.out, self.err)
        return self.out
