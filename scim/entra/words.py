"""What Entra's answers mean, in plain words: Test Connection failures and provisionOnDemand verdicts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

# What Entra's Test Connection error text says about our endpoint, and what the admin does about it
# (docs/reference/entra-wire.md §3.4-3.5: 401 -> invalid credentials, 404 -> wrong Tenant URL).
_TEST_CONNECTION = (
    (("401", "unauthorized", "invalid credentials"),
     "the endpoint refused the saved token (401): it is wrong, revoked or for another directory; "
     "run `scimctl entra setup` again to issue and save a new one"),
    (("403", "forbidden"),
     "the endpoint answered 403: the client's allowed networks do not include Entra's provisioning "
     "addresses (`scimctl client set-networks`), or an access restriction blocks them"),
    (("404", "not found"),
     "the Base URL answered 404: the path is wrong; it must end in /scim/v2 (check SCIM_PUBLIC_BASE_URL)"),
    (("timed out", "timeout", "could not be resolved", "unreachable", "connect", "ssl", "certificate"),
     "Entra could not reach the Base URL: it must be a public HTTPS address with a trusted certificate that "
     "answers within 60 seconds (`scimctl doctor` checks it from your machine)"),
)  # fmt: skip


def test_connection_failure(code: str, message: str) -> str:
    """Graph's validateCredentials error, explained; Graph's own text follows so nothing is lost."""
    text = f"{code} {message}".lower()
    for needles, meaning in _TEST_CONNECTION:
        if any(n in text for n in needles):
            return f"{meaning}. Entra said: {code}: {message}"
    return f"Test Connection failed. Entra said: {code}: {message}"


@dataclass(frozen=True, slots=True)
class Verdict:
    result: str  # Success, Skipped or Failure, as Entra reports it
    words: str
    error_code: str
    error_message: str
    steps: list[dict[str, Any]]

    @property
    def failed(self) -> bool:
        return self.result not in ("Success", "Skipped")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _json_string(text: Any) -> dict[str, Any]:
    if isinstance(text, dict):
        return text
    try:
        parsed = json.loads(str(text or "{}"))
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def on_demand_verdict(reply: dict[str, Any], subject: str) -> Verdict:
    """provisionOnDemand answers 200 even when provisioning failed: the verdict is the JSON string in `key`,
    the steps the JSON string in `value` (synchronization-synchronizationjob-provisionondemand.md)."""
    key, value = _json_string(reply.get("key")), _json_string(reply.get("value"))
    result = str(key.get("result") or "Unknown")
    details = _dict(key.get("details"))
    code, message = str(details.get("errorCode") or ""), str(details.get("errorMessage") or "")
    steps = [s for s in value.get("provisioningSteps") or [] if isinstance(s, dict)]
    status = _dict(value.get("statusInfo"))
    reason = str(status.get("reason") or status.get("additionalDetails") or "")
    last = next((str(s.get("description")) for s in reversed(steps) if s.get("description")), "")
    failed_step = next((s for s in steps if str(s.get("status", "")).lower() == "failure"), None)
    if result == "Success":
        words = f"{subject} was provisioned. {last}".strip()
    elif result == "Skipped":
        words = f"Nothing was sent for {subject}: {message or last or 'Entra skipped it'}."
    else:
        where = f" at step {failed_step.get('name')} ({failed_step.get('description')})" if failed_step else ""
        detail = " ".join(part for part in (message, reason) if part) or "no detail given"
        words = f"Provisioning {subject} failed{where}: {code or result}: {detail}"
    return Verdict(result, words.replace("..", "."), code, message or reason, steps)


def unreachable(exc: BaseException, url: str) -> str:
    """Why the host of ``url`` did not answer, in words, from what requests raised (not its repr, which names
    connection pools and retry counters)."""
    host = urlsplit(url).hostname or url
    reason = getattr(exc.args[0], "reason", None) if exc.args else None  # urllib3's MaxRetryError carries it
    if isinstance(reason, urllib3.exceptions.NameResolutionError):
        return (
            f"{host} does not resolve: this machine is offline, or its DNS cannot find it (a VPN, proxy or firewall?)"
        )
    if isinstance(exc, requests.Timeout):
        return f"{host} did not answer in time"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"the TLS connection to {host} failed (a proxy that inspects TLS? set REQUESTS_CA_BUNDLE to its CA)"
    if isinstance(exc, requests.ConnectionError):
        return f"{host} could not be reached (the connection was refused or reset)"
    return f"{host} did not answer ({type(exc).__name__})"
