"""schemathesis, driven by docs/openapi.yaml, against the real local host (README "Hostile input").

Every operation of the document gets bounded generated requests, valid and invalid; each answer must be below
500, carry no traceback, and a refused write must leave the directory as it was (tests/e2e/fuzzing.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.result import Err, Ok

from scim.dev.devhost import routes_of
from scim.dev.localrun import load_function_app
from tests.e2e.fuzzing import Watch, start_fuzz_host
from tests.support.host import ROOT

pytestmark = pytest.mark.e2e

OPENAPI = ROOT / "docs" / "openapi.yaml"
EXAMPLES_PER_OPERATION = 25
ROUTES = routes_of(load_function_app().app)

# schemathesis' own pytest plugin does not run under this pytest (9.x); its strategies are driven by hypothesis here.
LOADED = schemathesis.openapi.from_path(OPENAPI)
T = TypeVar("T")
E = TypeVar("E", bound=Exception)


def _loaded(result: Ok[T] | Err[E]) -> T:
    """The operation, or the schema error that kept it from loading, raised."""
    if isinstance(result, Err):
        raise result.err()
    return result.ok()


OPERATIONS = {op.label: op for op in map(_loaded, LOADED.get_all_operations())}
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
FUZZED: set[tuple[str, schemathesis.GenerationMode]] = set()  # the (operation, mode) tests that have run


@pytest.fixture(scope="module")
def watch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watch]:
    host = start_fuzz_host(Path(tmp_path_factory.mktemp("fuzz-openapi")))
    try:
        watch = Watch(host, host.token())
        watch.refresh()
        yield watch
        watch.http.close()
        # Checked once every operation had its turn, in whatever order they ran: the fuzzer really sent requests.
        if FUZZED.issuperset((label, mode) for label in OPERATIONS for mode in MODES):
            print(f"schemathesis: {watch.requests} requests, statuses {sorted(watch.statuses.items())}")  # with -s
            assert watch.requests >= len(OPERATIONS) or watch.out_of_time()
    finally:
        host.stop()


def test_the_document_is_valid_openapi_3_1() -> None:
    """Checked against the OpenAPI 3.1 meta-schema (what API Management's import expects); unique operationIds."""
    assert str(LOADED.raw_schema["openapi"]).startswith("3.1")
    LOADED.validate()
    ids = [op.definition.raw["operationId"] for op in OPERATIONS.values()]
    assert len(ids) == len(set(ids)) == len(OPERATIONS)


def test_the_document_describes_every_route_of_function_app() -> None:
    documented = {label.split(" ", 1)[1].replace("{id}", "x") for label in OPERATIONS}
    for route in ROUTES:
        if route.catch_all:
            continue  # /scim/v2/{*rest} is the SCIM 404 for paths that are not served
        assert any(route.pattern.match(path) for path in documented), route.name


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_every_documented_operation_survives_generated_requests(
    label: str, mode: schemathesis.GenerationMode, watch: Watch
) -> None:
    operation = OPERATIONS[label]
    FUZZED.add((label, mode))
    ran = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        nonlocal ran
        if watch.out_of_time():
            return  # the wall-clock budget (tests/e2e/fuzzing.py) is spent: the rest of the examples are skipped
        ran += 1
        # schemathesis makes up bearer values from the security scheme; the valid token goes in instead, so the
        # requests reach the SCIM code (the auth guard's own refusals are the property suite's and test_abuse's).
        if not case.path.startswith("/oauth2"):
            case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
            case.headers.update(watch.auth)
        response = case.call(base_url=watch.host.url, timeout=30)
        watch.judge(case.method, response.status_code, response.content, f"{case.method} {case.formatted_path}")

    try:
        run()
    except Unsatisfiable:
        # An operation without parameters or body (GET /health) has no input to make invalid.
        assert mode is schemathesis.GenerationMode.NEGATIVE and not ran
        pytest.skip(f"{label} takes no input, so there is no invalid request to generate")
    assert ran or watch.out_of_time(), f"no example ran for {label}"
