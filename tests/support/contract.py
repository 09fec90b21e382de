"""Contract-suite helpers: the factory of apps under other policies, and a spy on the store's member reads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from scim.app import App
from tests.support.app import Client

AppFactory = Callable[..., Awaitable[tuple[App, Client]]]


class MemberReads:
    """Records every ``with_members`` flag the services pass to the store (excludedAttributes=members, §1.5)."""

    def __init__(self, app: App) -> None:
        self.flags: list[bool] = []
        store: Any = app.store
        for name in ("get_group", "query_groups"):
            original = getattr(store, name)
            setattr(store, name, self._wrap(original))

    def _wrap(self, original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def spy(*args: Any, **kwargs: Any) -> Any:
            self.flags.append(bool(kwargs.get("with_members")))
            return await original(*args, **kwargs)

        return spy
