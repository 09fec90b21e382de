"""scim2-tester (python-scim) against the real local host over HTTP, with a bearer token from /oauth2/token.

Every check must succeed in each role mode (single and multiple), on memory and on Table Storage, for each seed of
SEEDS; EXCLUDED is empty.
A check is named "<resource type> <check> [<attribute>]".
"""

from __future__ import annotations

import random
from typing import Any, cast

import httpx
import pytest
from scim2_client import BaseSyncSCIMClient
from scim2_client.client import RawResponse
from scim2_tester import CheckResult, Status, check_server

from tests.support.host import StartHost

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


# Nothing is left out: root POST /.search is served and roles and entitlements are kept apart. A check
# left out would be listed here with the reference that justifies it.
EXCLUDED: dict[str, str] = {}

FAILED = {Status.ERROR, Status.CRITICAL}


class HttpxSCIMClient(BaseSyncSCIMClient):
    """scim2-client over httpx (scim2-client ships an httpx2 engine; httpx is what this project pins)."""

    def __init__(self, client: httpx.Client, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client

    def _stays_under_base_url(self, endpoint: str) -> bool:
        url = self.client.build_request("GET", endpoint).url
        return url.host == self.client.base_url.host and url.path.startswith(self.client.base_url.path)

    def _parse_json(self, response: RawResponse) -> Any:
        return cast(httpx.Response, response).json()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, url, **kwargs)


def check_name(result: CheckResult) -> str:
    name = f"{result.resource_type or '-'} {result.title}"
    if isinstance(result.data, dict) and isinstance(result.data.get("urn"), str):
        name += f" {result.data['urn']}"
    return name


def summary(results: list[CheckResult]) -> str:
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status.name] = counts.get(result.status.name, 0) + 1
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


# scim2-tester draws values with the `random` module (a role's `primary` among them), so one run passes or fails
# by luck; each seed replays one draw. Before that was fixed, single role mode failed seed 0 (roles), 1 (roles and
# entitlements) and 2 (entitlements); together they draw `primary` false and true for both.
SEEDS = (0, 1, 2)


@pytest.mark.parametrize("role_mode", ["single", "multiple"])
@pytest.mark.parametrize("store", ["memory", pytest.param("tables", marks=pytest.mark.azurite)])
def test_scim2_tester_finds_no_failure(store: str, role_mode: str, request: pytest.FixtureRequest) -> None:
    start: StartHost = request.getfixturevalue("start_host" if store == "memory" else "start_tables_host")
    # `create`: the tester invents group and role names (random GUIDs) that no catalog holds. Every role mode the
    # product offers runs: in both, a role added with "primary": false reads back false.
    host = start("create", SCIM_DEV_ROLE_MODE=role_mode)
    for seed in SEEDS:
        random.seed(seed)
        with httpx.Client(
            base_url=host.scim_url + "/", headers={"Authorization": f"Bearer {host.token()}"}, timeout=30
        ) as http:
            results = check_server(HttpxSCIMClient(http))
        _assert_no_failure(results, f"{store}, {role_mode} role mode, seed {seed}")


def _assert_no_failure(results: list[CheckResult], run: str) -> None:
    by_name: dict[str, list[CheckResult]] = {}
    for result in results:
        by_name.setdefault(check_name(result), []).append(result)
    print(f"\nscim2-tester ({run}): {len(results)} checks: {summary(results)}")

    failures = [
        f"{name}: {r.reason}\n    data: {str(r.data)[:400]}"
        for name, rs in by_name.items()
        for r in rs
        if r.status in FAILED and name not in EXCLUDED
    ]
    missing = [name for name in EXCLUDED if name not in by_name]
    for name in EXCLUDED:
        print(f"  excluded {name}: {[r.status.name for r in by_name.get(name, [])]}")

    assert not failures, f"scim2-tester failures ({run}):\n" + "\n".join(failures)
    assert not missing, f"no such check ran (renamed upstream?): {missing}"
    # scim2-tester 0.5.2 (pinned) runs 135 checks here; every one succeeds (none skipped), in every mode and store.
    assert len(results) >= 135 and all(r.status == Status.SUCCESS for r in results), summary(results)
