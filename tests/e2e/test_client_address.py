"""The local host takes the caller's address from the socket, never from a header the caller
wrote, unless SCIM_TRUSTED_PROXIES names the peer as a proxy (docs/security.md §4.2).
"""

from __future__ import annotations

import httpx
import pytest

from tests.support.host import StartHost

pytestmark = pytest.mark.e2e

ATTEMPTS = 60


def _bad_secrets_with_rotating_addresses(url: str, client_id: str) -> list[int]:
    statuses = []
    with httpx.Client(timeout=10) as http:
        for i in range(ATTEMPTS):
            form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": f"wrong-{i}"}
            forged = {"X-Forwarded-For": f"198.51.100.{i + 1}", "Forwarded": f"for=198.51.100.{i + 1}"}
            statuses.append(http.post(f"{url}/oauth2/token", data=form, headers=forged).status_code)
    return statuses


def test_a_forged_forwarded_header_does_not_dodge_the_failure_throttle(start_host: StartHost) -> None:
    host = start_host()
    statuses = _bad_secrets_with_rotating_addresses(host.url, host.client_id)
    assert set(statuses) <= {401, 429}, statuses
    assert 429 in statuses, "every attempt came from 127.0.0.1, so the address throttle must slow it down"


def test_a_trusted_proxy_setting_lets_the_forwarded_address_through(start_host: StartHost) -> None:
    host = start_host(SCIM_TRUSTED_PROXIES="127.0.0.1/32")
    statuses = _bad_secrets_with_rotating_addresses(host.url, host.client_id)
    # Behind a named proxy each forwarded address is its own caller: none reaches the per-address threshold.
    assert set(statuses) == {401}, statuses
    assert httpx.get(f"{host.url}/health", timeout=5).status_code == 200
