"""msal sign-in for `scimctl entra`: device code, interactive, secret and certificate, and the 0600 token cache."""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import subprocess
import sys
import threading
import webbrowser
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from scim.entra.auth import DEFAULT_PUBLIC_CLIENT
from tests.doubles.graph import GraphDouble
from tests.support.entra import CI_CLIENT
from tests.support.scimctl import Cli

DEVICE = "urn:ietf:params:oauth:grant-type:device_code"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def admin(monkeypatch: pytest.MonkeyPatch) -> None:
    """An admin at a terminal: no CI secret, the default public client."""
    monkeypatch.delenv("SCIM_ENTRA_CLIENT_SECRET")
    monkeypatch.delenv("SCIM_ENTRA_CLIENT_ID")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_device_code_sign_in_then_the_cache_signs_in_silently(cli: Cli, graph: GraphDouble, admin: None) -> None:
    cache = Path(os.environ["SCIM_ENTRA_TOKEN_CACHE"])
    cache.parent.mkdir(parents=True)
    cache.write_text("{}")
    cache.chmod(0o644)  # an older file with looser bits is tightened, not trusted
    cli("directory", "create", "contoso")
    cli("entra", "setup", "--directory", "contoso", "--sign-in", "device-code")
    assert "enter the code GRAPHDBL" in cli.err
    assert [g["grant_type"] for g in graph.grants] == [DEVICE, DEVICE]  # one authorization_pending, then the token
    assert {g["client_id"] for g in graph.grants} == {DEFAULT_PUBLIC_CLIENT}
    (scope,) = graph.device_scopes
    assert f"{graph.url}/Application.ReadWrite.All" in scope and f"{graph.url}/Synchronization.ReadWrite.All" in scope
    assert _mode(cache) == 0o600 and "admin@contoso.onmicrosoft.com" in cache.read_text()

    cli("entra", "setup", "--directory", "contoso", "--sign-in", "device-code")  # same scopes: the cached token
    assert len(graph.grants) == 2 and "GRAPHDBL" not in cli.err
    cli("entra", "status", "--directory", "contoso", "--sign-in", "device-code")  # other scopes: the refresh token
    assert [g["grant_type"] for g in graph.grants][2:] == ["refresh_token"] and "GRAPHDBL" not in cli.err
    assert _mode(cache) == 0o600

    cache.write_text("{not json")  # a damaged cache is replaced, not a crash
    cli("entra", "status", "--directory", "contoso", "--sign-in", "device-code")
    assert "is unreadable; signing in afresh" in cli.err and "GRAPHDBL" in cli.err
    assert "admin@contoso.onmicrosoft.com" in cache.read_text() and _mode(cache) == 0o600


def test_the_cache_writer_follows_no_symlink_planted_beside_the_cache(
    cli: Cli, graph: GraphDouble, admin: None, tmp_path: Path
) -> None:
    """A symlink at <cache>.tmp (another local user's trap) is neither followed nor written through."""
    cache = Path(os.environ["SCIM_ENTRA_TOKEN_CACHE"])
    cache.parent.mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    planted = cache.with_name(cache.name + ".tmp")
    planted.symlink_to(victim)
    cli("directory", "create", "contoso")
    cli("entra", "setup", "--directory", "contoso", "--sign-in", "device-code")
    assert victim.read_text() == "untouched" and planted.is_symlink()
    assert "admin@contoso.onmicrosoft.com" in cache.read_text() and _mode(cache) == 0o600
    assert not cache.is_symlink()
    assert sorted(p.name for p in cache.parent.iterdir()) == sorted([cache.name, planted.name])  # no temporary left


def test_interactive_sign_in_through_the_browser(
    cli: Cli, graph: GraphDouble, admin: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """msal's own local redirect server and PKCE; only the browser is a stand-in that posts the form back."""
    visited: list[str] = []

    def browser(url: str, *args: object, **kwargs: object) -> bool:
        def visit() -> None:
            visited.append(url)
            page = requests.get(url, timeout=10).text
            action = re.search(r'action="([^"]+)"', page)
            fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page))
            assert action is not None
            requests.post(action.group(1), data=fields, timeout=10).close()

        threading.Thread(target=visit, daemon=True).start()
        return True

    monkeypatch.setattr(webbrowser, "open", browser)
    monkeypatch.setattr(sys, "stdin", _Terminal())
    cli("directory", "create", "contoso")
    cli("entra", "setup", "--directory", "contoso", "--dry-run")
    assert "A browser opens for the Entra sign-in" in cli.err
    assert len(visited) == 1 and "code_challenge=" in visited[0] and "response_mode=form_post" in visited[0]
    assert [g["grant_type"] for g in graph.grants] == ["authorization_code"]


class _Terminal:
    def isatty(self) -> bool:
        return True


def test_interactive_without_a_terminal_says_what_to_use(cli: Cli, graph: GraphDouble, admin: None) -> None:
    cli("directory", "create", "contoso")
    cli("entra", "check", "--directory", "contoso", code=1)
    assert "No terminal for an interactive sign-in: use --sign-in device-code" in cli.err and graph.grants == []


def _certificate(directory: Path) -> tuple[Path, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "scimctl-ci")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256())
    )  # fmt: skip
    pem = directory / "ci.pem"
    pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    return pem, cert


def test_ci_signs_in_with_a_certificate(
    cli: Cli, graph: GraphDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("directory", "create", "contoso")
    cli("entra", "setup", "--directory", "contoso")
    pem, cert = _certificate(tmp_path)
    graph.certificates[CI_CLIENT] = cert  # the double verifies the signed client assertion with it
    monkeypatch.delenv("SCIM_ENTRA_CLIENT_SECRET")
    monkeypatch.setenv("SCIM_ENTRA_TOKEN_CACHE", str(tmp_path / "other-cache.json"))
    status = cli("entra", "status", "--directory", "contoso", "--certificate", str(pem))
    assert status["state"] == "Disabled"
    assert graph.grants[-1] == {"grant_type": "client_credentials", "client_id": CI_CLIENT,
                                "scope": f"{graph.url}/.default"}  # fmt: skip
    graph.certificates[CI_CLIENT] = _certificate(tmp_path / "..")[1]  # another key: refused
    monkeypatch.setenv("SCIM_ENTRA_TOKEN_CACHE", str(tmp_path / "third-cache.json"))
    cli("entra", "status", "--directory", "contoso", "--sign-in", "certificate", "--certificate", str(pem), code=1)
    assert "invalid_client" in cli.err


def test_a_wrong_secret_is_explained_without_echoing_it(
    cli: Cli, graph: GraphDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCIM_ENTRA_CLIENT_SECRET", "wrong-secret-value-123")
    cli("directory", "create", "contoso")
    cli("entra", "setup", "--directory", "contoso", code=1)
    assert "Sign-in to Entra failed (invalid_client: the client id, secret or certificate is wrong" in cli.err
    assert "AADSTS7000215" in cli.err and "wrong-secret-value-123" not in cli.err
    assert graph.writes() == []
    monkeypatch.delenv("SCIM_ENTRA_CLIENT_ID")
    cli("entra", "setup", "--directory", "contoso", code=1)
    assert "--sign-in secret needs the app registration's --client-id" in cli.err


def test_the_request_path_and_scimctl_start_load_no_msal() -> None:
    """Import budget (docs/architecture.md): msal, the Graph client and scim.entra load only in `scimctl entra`."""
    code = (
        "import sys; import function_app; import scim.cli; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'msal' or m.startswith('scim.entra')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, env={**os.environ}
    )
    assert out.stdout.strip() == "[]"
