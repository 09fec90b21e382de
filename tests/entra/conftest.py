"""`scimctl entra` against the HTTPS double of Graph and the token endpoint, with the App on a memory store.

Why a TLS double rather than msal's http_client hook: the product code then runs exactly as against Entra
(msal's authority discovery and token requests, requests' TLS verification through REQUESTS_CA_BUNDLE, the
retries), and the CLI needs no test-only seam beyond the Graph and authority URLs that national clouds use.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import scim.cli
import scim.cli.entra
from scim.app import App, build_app
from scim.auth import clients
from scim.config import Settings
from scim.secrets import FileSecretStore
from scim.store.memory import MemoryStore
from tests.doubles.graph import GraphDouble
from tests.doubles.keyvault import make_self_signed_cert
from tests.support.entra import CI_CLIENT, CI_SECRET, PUBLIC
from tests.support.scimctl import Cli


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_self_signed_cert(tmp_path_factory.mktemp("graph-tls"))


@pytest.fixture
def graph(tls: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphDouble]:
    """The double, and the environment a CI job signing in with a client secret would have."""
    double = GraphDouble()
    url = double.start(*tls)
    double.confidential[CI_CLIENT] = CI_SECRET
    monkeypatch.setenv("SCIM_ENTRA_GRAPH_URL", url)
    monkeypatch.setenv("SCIM_ENTRA_AUTHORITY_HOST", url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls[0]))
    monkeypatch.setenv("AZURE_TENANT_ID", double.tenant)
    monkeypatch.setenv("SCIM_ENTRA_TOKEN_CACHE", str(tmp_path / "cache" / "msal.json"))
    monkeypatch.setenv("SCIM_ENTRA_CLIENT_ID", CI_CLIENT)
    monkeypatch.setenv("SCIM_ENTRA_CLIENT_SECRET", CI_SECRET)
    monkeypatch.delenv("SCIM_ENTRA_CERTIFICATE", raising=False)
    monkeypatch.delenv("MSAL_FORCE_REGION", raising=False)
    yield double
    double.stop()


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every wait a Graph retry asks for, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(scim.cli.entra, "sleep", recorded.append)
    return recorded


@pytest.fixture
def shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> App:
    """Every command builds its App on the same store and secret file, as a deployment's commands would."""
    store, secrets = MemoryStore(), FileSecretStore(tmp_path / "secrets.json")
    monkeypatch.setenv("SCIM_PUBLIC_BASE_URL", PUBLIC)

    def factory(settings: Settings) -> App:
        return build_app(settings, store=store, secret_store=secrets)

    monkeypatch.setattr(scim.cli, "app_factory", factory)
    monkeypatch.setattr(clients, "CLIENT_CACHE_SECONDS", 0)
    return factory(Settings(public_base_url=PUBLIC))


@pytest.fixture
def cli(shared: App, graph: GraphDouble, waits: list[float], capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys)
