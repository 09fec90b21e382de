"""Scheduled rotation, opted in per client: `scimctl entra rotate-due` and the function app's daily timer, against
the Graph double; a due credential is replaced with the same checked, overlapping steps as `entra rotate`."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime, timedelta

import scim.cli.entra
from scim.app import App, install_app
from scim.dev.localrun import load_function_app
from scim.entra.rotation import run_scheduled
from scim.secrets import long_lived_token_name
from tests.doubles.graph import GraphDouble
from tests.entra.test_setup import _catalog, _status_with
from tests.support.scimctl import Cli


def _expire_soon(app: App, sp_id: str, days: int) -> None:
    """The Secret Token Entra holds now expires in ``days`` (as a token issued long ago would)."""
    name = long_lived_token_name(sp_id)
    (newest, *_) = asyncio.run(app.secrets.versions(name))
    asyncio.run(app.secrets.set_expiry(name, newest.version, datetime.now(UTC) + timedelta(days=days)))


def _set_up(cli: Cli) -> str:
    _catalog(cli, "Auditor")
    sp_id = str(cli("entra", "setup", "--directory", "contoso")["service_principal_id"])
    assert cli("client", "set-rotation", "--client", sp_id, "--days", "30")["auto_rotate_days"] == 30
    return sp_id


def test_only_opted_in_due_clients_rotate_and_the_old_token_overlaps(cli: Cli, graph: GraphDouble, shared: App) -> None:
    sp_id = _set_up(cli)
    assert cli("entra", "rotate-due", "--dry-run") == []  # a fresh token is not due
    old = graph.secrets[sp_id]["SecretToken"]
    _expire_soon(shared, sp_id, 10)
    seen = len(graph.seen)
    [due] = cli("entra", "rotate-due", "--dry-run")
    assert due["result"] == "due" and "expires on" in due["why"] and len(graph.seen) == seen  # no sign-in
    [done] = cli("entra", "rotate-due")
    assert done["result"] == "rotated" and done["mode"] == "secret-token"
    new = graph.secrets[sp_id]["SecretToken"]
    assert new != old and _status_with(shared, new) == 200 and _status_with(shared, old) == 200
    assert cli("entra", "rotate-due", "--dry-run") == []  # the new one is not due
    cli("client", "set-rotation", "--client", sp_id, "--days", "0")
    _expire_soon(shared, sp_id, 10)
    assert cli("entra", "rotate-due", "--dry-run") == []  # opted out


def test_a_failed_scheduled_rotation_leaves_the_old_token_working(cli: Cli, graph: GraphDouble, shared: App) -> None:
    sp_id = _set_up(cli)
    old = graph.secrets[sp_id]["SecretToken"]
    _expire_soon(shared, sp_id, 5)
    graph.inline_error = (400, "CredentialValidationUnavailable", "HTTP 403 Forbidden from the endpoint")
    [failed] = cli("entra", "rotate-due", code=1)
    assert failed["result"] == "failed" and "Nothing was saved in Entra" in failed["detail"]
    assert graph.secrets[sp_id]["SecretToken"] == old and _status_with(shared, old) == 200


def test_the_timer_signs_in_only_when_something_is_due(cli: Cli, graph: GraphDouble, shared: App) -> None:
    functions = load_function_app().app.get_functions()
    [timer] = [f for f in functions if f.get_function_name() == "entra_credential_rotation"]
    assert json.loads(timer.get_function_json())["bindings"][0]["schedule"] == "0 0 3 * * *"
    sp_id = _set_up(cli)
    install_app(shared)
    try:
        seen = len(graph.seen)
        asyncio.run(timer.get_user_function()(None))  # nothing due: no managed identity, no Graph call
        assert len(graph.seen) == seen
        _expire_soon(shared, sp_id, 1)
        sign_in = argparse.Namespace(tenant=None, sign_in=None, client_id=None, certificate=None)
        [done] = asyncio.run(run_scheduled(shared, lambda: scim.cli.entra._graph(sign_in, "rotate")))
        assert done["result"] == "rotated" and done["client_id"] == sp_id
    finally:
        install_app(None)
