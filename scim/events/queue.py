"""Azure Queue Storage for the change feed (azure-storage-queue, aio): one queue per directory.

Imported only when a queue service is configured, so `import function_app` never pays for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ServiceRequestError,
    ServiceResponseError,
)

from scim.errors import StoreUnavailable
from scim.events.relay import QueueRefused
from scim.protocol.changes import queue_name

__all__ = ["ChangeQueues", "Received"]

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential
    from azure.storage.queue.aio import QueueClient, QueueServiceClient

NEVER_EXPIRES = -1  # at least once: an event waits for its consumer however long that takes


@dataclass(frozen=True, slots=True)
class Received:
    """A message taken from a queue: its text and what deleting it needs."""

    id: str
    pop_receipt: str
    text: str


class ChangeQueues:
    """The directories' queues on one queue service; each queue is created on first use (idempotent)."""

    def __init__(self, service: QueueServiceClient, prefix: str) -> None:
        self._service = service
        self._prefix = prefix
        self._clients: dict[str, QueueClient] = {}
        self._credential: AsyncTokenCredential | None = None

    @classmethod
    def from_connection_string(cls, connection_string: str, prefix: str = "scim") -> ChangeQueues:
        """For Azurite (the development account's key is in the connection string)."""
        from azure.storage.queue.aio import QueueServiceClient

        return cls(QueueServiceClient.from_connection_string(connection_string, **_options()), prefix)

    @classmethod
    def from_endpoint(cls, endpoint: str, prefix: str = "scim") -> ChangeQueues:
        """For Azure: the app's managed identity (Storage Queue Data Contributor, granted by infra/), no key."""
        from azure.identity.aio import DefaultAzureCredential
        from azure.storage.queue.aio import QueueServiceClient

        credential = DefaultAzureCredential()
        queues = cls(QueueServiceClient(endpoint, credential=credential, **_options()), prefix)
        queues._credential = credential
        return queues

    def name(self, directory: str) -> str:
        return queue_name(self._prefix, directory)

    async def _queue(self, directory: str) -> QueueClient:
        client = self._clients.get(directory)
        if client is None:
            client = self._service.get_queue_client(self.name(directory))
            with _translated(), contextlib.suppress(ResourceExistsError):
                try:
                    await client.create_queue()
                except HttpResponseError as exc:
                    if exc.status_code != 403:  # a role that may not create queues works once infra made it
                        raise
            self._clients[directory] = client
        return client

    async def send(self, directory: str, text: str) -> None:
        """StoreUnavailable when Queue Storage does not answer; QueueRefused when it refuses the message (a 4xx)."""
        try:
            queue = await self._queue(directory)
            with _translated():
                await queue.send_message(text, time_to_live=NEVER_EXPIRES)
        except HttpResponseError as exc:  # _translated passed on only the 4xx answers
            raise QueueRefused(f"Queue Storage refused the message: {exc.status_code}") from exc

    async def receive(self, directory: str, *, limit: int = 32, visibility: int = 30) -> list[Received]:
        """Up to ``limit`` messages, hidden from other consumers for ``visibility`` seconds until deleted."""
        queue = await self._queue(directory)
        out: list[Received] = []
        with _translated():
            async for message in _messages(
                queue.receive_messages(
                    messages_per_page=min(limit, 32), max_messages=limit, visibility_timeout=visibility
                )
            ):
                out.append(Received(str(message.id), str(message.pop_receipt), str(message.content)))
                if len(out) >= limit:
                    break
        return out

    async def peek(self, directory: str, *, limit: int = 32) -> list[str]:
        """Up to 32 waiting messages, left on the queue."""
        queue = await self._queue(directory)
        with _translated():
            return [str(m.content) for m in await queue.peek_messages(max_messages=min(limit, 32))]

    async def delete(self, directory: str, message: Received) -> None:
        queue = await self._queue(directory)
        with _translated():
            await queue.delete_message(message.id, message.pop_receipt)

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        await self._service.close()
        if self._credential is not None:
            await self._credential.close()


async def _messages(pager: Any) -> AsyncIterator[Any]:
    async for message in pager:
        yield message


def _options() -> dict[str, Any]:
    # Fail fast like the Table store: a relay that cannot publish leaves the row for the sweep.
    return {"retry_total": 2, "connection_timeout": 3.0, "read_timeout": 10.0}


@contextlib.contextmanager
def _translated() -> Any:
    try:
        yield
    except (ServiceRequestError, ServiceResponseError, TimeoutError, OSError) as exc:
        raise StoreUnavailable("Queue Storage did not answer.") from exc
    except HttpResponseError as exc:
        if exc.status_code is None or exc.status_code in (408, 429, 500, 502, 503, 504):
            raise StoreUnavailable(f"Queue Storage answered {exc.status_code}.") from exc
        raise
