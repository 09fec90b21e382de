"""docs/integration.md as a consumer follows it, over real HTTP: its commands and its three client examples.

A `scimctl serve` host on Azurite tables and queues; Entra's client writes, a read-only client and the
queue read. Each Python example in the page runs as its own process, as a consumer would run it.
"""

from __future__ import annotations

import json
import re
import secrets
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from scim.dev.azurite import Azurite
from scim.protocol.changes import queue_name
from tests.support.feed import EVERY_TYPE
from tests.support.host import ROOT, SCIMCTL, Host, StartHost

DOC = ROOT / "docs" / "integration.md"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
pytestmark = pytest.mark.azurite


def example(name: str) -> str:
    found = re.search(rf"```python\n# example: {name}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert found, f"docs/integration.md has no `# example: {name}` block"
    return found.group(1)


@pytest.fixture
def host(start_host: StartHost, azurite: Azurite, tmp_path: Path) -> Host:
    return start_host(
        "create",
        SCIM_STORE="tables",
        SCIM_TABLES_CONNECTION_STRING=azurite.connection_string,
        SCIM_QUEUES_CONNECTION_STRING=azurite.queue_connection_string,
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


def reader_env(host: Host) -> tuple[dict[str, str], dict[str, str]]:
    """A read-only client (as integration.md makes one) and the environment the examples read it from."""
    reader = json.loads(scimctl(host, "client", "create", "--directory", "dev", "--read-only", "--json"))
    env = host.env | {
        "SCIM_BASE_URL": host.scim_url,
        "SCIM_TOKEN_URL": host.token_url,
        "READER_ID": reader["client_id"],
        "READER_SECRET": reader["client_secret"],
    }
    return reader, env


def test_the_three_ways_to_consume_as_documented(host: Host, tmp_path: Path) -> None:
    entra = {"Authorization": f"Bearer {host.token()}"}
    made = httpx.post(f"{host.scim_url}/Users", json={"schemas": [USER], "userName": "ana@x.test"}, headers=entra)
    assert made.status_code == 201
    uid = made.json()["id"]

    # 1. SCIM reads with a read-only client.
    reader, env = reader_env(host)
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


PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _patch(*operations: dict[str, object]) -> dict[str, object]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def test_every_example_meets_every_event_type_and_resource_shape(host: Host, tmp_path: Path) -> None:
    """The feed example read `sequence` as a number and crashed on the first member event (whose
    sequence is null), and the test sent it user events only. Here each example meets every shape it can."""
    entra = {"Authorization": f"Bearer {host.token()}"}
    with httpx.Client(base_url=host.scim_url, headers=entra, timeout=30) as http:
        _every_event_type_and_shape(host, http, tmp_path)


def _every_event_type_and_shape(host: Host, http: httpx.Client, tmp_path: Path) -> None:

    def ok(response: httpx.Response) -> dict[str, object]:
        assert response.status_code in (200, 201, 204), response.text
        return response.json() if response.content else {}

    scimctl(host, "role", "add", "--directory", "dev", "Auditor")
    scimctl(host, "role", "add", "--directory", "dev", "Operator")
    bob = ok(http.post("/Users", json={"schemas": [USER], "userName": "bob@x.test", "roles": [{"value": "Auditor"}]}))
    carol = ok(http.post("/Users", json={"schemas": [USER], "userName": "carol@x.test"}))
    ok(http.patch(f"/Users/{bob['id']}", json=_patch({"op": "replace", "path": "displayName", "value": "Bob"})))
    ok(http.patch(f"/Users/{bob['id']}", json=_patch({"op": "replace", "path": "active", "value": False})))
    ok(http.patch(f"/Users/{bob['id']}", json=_patch({"op": "replace", "path": "active", "value": True})))
    ok(
        http.patch(
            f"/Users/{carol['id']}", json=_patch({"op": "add", "path": "roles", "value": [{"value": "Operator"}]})
        )
    )
    ok(http.patch(f"/Users/{carol['id']}", json=_patch({"op": "remove", "path": "roles"})))
    group = ok(http.post("/Groups", json={"schemas": [GROUP], "displayName": "Ops", "members": [{"value": bob["id"]}]}))
    gid = group["id"]
    ok(http.patch(f"/Groups/{gid}", json=_patch({"op": "replace", "path": "displayName", "value": "Ops2"})))
    ok(http.patch(f"/Groups/{gid}", json=_patch({"op": "replace", "path": "externalId", "value": "ops-2"})))
    add = _patch({"op": "add", "path": "members", "value": [{"value": carol["id"]}]})
    ok(http.patch(f"/Groups/{gid}", json=add))  # Entra's way, no If-Match: sequence null
    etag = http.get(f"/Groups/{gid}", params={"excludedAttributes": "members"}).headers["ETag"]
    remove = _patch({"op": "remove", "path": f'members[value eq "{carol["id"]}"]'})
    ok(http.patch(f"/Groups/{gid}", json=remove, headers={"If-Match": etag}))  # numbered

    # The read and export examples over users with and without roles, groups and a group with members.
    _, env = reader_env(host)
    read = run_example("read", env)
    assert f"{bob['id']} bob@x.test ['Auditor']" in read and f"{carol['id']} carol@x.test []" in read
    backup = tmp_path / "dev.json"
    scimctl(host, "export", "--directory", "dev", "--output", str(backup))
    exported = run_example("export", env | {"EXPORT_FILE": str(backup)}).splitlines()
    assert sorted(exported) == ["bob@x.test ['Auditor'] ['Ops2']", "carol@x.test [] []"]

    ok(http.delete(f"/Users/{bob['id']}"))
    ok(http.delete(f"/Groups/{gid}"))
    # Values on events for the directory's opt-in: one more shape the feed example meets.
    scimctl(host, "directory", "set-policy", "dev", "--event-values", "on")
    ok(http.patch(f"/Users/{carol['id']}", json=_patch({"op": "replace", "path": "displayName", "value": "Carol"})))

    feed_env = env | {"QUEUE": queue_name(host.env["SCIM_TABLE_PREFIX"], "dev")}
    printed: list[str] = []
    for _ in range(100):  # the host publishes in the background, within moments; each run drains the queue
        printed += run_example("feed", feed_env).splitlines()
        if {line.split()[0] for line in printed} >= EVERY_TYPE and "['displayName']" in printed[-1]:
            break
    seen = {line.split()[0] for line in printed}
    assert seen >= EVERY_TYPE, sorted(EVERY_TYPE - seen)
    assert f"member.added Group {gid} ['members'] ['{carol['id']}']" in printed
    assert f"member.removed Group {gid} ['members'] ['{carol['id']}']" in printed
    assert scimctl(host, "changes", "tail", "--directory", "dev", "--peek") == ""  # every message was deleted


def test_ctrl_c_ends_changes_tail_without_a_traceback(host: Host) -> None:
    """Following the feed (docs/integration.md) and pressing Ctrl-C printed a traceback."""
    entra = {"Authorization": f"Bearer {host.token()}"}
    made = httpx.post(f"{host.scim_url}/Users", json={"schemas": [USER], "userName": "ctrl@x.test"}, headers=entra)
    assert made.status_code == 201
    tail = subprocess.Popen(
        [str(SCIMCTL), "changes", "tail", "--directory", "dev"],
        env=host.env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert tail.stdout is not None
        assert json.loads(tail.stdout.readline())["type"] == "user.created"  # following now
        tail.send_signal(signal.SIGINT)
        _, err = tail.communicate(timeout=30)
    finally:
        if tail.poll() is None:
            tail.kill()
            tail.wait(timeout=10)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert tail.returncode == 130 and " events" in err and "scimctl: stopped" in err, (tail.returncode, err)


def test_the_signed_events_consumer_as_documented(host: Host) -> None:
    """docs/integration.md section 4 over HTTP: the example polls, verifies each SET against the served JWKS with
    PyJWT and acknowledges it; a second run finds nothing; a replay delivers again; the queue still gets v1."""
    scimctl(host, "directory", "set-policy", "dev", "--event-format", "both")
    reader, env = reader_env(host)
    env |= {"DIRECTORY": "dev"}
    since = datetime.now(UTC).isoformat()
    entra = {"Authorization": f"Bearer {host.token()}"}
    made = httpx.post(f"{host.scim_url}/Users", json={"schemas": [USER], "userName": "set@x.test"}, headers=entra)
    assert made.status_code == 201
    uid = made.json()["id"]
    expected = f"prov:create:notice /Users/{uid} ['userName']"
    printed = ""
    for _ in range(50):  # the host appends in the background; a SET is visible 2 s later
        printed += run_example("sets", env)
        if expected in printed:
            break
        time.sleep(0.2)
    assert printed.strip() == expected
    assert run_example("sets", env) == ""  # acknowledged: never delivered again
    scimctl(host, "changes", "replay", "--client", reader["client_id"], "--since", since)
    assert run_example("sets", env).strip() == expected
    queued = scimctl(host, "changes", "tail", "--directory", "dev", "--count", "1", "--wait", "10")
    assert json.loads(queued)["type"] == "user.created"  # `both`: the v1 queue message as before

    keys = httpx.get(f"{host.scim_url}/Events/jwks")
    assert keys.status_code == 200 and [k["alg"] for k in keys.json()["keys"]] == ["ES256"]
    anonymous = httpx.post(f"{host.scim_url}/Events", json={})
    assert anonymous.status_code == 401
    full = httpx.post(f"{host.scim_url}/Events", json={}, headers=entra)
    assert full.status_code == 403 and "read-only" in full.json()["detail"]
