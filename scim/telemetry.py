"""OpenTelemetry for on-call engineers: one span per request with SCIM dimensions, child spans for storage and
Key Vault, round trips counted per request, and nothing sensitive unless SCIM_LOG_PII allows it.

In Azure the Functions worker configures the Azure Monitor exporter itself when
PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY=true (docs/reference/azure.md §3), so this module only
uses the OpenTelemetry API; scim/dev/console.py sets up console and opt-in OTLP export for `make run`.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

T = TypeVar("T")
log = logging.getLogger("scim.telemetry")

_tracer = trace.get_tracer("scim")
_round_trips: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("scim_round_trips", default=None)
# What annotate() recorded of the current request, for the health record (which must not read spans: a sampled-out
# or unconfigured span keeps nothing).
_facts: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("scim_request_facts", default=None)

# Attribute names: stable, so the runbook's KQL queries keep working (customDimensions["scim.operation"]).
# The Azure Monitor exporter keeps every attribute outside its standard prefixes (http., url., client., ...) as a
# customDimension; http.response.status_code becomes the row's resultCode instead (tests/telemetry/test_envelopes.py).
OPERATION = "scim.operation"
ROUTE = "scim.route"
# The caller's address: the component masks client_IP by default, and allowed networks are judged on this value.
CLIENT_ADDRESS = "scim.client_address"
REFUSAL = "scim.refusal"
OUTCOME = "scim.outcome"
SCIM_TYPE = "scim.scim_type"
STATUS = "http.response.status_code"
ROUND_TRIPS = "scim.store.round_trips"
DURATION_MS = "scim.duration_ms"
# annotate() adds the rest as scim.<keyword>: scim.directory, scim.client_id, scim.resource_id, ...

_VERBS = {"GET": "get", "POST": "create", "PUT": "replace", "PATCH": "patch", "DELETE": "delete"}
_NOUNS = {"users": "user", "groups": "group"}


def operation_name(route: str, method: str, has_id: bool) -> str:
    """user.create, group.patch, user.list, token.issue, discovery.schemas, ..."""
    if route == "token":
        return "token.issue"
    if route == "events":
        return "events.jwks" if has_id else "events.poll"
    if route in _NOUNS:
        verb = "list" if method.upper() == "GET" and not has_id else _VERBS.get(method.upper(), method.lower())
        return f"{_NOUNS[route]}.{verb}"
    if route.startswith("health"):
        return route.replace("_", ".")
    if route == "unknown":
        return "route.unknown"
    return f"discovery.{route}"


_REFUSED = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "throttled",
}


def refusal_reason(status: int, scim_type: str | None) -> str | None:
    """Why a request was refused, one word per kind (the scimType when there is one); None unless a 4xx."""
    if not 400 <= status < 500:
        return None
    return scim_type or _REFUSED.get(status, f"http_{status}")


def outcome(status: int) -> str:
    if status < 400:
        return "success"
    if status == 503:
        return "unavailable"
    return "client_error" if status < 500 else "server_error"


@contextmanager
def request_span(route: str, method: str, operation: str, client_address: str = "") -> Iterator[Span]:
    """The request's span; storage round trips made inside it are counted."""
    counter: list[int] = [0]
    token = _round_trips.set(counter)
    facts_token = _facts.set({})
    started = time.perf_counter()
    # No http.route: the exporter would name the request row "{method} {route}" ("GET users" for both user.get
    # and user.list) instead of the span's name, which is the operation every runbook query filters on.
    attributes = {OPERATION: operation, ROUTE: route, "http.request.method": method, CLIENT_ADDRESS: client_address}
    with _tracer.start_as_current_span(operation, kind=SpanKind.SERVER, attributes=attributes) as span:
        try:
            yield span
        finally:
            span.set_attribute(ROUND_TRIPS, counter[0])
            span.set_attribute(DURATION_MS, round((time.perf_counter() - started) * 1000, 3))
            _round_trips.reset(token)
            _facts.reset(facts_token)


# C0/C1 controls, DEL, Unicode line and paragraph separators, bidi overrides and isolates, and the backslash that
# starts an escape (so an escaped value never reads as another value): what could forge or repaint a log line.
_UNSAFE = re.compile(r"[\\\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
MAX_LOGGED = 1024


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return "\\\\" if char == "\\" else f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def escape(value: object) -> str:
    """A request value made safe for one log line or span attribute: controls escaped, length bounded."""
    text = str(value)
    if len(text) > MAX_LOGGED:
        text = text[:MAX_LOGGED] + "…"
    return _UNSAFE.sub(_escaped, text)


def annotate(**attributes: str | int | None) -> None:
    """Set ``scim.*`` attributes on the current span; strings (request values among them) are escaped."""
    span = trace.get_current_span()
    facts = _facts.get()
    for key, value in attributes.items():
        if value is not None:
            span.set_attribute(f"scim.{key}", escape(value) if isinstance(value, str) else value)
            if facts is not None:
                facts[key] = value


def request_facts() -> dict[str, Any]:
    """What annotate() recorded of the current request (directory, client_id, refusal, ...)."""
    return _facts.get() or {}


def finish(span: Span, status: int, scim_type: str | None, refusal: str | None = None) -> None:
    """Status, outcome and, for a refused request, its scimType and the reason on-call counts refusals by."""
    span.set_attribute(STATUS, status)
    span.set_attribute(OUTCOME, outcome(status))
    if scim_type:
        span.set_attribute(SCIM_TYPE, scim_type)
    if refusal:
        span.set_attribute(REFUSAL, refusal)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
    elif status >= 400:
        # A refused request is a failure for the on-call query even though the service behaved correctly.
        span.set_status(Status(StatusCode.ERROR, scim_type or f"HTTP {status}"))


def count_round_trip(n: int = 1) -> None:
    """Called by a store for every network call it makes, so spans report exact round trips per request."""
    counter = _round_trips.get()
    if counter is not None:
        counter[0] += n


@contextmanager
def client_span(name: str) -> Iterator[Span]:
    """A CLIENT child span around one outbound call; failures record the exception type only."""
    with _tracer.start_as_current_span(name, kind=SpanKind.CLIENT, record_exception=False) as span:
        try:
            yield span
        except Exception as exc:
            # The type only: exception text can carry user data.
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise


def traced(kind: str, name: str, call: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """Wrap a store or secret-store coroutine in a CLIENT child span named ``<kind>.<name>``."""

    @functools.wraps(call)
    async def wrapper(*args: Any, **kwargs: Any) -> T:
        with client_span(f"{kind}.{name}"):
            return await call(*args, **kwargs)

    return wrapper


class Traced:
    """A proxy over a store: each coroutine method gets a child span (``spans``) and counts a round trip."""

    def __init__(self, target: Any, kind: str, *, spans: bool, counts_round_trips: bool) -> None:
        self._target = target
        self._kind = kind
        self._spans = spans
        self._counts = counts_round_trips

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if name.startswith("_") or not callable(attribute) or not _is_coroutine_function(attribute):
            return attribute
        wrapped = traced(self._kind, name, attribute) if self._spans else attribute
        if self._counts:
            inner = wrapped

            async def counting(*args: Any, **kwargs: Any) -> Any:
                count_round_trip()
                return await inner(*args, **kwargs)

            wrapped = counting
        setattr(self, name, wrapped)  # cache: one wrapper per method
        return wrapped


def untraced(target: Any) -> Any:
    """The object a Traced proxy wraps (or ``target`` itself): for code that dispatches on the store's type."""
    return target._target if isinstance(target, Traced) else target


def _is_coroutine_function(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn)


# The change feed's lag as on-call reads it: the age of the oldest event the sweep found still waiting.
FEED_LAG = "scim.feed.lag_seconds"
FEED_SENT = "scim.feed.sent"


async def observed_sweep(relay: Any, store: Any) -> int:
    """Run the relay's sweep in a ``change_feed.sweep`` request span that records the feed's lag and what it sent."""
    with _tracer.start_as_current_span(
        "change_feed.sweep", kind=SpanKind.SERVER, attributes={OPERATION: "change_feed.sweep"}
    ) as span:
        waiting = await store.outbox_pending(limit=1, min_age=relay.sweep_min_age)
        lag = 0.0
        if waiting and waiting[0].events:
            sent_at = datetime.fromisoformat(waiting[0].events[0]["time"].replace("Z", "+00:00"))
            lag = max((datetime.now(UTC) - sent_at).total_seconds(), 0.0)
        span.set_attribute(FEED_LAG, round(lag, 3))
        sent: int = await relay.sweep()
        span.set_attribute(FEED_SENT, sent)
        return sent
