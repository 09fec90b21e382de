"""One small Microsoft Graph client: bearer auth, paging, and retries for throttling and eventual consistency.

Retries (Graph's "throttling guidance" page; docs/reference/entra-setup.md §3):
- 429, 503 and 504 wait for Retry-After (seconds or an HTTP date), else back off exponentially;
- a call marked ``eventual`` also retries 404: a service principal made a moment ago is not yet readable
  everywhere (Posit's scripts wait 12 x 5 s; terraform-provider-azuread#1628 sees the same on jobs).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from scim.config import ENTRA_GRAPH_URL
from scim.entra.words import unreachable

THROTTLED = frozenset({429, 503, 504})
MAX_ATTEMPTS = 6
MAX_WAIT = 120.0  # seconds for one wait, whatever Retry-After asks
EVENTUAL_WAITS = (2.0, 4.0, 8.0, 15.0, 30.0)  # about a minute in all, as Posit's scripts allow
TIMEOUT = 60.0

Sleep = Callable[[float], None]
Notify = Callable[[str], None]


class GraphError(Exception):
    """A Graph call that failed for good; str() says what failed and, where known, what to do."""

    def __init__(self, method: str, path: str, status: int, code: str, message: str, *, request_id: str = "") -> None:
        self.method, self.path, self.status, self.code, self.message = method, path, status, code, message
        self.request_id = request_id
        super().__init__(self._words())

    def _words(self) -> str:
        where = f"{self.method} {_bare(self.path)}"
        text = f"Microsoft Graph refused {where}: HTTP {self.status} {self.code}: {self.message}".rstrip(": ")
        if self.status == 0:
            text = f"Microsoft Graph could not be reached for {where}: {self.message}"
        elif self.status == 401:
            text += " (the sign-in token was not accepted: sign in again, or check --tenant)"
        elif self.status == 403:
            text += " (the signed-in admin or app lacks a permission: docs/deploy.md lists the ones each command needs)"
        if self.request_id:
            text += f" [request-id {self.request_id}]"
        return text


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any  # parsed JSON, or None for 204 and empty bodies


def retry_after(value: str | None, attempt: int) -> float:
    """Seconds to wait: Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3), else 2**attempt."""
    if value:
        text = value.strip()
        if text.isdigit():
            return min(float(text), MAX_WAIT)
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return min(max((when - datetime.now(UTC)).total_seconds(), 0.0), MAX_WAIT)
    return min(float(2**attempt), MAX_WAIT)


class Graph:
    """Graph calls with a token from ``token``; ``sleep`` and ``notify`` are how retries wait and tell."""

    def __init__(
        self,
        token: Callable[[], str],
        session: requests.Session,
        *,
        base: str = ENTRA_GRAPH_URL,
        sleep: Sleep = time.sleep,
        notify: Notify | None = None,
        refused: Callable[[], None] | None = None,
    ) -> None:
        self._token = token
        self._refused = refused  # told when Graph answers 401, so one retry gets a fresh token
        self._session = session
        self.base = base.rstrip("/")
        self._sleep = sleep
        self._notify = notify or (lambda _: None)

    def close(self) -> None:
        """Close the HTTP session (msal's calls share it)."""
        self._session.close()

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, str] | None = None,
        eventual: bool = False,
        version: str = "v1.0",
    ) -> Reply:
        """One Graph call with retries; raises GraphError for any final status of 400 or more."""
        url = path if path.startswith(self.base) else f"{self.base}/{version}{path}"
        eventual_waits = list(EVENTUAL_WAITS) if eventual else []
        fresh_token = self._refused is not None
        for attempt in range(MAX_ATTEMPTS + len(eventual_waits) + 1):
            response = self._send(method, url, path, body, params)
            status = response.status_code
            content = response.content  # read now, so a retried answer's connection goes back to the pool
            if status == 401 and fresh_token and self._refused is not None:
                fresh_token = False  # a cached token revoked or expired early: one retry with a new one
                self._refused()
                continue
            if status in THROTTLED and attempt < MAX_ATTEMPTS - 1:
                wait = retry_after(response.headers.get("Retry-After"), attempt)
                self._notify(f"Graph answered {status} to {method} {_bare(path)}; retrying in {wait:g} s")
                self._sleep(wait)
                continue
            if status == 404 and eventual_waits:
                wait = eventual_waits.pop(0)
                self._notify(f"{_bare(path)} is not visible yet (Graph replicates new objects); retry in {wait:g} s")
                self._sleep(wait)
                continue
            if status >= 400:
                raise _error(method, path, response)
            return Reply(status, response.json() if content else None)
        raise _error(method, path, response)

    def get(self, path: str, *, params: dict[str, str] | None = None, eventual: bool = False) -> Any:
        return self.call("GET", path, params=params, eventual=eventual).body

    def list(self, path: str, *, params: dict[str, str] | None = None, eventual: bool = False) -> list[Any]:
        """Every item of a collection, following @odata.nextLink (Graph's paging page)."""
        page = self.get(path, params=params, eventual=eventual) or {}
        items = list(page.get("value", []))
        while page.get("@odata.nextLink"):
            link = str(page["@odata.nextLink"])
            if not link.startswith(self.base + "/"):  # never send the token to another host
                raise GraphError("GET", path, 0, "", f"a next page link points elsewhere ({_bare(link)})")
            page = self.get(link) or {}
            items.extend(page.get("value", []))
        return items

    def _send(self, method: str, url: str, path: str, body: Any, params: dict[str, str] | None) -> requests.Response:
        headers = {"Authorization": f"Bearer {self._token()}", "Accept": "application/json"}
        try:
            return self._session.request(method, url, json=body, params=params, headers=headers, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise GraphError(method, path, 0, "", unreachable(exc, url)) from None


def _bare(path: str) -> str:
    """A path without its query (a $filter may hold a name; errors and notes show the path only)."""
    return path.split("?", maxsplit=1)[0]


def _error(method: str, path: str, response: requests.Response) -> GraphError:
    """Graph's error body is {"error": {"code", "message", "innerError": {"request-id"}}} (Graph errors page)."""
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    if not isinstance(error, dict):
        error = {}
    inner = error.get("innerError") or error.get("innererror") or {}
    request_id = str(inner.get("request-id", "")) if isinstance(inner, dict) else ""
    return GraphError(
        method,
        path,
        response.status_code,
        str(error.get("code", "")),
        str(error.get("message", response.reason or "")),
        request_id=request_id or response.headers.get("request-id", ""),
    )
