"""docs/integration.md as a consumer follows it, over real HTTP: its commands and its three client examples.

A `scimctl serve` host on Azurite tables and queues; Entra's client writes, a read-only client and the
queue read. Each Python example in the page runs as its own process, as a consumer would run it.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scim.azurite import Azurite
from scim.events.queue import queue_name
from tests.e2e.conftest import ROOT, SCIMCTL, Host, StartHost

DOC = ROOT / "docs" / "integration.md"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
pytestmark = pytest.mark.azurite


def example(name: str) -> str:
    found = re.search(rf"```python\n# example: {name}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert found, f"docs/integration.md has no `# example: {name}` block"
    return found.group(1)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Azurite]:
    with Azurite(queue=True) as running:
        yield running


@pytest.fixture
def host(start_host: StartHost, emulator: Azurite, tmp_path: Path) -> Host:
    return start_host(
        "create",
        SCIM_STORE="tables",
        SCIM_TABLES_CONNECTION_STRING=emulator.connection_string,
        SCIM_QUEUES_CONNECTION_STRING=emulator.queue_connection_string,
        SCIM_TABLE_PREFIX="doc" + secrets.token_hex(4),
        SCIM_SECRETS_FILE=str(tmp_path / "secrets.json"),
    )


def scimctl(host: Host, *argv: str) -> str:
    done = subprocess.run([str(SCIMCTL), *argv], env=host.env, cwd=ROOT, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, (argv, done.stdout, done.stderr)
    return done.stdout.decode()


def run_example(name: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", example(name)], env=env, cwd=ROOT, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def test_the_three_ways_to_consume_as_documented(host: Host, tmp_path: Path) -> None:
    entra = {"Authorization": f"Bearer {host.token()}"}
    made = httpx.post(f"{host.scim_url}/Users", json={"schemas": [USER], "userName": "ana@x.test"}, headers=entra)
    assert made.status_code == 201
    uid = made.json()["id"]

    # 1. SCIM reads with a read-only client.
    reader = json.loads(scimctl(host, "client", "create", "--directory", "dev", "--read-only", "--json"))
    env = host.env | {
        "SCIM_BASE_URL": host.scim_url,
        "SCIM_TOKEN_URL": host.token_url,
        "READER_ID": reader["client_id"],
        "READER_SECRET": reader["client_secret"],
    }
    assert f"{uid} ana@x.test []" in run_example("read", env)
    form = {
        "grant_type": "client_credentials",
        "client_id": reader["client_id"],
        "client_secret": reader["client_secret"],
    }
    reading = {"Authorization": f"Bearer {httpx.post(host.token_url, data=form).json()['access_token']}"}
    refused = httpx.delete(f"{host.scim_url}/Users/{uid}", headers=reading)
    assert refused.status_code == 403 and "read-only" in refused.json()["detail"]

    # 3. The change feed: `changes tail` follows it (here until its first line), then the documented consumer.
    tail = subprocess.Popen(
        [str(SCIMCTL), "changes", "tail", "--directory", "dev"], env=host.env, cwd=ROOT, stdout=subprocess.PIPE
    )
    try:
        assert tail.stdout is not None
        first = json.loads(tail.stdout.readline())
    finally:
        tail.terminate()
        tail.wait(timeout=10)
        if tail.stdout is not None:
            tail.stdout.close()
    assert (first["type"], first["resourceId"], first["sequence"]) == ("user.created", uid, 1)
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Ana"}],
    }
    assert httpx.patch(f"{host.scim_url}/Users/{uid}", json=patch, headers=entra).status_code == 204
    prefix = host.env["SCIM_TABLE_PREFIX"]
    printed = ""
    for _ in range(50):  # the host publishes in the background, within moments
        printed += run_example("feed", env | {"QUEUE": queue_name(prefix, "dev")})
        if printed:
            break
    assert printed.strip() == f"user.updated User {uid} ['displayName'] []"
    assert scimctl(host, "changes", "tail", "--directory", "dev", "--peek") == ""
    assert json.loads(scimctl(host, "changes", "sweep", "--json")) == {"published": 0}

    # 2. Export, the documented reader of the file, and a restore.
    backup = tmp_path / "dev.json"
    scimctl(host, "export", "--directory", "dev", "--output", str(backup))
    assert run_example("export", env | {"EXPORT_FILE": str(backup)}).strip() == "ana@x.test [] []"
    restored = json.loads(scimctl(host, "import", str(backup), "--directory", "dev-restore", "--json"))
    assert restored["users"] == 1
