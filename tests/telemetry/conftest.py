"""An in-memory span exporter installed as the global tracer provider (OpenTelemetry allows one per process)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from scim.app import build_app, install_app
from scim.store.base import Store
from tests.conftest import CLIENT_ID, make_app
from tests.support.azurite import Azurite

EXPORTER = InMemorySpanExporter()


def _install() -> None:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(EXPORTER))


_install()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    EXPORTER.clear()
    yield EXPORTER
    EXPORTER.clear()


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """An in-memory Azurite on a free port for the session's Table Storage telemetry tests."""
    with Azurite() as running:
        yield running


@asynccontextmanager
async def serving(store: Store) -> AsyncIterator[str]:
    """The function app served over ``store`` (the seeded directory and client copied in); yields a bearer token."""
    seeded = await make_app()
    app = build_app(seeded.settings, store=store, secret_store=seeded.secrets)
    await app.store.put_directory(await seeded.store.get_directory("dev"))  # type: ignore[arg-type]
    await app.store.put_client(await seeded.store.get_client(CLIENT_ID))  # type: ignore[arg-type]
    install_app(app)
    try:
        token, _ = await app.tokens.issue(CLIENT_ID, "dev", ttl=3600)
        yield token
    finally:
        install_app(None)
        await app.close()
        await seeded.close()
