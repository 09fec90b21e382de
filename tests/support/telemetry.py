"""For telemetry tests that watch what a request emits: the function app over a given store, a root log handler."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TypeVar

from scim.app import build_app, install_app
from scim.store.base import Store
from tests.support.app import CLIENT_ID, make_app

H = TypeVar("H", bound=logging.Handler)


@contextmanager
def on_root_logger(handler: H) -> Iterator[H]:
    """``handler`` on the root logger, which logs DEBUG and up for the block; handlers and level restored after."""
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


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
