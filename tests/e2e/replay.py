"""Harness for replays of Microsoft's validators (README "Microsoft's validators"): each check a tool makes is asserted.

A replay counts what it asserts. ``same`` is a check asserted as the tool asserts it; ``rfc`` is one where the
tool pins only the reference server's private choice (an English detail string, a numeric ``status``, ``eTag``
casing, 200 with a body where RFC 7644 allows 204) and the replay asserts the RFC's version instead, with the
reason beside it. Every replay prints its counts, and the summary lists each ``rfc`` check with its reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.host import Host

SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"

# Why the replays assert the RFC's version where a tool pins the reference server's own (cited beside each use).
STATUS_STRING = 'RFC 7644 §3.12: the Error\'s status is a JSON string ("400"); the reference server sends a number'
PATCH_204 = "RFC 7644 §3.5.2: a PATCH answers 200 with the resource or 204 No Content; this service answers 204"
DETAIL_TEXT = (
    "RFC 7644 §3.12: detail is human-readable and free-form; this service names what to fix instead of the "
    "reference server's fixed English sentence"
)


@dataclass
class Replay:
    """One tool's replay against one host: an httpx client with the bearer token, and the check counts."""

    tool: str
    host: Host
    same: int = 0
    rfc: list[str] = field(default_factory=list)
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        headers = {"Authorization": f"Bearer {self.host.token()}", "Accept": SCIM_JSON}
        self.http = httpx.Client(base_url=self.host.scim_url + "/", headers=headers, timeout=30)

    def close(self) -> None:
        self.http.close()

    # Requests ----------------------------------------------------------------------------------
    def send(self, method: str, path: str, body: Any = None, *, raw: str | None = None) -> httpx.Response:
        """A request as the tools send it: JSON bodies with Content-Type application/json (Playwright, Logic App)."""
        content = raw if raw is not None else None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"} if content is not None else {}
        return self.http.request(method, path, content=content, headers=headers)

    # Checks ------------------------------------------------------------------------------------
    def check(self, ok: bool, what: str) -> None:
        """A check the tool makes, asserted as the tool asserts it."""
        assert ok, f"{self.tool}: {what}"
        self.same += 1

    def differs(self, ok: bool, what: str, reason: str) -> None:
        """A check the tool makes where the replay asserts the RFC's version (``reason`` says why)."""
        assert ok, f"{self.tool}: {what} (asserted as: {reason})"
        self.rfc.append(f"{what}: {reason}")

    def status(self, response: httpx.Response, *expected: int, what: str) -> Any:
        """The status check every tool makes; returns the JSON body (None when there is none)."""
        self.check(response.status_code in expected, f"{what}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def patched(self, response: httpx.Response, what: str) -> None:
        """A PATCH the tool expects to answer 200 with a body: 204 with the new ETag here."""
        ok = response.status_code == 204 and bool(response.headers.get("ETag"))
        self.differs(ok, f"{what}: {response.status_code} {response.text[:300]}", PATCH_204)

    def error(
        self, response: httpx.Response, status: int, what: str, scim_type: str | None = None, *, numeric: bool = False
    ) -> None:
        """An error response: the status, the Error schema, status as a string, a detail that says something.

        ``numeric``: the tool asserts ``status`` as a JSON number (the reference server's choice)."""
        body = self.status(response, status, what=what)
        self.check(isinstance(body, dict) and ERROR in body.get("schemas", []), f"{what}: Error schema")
        self.check(bool(body.get("detail")), f"{what}: has a detail")
        if numeric:
            self.differs(body.get("status") == str(status), f"{what}: status {status}", STATUS_STRING)
        else:
            self.check(body.get("status") == str(status), f"{what}: status {status}")
        if scim_type is not None:
            self.check(body.get("scimType") == scim_type, f"{what}: scimType {scim_type}, got {body.get('scimType')}")

    def summary(self) -> str:
        lines = [f"{self.tool}: {self.same} checks passed as the tool asserts them, {len(self.rfc)} asserted as RFC"]
        lines += [f"  differs: {line}" for line in self.rfc]
        return "\n".join(lines)


def listing(body: Any) -> list[dict[str, Any]]:
    """The Resources of a ListResponse (the tools index it directly)."""
    assert isinstance(body, dict) and body.get("schemas") == [LIST_RESPONSE], body
    resources = body.get("Resources")
    assert isinstance(resources, list), body
    return resources


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}
