"""`scimctl doctor` against a real `scimctl serve` subprocess, and its plain-words explanations."""

from __future__ import annotations

import io
import json
import socket
import ssl
import subprocess
import sys
import urllib.error
from collections.abc import Iterator

import pytest

from scim.cli import main
from scim.cli.doctor import explain_error, explain_status, token_url_for
from scim.config import DOCTOR_SECRET_ENV
from scim.dev.azurite import free_port
from tests.support.host import ROOT, Host, host_env


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    port = free_port()
    running = Host(port, host_env("strict"), tmp_path_factory.mktemp("doctor") / "serve.log")
    running.start()
    yield running
    running.stop()


def _doctor(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["doctor", "--timeout", "5", *argv])
    return code, capsys.readouterr().out


@pytest.mark.e2e
def test_a_healthy_deployment_passes(host: Host, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _doctor(
        capsys,
        "--base-url",
        host.scim_url,
        "--client-id",
        host.client_id,
        "--client-secret",
        host.client_secret,
        "--json",
    )
    checks = json.loads(out)
    assert code == 0, out
    assert [c["step"] for c in checks] == ["token", "users probe", "groups probe", "user round trip"]
    assert all(c["ok"] for c in checks)
    assert "valid for 3600 s" in checks[0]["detail"]
    assert host.client_secret not in out


@pytest.mark.e2e
def test_secret_from_the_environment_and_human_output(
    host: Host, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DOCTOR_SECRET_ENV, host.client_secret)
    code, out = _doctor(capsys, "--base-url", host.scim_url + "/", "--client-id", host.client_id)
    assert code == 0, out
    assert out.count("[ok]") == 4


@pytest.mark.e2e
def test_bad_credentials(host: Host, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _doctor(capsys, "--base-url", host.scim_url, "--client-id", host.client_id, "--client-secret", "nope")
    assert code == 1
    assert "[FAIL] token: 401 bad credentials" in out
    assert out.count("\n") == 1  # later steps need a token


@pytest.mark.e2e
def test_wrong_base_url(host: Host, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _doctor(
        capsys,
        "--base-url",
        f"{host.url}/scim/v3",
        "--client-id",
        host.client_id,
        "--client-secret",
        host.client_secret,
    )
    assert code == 1
    assert "[ok] token" in out and "404 wrong Base URL" in out


@pytest.mark.e2e
def test_tls_to_a_plain_http_port(host: Host, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _doctor(
        capsys,
        "--base-url",
        f"https://127.0.0.1:{host.port}/scim/v2",
        "--client-id",
        host.client_id,
        "--client-secret",
        "x",
    )
    assert code == 1 and "TLS" in out


def test_connection_refused(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()  # nothing listens there
    code, out = _doctor(
        capsys, "--base-url", f"http://127.0.0.1:{port}/scim/v2", "--client-id", "x", "--client-secret", "y"
    )
    assert code == 1 and "connection refused" in out


def test_not_a_url(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _doctor(capsys, "--base-url", "scim.example.com", "--client-id", "x", "--client-secret", "y")
    assert code == 1 and "not an http(s) URL" in out


def test_no_secret_without_a_terminal(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DOCTOR_SECRET_ENV, raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal: no prompt
    assert main(["doctor", "--base-url", "http://x/scim/v2", "--client-id", "x"]) == 2
    assert DOCTOR_SECRET_ENV in capsys.readouterr().err


def test_explanations() -> None:
    url = "https://scim.example.com/scim/v2/Users"
    assert "403 network" in explain_status(403, url, {"detail": "Requests from 192.0.2.1 are not allowed"}, {})
    assert "192.0.2.1" in explain_status(403, url, {"detail": "Requests from 192.0.2.1 are not allowed"}, {})
    assert "429 throttled" in explain_status(429, url, None, {"retry-after": "8"})
    assert "wait 8 s" in explain_status(429, url, None, {"retry-after": "8"})
    assert "503 server error" in explain_status(503, url, {"detail": "store unavailable"}, {})
    assert "unexpected HTTP 418" in explain_status(418, url, None, {})
    dns = urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))
    assert explain_error(dns, url).startswith("DNS")
    cert = ssl.SSLCertVerificationError(1, "certificate verify failed")
    cert.verify_message = "self-signed certificate"
    assert "not trusted (self-signed certificate)" in explain_error(urllib.error.URLError(cert), url)
    assert explain_error(urllib.error.URLError(TimeoutError()), url).startswith("timeout")
    assert token_url_for("https://h.example/scim/v2/") == "https://h.example/oauth2/token"
    assert token_url_for("https://h.example/api/scim") == "https://h.example/oauth2/token"


def test_doctor_needs_no_http_dependency() -> None:
    """scimctl doctor runs where only the service's runtime dependencies are installed (httpx is dev-only)."""
    code = "import sys, scim.cli.doctor; print(sorted(m for m in ('httpx', 'requests', 'aiohttp') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"


@pytest.mark.e2e
@pytest.mark.parametrize("send", ["header", "body", "both"])
def test_each_way_entra_sends_credentials(host: Host, capsys: pytest.CaptureFixture[str], send: str) -> None:
    code, out = _doctor(
        capsys, "--base-url", host.scim_url, "--client-id", host.client_id, "--client-secret", host.client_secret,
        "--send-credentials", send, "--json",
    )  # fmt: skip
    checks = json.loads(out)
    assert code == 0 and all(c["ok"] for c in checks), out
    assert ("Entra's Both" in checks[0]["detail"]) is (send == "both")
    assert host.client_secret not in out


@pytest.mark.e2e
def test_secret_token_mode_sends_the_token_as_the_bearer(host: Host, capsys: pytest.CaptureFixture[str]) -> None:
    bearer = host.token()
    code, out = _doctor(
        capsys, "--base-url", host.scim_url, "--client-id", host.client_id, "--client-secret", bearer,
        "--secret-token", "--json",
    )  # fmt: skip
    checks = json.loads(out)
    assert code == 0 and "Secret Token mode" in checks[0]["detail"], out
    code, out = _doctor(
        capsys, "--base-url", host.scim_url, "--client-id", host.client_id, "--client-secret", "x" * 40,
        "--secret-token", "--json",
    )  # fmt: skip
    assert code == 1 and "401" in json.loads(out)[1]["detail"]


@pytest.mark.e2e
def test_the_tenant_url_exactly_as_deploy_md_says_to_enter_it(host: Host, capsys: pytest.CaptureFixture[str]) -> None:
    """`…/scim/v2?aadOptscim062020` (deploy.md's Tenant URL) was reported as a wrong Base URL."""
    tenant_url = f"{host.scim_url}?aadOptscim062020"
    argv = ["--base-url", tenant_url, "--client-id", host.client_id, "--client-secret", host.client_secret, "--json"]
    code, out = _doctor(capsys, *argv)
    checks = json.loads(out)
    assert code == 0 and all(c["ok"] for c in checks), checks
    assert f"from {host.url}/oauth2/token" in checks[0]["detail"]


@pytest.mark.e2e
def test_federated_doctor_blames_dns_of_the_login_host_not_the_base_url(
    host: Host, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A login host that does not resolve was reported as "check the Base URL"."""
    login = "login.doctor-test.invalid"  # .invalid never resolves (RFC 6761)
    monkeypatch.setenv("SCIM_ENTRA_JWKS_URL_TEMPLATE", f"https://{login}/{{tenant}}/discovery/v2.0/keys")
    monkeypatch.setenv("SCIM_ENTRA_ISSUER_TEMPLATE", f"https://{login}/{{tenant}}/v2.0")
    tenant = "6f1c3a52-8d7e-4b90-a1c2-3d4e5f607182"
    argv = ["--federated", "--base-url", host.scim_url, "--client-id", host.client_id, "--federated-tenant", tenant]
    code, out = _doctor(capsys, *argv, "--json")
    by_step = {c["step"]: c for c in json.loads(out)}
    assert code == 1
    for step in ("jwks", "issuer"):
        detail = by_step[step]["detail"]
        assert detail.startswith("DNS") and f"{login} is Entra's login host" in detail, detail
        assert "check this machine's DNS" in detail and "not the Base URL" in detail, detail
    # The service itself is reachable: its step is judged on its own (the seeded client is not federated).
    assert "DNS" not in by_step["token endpoint"]["detail"]


def test_a_dns_failure_of_the_service_still_points_at_the_base_url(capsys: pytest.CaptureFixture[str]) -> None:
    base = "https://scim.doctor-test.invalid/scim/v2?aadOptscim062020"
    code, out = _doctor(capsys, "--base-url", base, "--client-id", "x", "--client-secret", "y")
    assert code == 1 and "DNS: the host name in 'scim.doctor-test.invalid' does not resolve; check the Base URL" in out
