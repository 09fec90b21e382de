"""`scimctl doctor` against a host with the change feed on: its throwaway user never reaches the directory's queue.

A consumer (a PAM product, say) creates an account for every user.created it reads; doctor's round trip must not
make it create and delete one.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from scim.cli import main
from scim.dev.azurite import Azurite
from scim.events.queue import ChangeQueues
from tests.support.host import Host, StartHost

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
pytestmark = [pytest.mark.azurite, pytest.mark.e2e]


async def _events_until(azurite: Azurite, prefix: str, resource_id: str) -> list[dict[str, Any]]:
    """Every event on the dev queue, read until one names ``resource_id`` (the host publishes in the background)."""
    queues = ChangeQueues.from_connection_string(azurite.queue_connection_string, prefix)
    found: list[dict[str, Any]] = []
    try:
        for _ in range(100):
            for message in await queues.receive("dev", limit=32):
                found.append(json.loads(message.text))
                await queues.delete("dev", message)
            if any(e["resourceId"] == resource_id for e in found):
                return found
            await asyncio.sleep(0.1)
    finally:
        await queues.close()
    raise AssertionError(f"no event for {resource_id} in {found}")


def test_doctors_throwaway_user_is_kept_off_the_feed(
    start_host: StartHost, azurite: Azurite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = "dr" + secrets.token_hex(4)
    host: Host = start_host(
        "create",
        SCIM_STORE="tables",
        SCIM_TABLES_CONNECTION_STRING=azurite.connection_string,
        SCIM_QUEUES_CONNECTION_STRING=azurite.queue_connection_string,
        SCIM_TABLE_PREFIX=prefix,
        SCIM_SECRETS_FILE=str(tmp_path / "secrets.json"),
    )
    argv = ["doctor", "--base-url", host.scim_url, "--client-id", host.client_id, "--client-secret", host.client_secret]
    assert main([*argv, "--json"]) == 0
    checks = json.loads(capsys.readouterr().out)
    assert checks[-1]["step"] == "user round trip" and checks[-1]["ok"]

    entra = {"Authorization": f"Bearer {host.token()}"}
    made = httpx.post(f"{host.scim_url}/Users", json={"schemas": [USER], "userName": "ana@x.test"}, headers=entra)
    assert made.status_code == 201
    events = asyncio.run(_events_until(azurite, prefix, made.json()["id"]))
    assert [(e["type"], e["resourceId"]) for e in events] == [("user.created", made.json()["id"])]
