"""A transport for the Azure SDK that loses the k-th request or its response, to test partial failures."""

from __future__ import annotations

import inspect
from types import TracebackType
from typing import Any, Literal

from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from azure.core.pipeline.transport import AioHttpTransport, AsyncHttpTransport

When = Literal["before", "after"]


class FaultyTransport(AsyncHttpTransport[Any, Any]):
    """Wraps the aiohttp transport; ``arm(k, when)`` fails the k-th next call before or after it reaches the server.

    "before": the request never arrives (nothing written). "after": the server applied it and the
    answer is lost, the harder case for a store, since the caller believes the write failed.
    """

    def __init__(self) -> None:
        self.inner = AioHttpTransport()
        self.calls = 0
        self.fail_at: int | None = None
        self.when: When = "before"
        self.fired = False

    def arm(self, k: int, when: When) -> None:
        self.fail_at, self.when, self.fired = self.calls + k, when, False

    def disarm(self) -> None:
        self.fail_at = None

    async def send(self, request: Any, **kwargs: Any) -> Any:
        self.calls += 1
        hit = self.calls == self.fail_at
        if hit and self.when == "before":
            self.fired = True
            raise ServiceRequestError("injected fault: request lost")
        response = await self.inner.send(request, **kwargs)
        if hit:
            self.fired = True
            reader = getattr(response, "read", None) or response.load_body
            await reader()
            closing = getattr(response, "close", None)
            if closing is not None and inspect.iscoroutinefunction(closing):
                await closing()
            raise ServiceResponseError("injected fault: response lost")
        return response

    async def open(self) -> None:
        await self.inner.open()

    async def close(self) -> None:
        await self.inner.close()

    async def __aenter__(self) -> FaultyTransport:
        await self.inner.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.inner.__aexit__(exc_type, exc, tb)
