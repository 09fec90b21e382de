"""The function app served over a given store, for telemetry tests that watch what a request emits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from scim.app import build_app, install_app
from scim.store.base import Store
from tests.support.app import CLIENT_ID, make_app


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
