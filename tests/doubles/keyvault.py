"""An HTTPS double of the Key Vault secrets REST API (7.5 and later) for the real azure-keyvault-secrets client.

It keeps what the SDK relies on: the 401 challenge before the first token, bearer checks, 404 SecretNotFound,
403 on a disabled version, nextLink paging, soft delete (409 on a set while the name is deleted), Unix-second
timestamps. Faults and delays can be queued, and every request is recorded so tests can count round trips.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from azure.core.credentials import AccessToken, AccessTokenInfo
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.doubles.tls import serve_tls

API_VERSIONS = frozenset({"7.5", "7.6", "2025-07-01", "2026-04-01"})
PAGE_SIZE = 25  # Key Vault's maximum (and default) maxresults


def make_self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """Write cert.pem and key.pem for 127.0.0.1 and return their paths; the cert is its own trust anchor."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "keyvault-double")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class FakeCredential:
    """Stands in for DefaultAzureCredential: hands out one fixed token and records what it was asked for."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.requests: list[tuple[tuple[str, ...], str | None]] = []  # (scopes, tenant id)
        self.closed = False

    async def get_token(self, *scopes: str, tenant_id: str | None = None, **_: Any) -> AccessToken:
        self.requests.append((scopes, tenant_id))
        return AccessToken(self.token, int(time.time()) + 3600)

    async def get_token_info(self, *scopes: str, options: dict[str, Any] | None = None) -> AccessTokenInfo:
        self.requests.append((scopes, (options or {}).get("tenant_id")))
        return AccessTokenInfo(self.token, int(time.time()) + 3600)

    async def close(self) -> None:
        self.closed = True

    async def __aenter__(self) -> FakeCredential:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


@dataclass
class _Version:
    id: str
    value: str
    created: int
    exp: int | None
    enabled: bool = True
    updated: int = 0


@dataclass
class _Secret:
    name: str  # as first written: Key Vault keeps the original case in ids
    versions: list[_Version] = field(default_factory=list)


@dataclass
class Recorded:
    method: str
    path: str
    api_version: str | None
    authorized: bool


class KeyVaultDouble:
    """Serve the secrets API on https://127.0.0.1:<random port>; start() returns the vault URL."""

    def __init__(self, *, token: str, tenant_id: str = "72f988bf-86f1-41af-91ab-2d7cd011db47") -> None:
        self.token = token
        self.tenant_id = tenant_id
        self.requests: list[Recorded] = []
        self._secrets: dict[str, _Secret] = {}
        self._deleted: dict[str, _Secret] = {}
        self._faults: deque[tuple[int, str | None]] = deque()
        self._delays: deque[float] = deque()
        self._last_created = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    def fail_next(self, count: int, status: int = 503, *, retry_after: str | None = None) -> None:
        """Answer the next ``count`` authorised requests with ``status`` (429/5xx) instead of serving them."""
        self._faults.extend([(status, retry_after)] * count)

    def delay_next(self, count: int, seconds: float) -> None:
        """Hold the next ``count`` authorised requests for ``seconds`` before answering."""
        self._delays.extend([seconds] * count)

    def served(self, method: str | None = None) -> list[Recorded]:
        """Authorised requests (the ones that reach the API), optionally of one method."""
        return [r for r in self.requests if r.authorized and (method is None or r.method == method)]

    async def start(self, cert: Path, key: Path) -> str:
        self._runner, self.url = await serve_tls(self._handle, cert, key)
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization")
        authorized = auth == f"Bearer {self.token}"
        self.requests.append(Recorded(request.method, request.path, request.query.get("api-version"), authorized))
        if not authorized:
            # Key Vault's challenge: the SDK reads the tenant and resource from it, gets a token and retries.
            challenge = (
                f'Bearer authorization="https://login.microsoftonline.com/{self.tenant_id}", '
                'resource="https://vault.azure.net"'
            )
            code = "Unauthorized" if auth is None else "InvalidToken"
            return _error(401, code, "AKV10000: Request is missing a Bearer or PoP token.", challenge=challenge)
        if request.query.get("api-version") not in API_VERSIONS:
            return _error(400, "BadParameter", "The specified version is not supported.")
        if self._delays:
            await asyncio.sleep(self._delays.popleft())
        if self._faults:
            status, retry_after = self._faults.popleft()
            headers = {"Retry-After": retry_after} if retry_after is not None else {}
            response = _error(status, "Throttled" if status == 429 else "ServiceUnavailable", "Injected fault.")
            response.headers.update(headers)
            return response
        parts = request.path.split("/")[1:]  # "/secrets/n/" (the current version) keeps its empty last part
        body = await request.json() if request.can_read_body else {}
        return self._route(request, parts, body)

    def _route(self, request: web.Request, parts: list[str], body: dict[str, Any]) -> web.Response:
        method = request.method
        if parts[0] == "deletedsecrets" and len(parts) == 2 and method == "GET":
            gone = self._deleted.get(parts[1].lower())
            return _json(self._deleted_bundle(gone)) if gone else _not_found(parts[1])
        if parts[0] != "secrets" or len(parts) not in (2, 3):
            return _error(404, "NotFound", "Unknown route.")
        name, rest = parts[1], parts[2] if len(parts) == 3 else None
        if method == "PUT" and rest is None:
            return self._set(name, body)
        if method == "DELETE" and rest is None:
            return self._delete(name)
        secret = self._secrets.get(name.lower())
        if secret is None:
            return _not_found(name)
        if method == "GET" and rest == "versions":
            return self._list(request, secret)
        if method == "GET" and rest is not None:
            version = secret.versions[-1] if rest == "" else self._find(secret, rest)
            if version is None:
                return _not_found(f"{name}/{rest}")
            if not version.enabled:
                return _error(403, "Forbidden", "Operation get is not allowed on a disabled secret.")
            return _json({"value": version.value, **self._item(secret, version)})
        if method == "PATCH" and rest:
            version = self._find(secret, rest)
            if version is None:
                return _not_found(f"{name}/{rest}")
            if "enabled" in body.get("attributes", {}):
                version.enabled = bool(body["attributes"]["enabled"])
                version.updated = int(time.time())
            return _json(self._item(secret, version))
        return _error(405, "MethodNotAllowed", "Unsupported method.")

    def _set(self, name: str, body: dict[str, Any]) -> web.Response:
        if name.lower() in self._deleted:
            return _error(409, "Conflict", f"Secret {name} is currently in a deleted but recoverable state.")
        if not isinstance(body.get("value"), str):
            return _error(400, "BadParameter", "Property value is required.")
        # Timestamps are whole seconds, as in Key Vault. Unlike Key Vault, the double never gives two versions
        # the same second, so "newest first" is deterministic in tests that write several versions at once.
        created = max(int(time.time()), self._last_created + 1)
        self._last_created = created
        attributes = body.get("attributes") or {}
        version = _Version(uuid.uuid4().hex, body["value"], created, attributes.get("exp"), updated=created)
        version.enabled = attributes.get("enabled", True) is not False
        secret = self._secrets.setdefault(name.lower(), _Secret(name))
        secret.versions.append(version)
        return _json({"value": version.value, **self._item(secret, version)})

    def _delete(self, name: str) -> web.Response:
        secret = self._secrets.pop(name.lower(), None)
        if secret is None:
            return _not_found(name)
        self._deleted[name.lower()] = secret
        return _json(self._deleted_bundle(secret))

    def _list(self, request: web.Request, secret: _Secret) -> web.Response:
        size = min(int(request.query.get("maxresults", PAGE_SIZE)), PAGE_SIZE)
        start = int(request.query.get("$skiptoken", "0"))
        page = secret.versions[start : start + size]
        next_link = None
        if start + size < len(secret.versions):
            api = request.query["api-version"]
            next_link = f"{self.url}/secrets/{secret.name}/versions?api-version={api}&$skiptoken={start + size}"
            next_link += f"&maxresults={size}"
        return _json({"value": [self._item(secret, v) for v in page], "nextLink": next_link})

    def _item(self, secret: _Secret, version: _Version) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "enabled": version.enabled,
            "created": version.created,
            "updated": version.updated,
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": 90,
        }
        if version.exp is not None:
            attributes["exp"] = version.exp
        return {"id": f"{self.url}/secrets/{secret.name}/{version.id}", "attributes": attributes, "tags": {}}

    def _deleted_bundle(self, secret: _Secret) -> dict[str, Any]:
        now = int(time.time())
        return {
            **self._item(secret, secret.versions[-1]),
            "recoveryId": f"{self.url}/deletedsecrets/{secret.name}",
            "deletedDate": now,
            "scheduledPurgeDate": now + 90 * 86400,
        }

    @staticmethod
    def _find(secret: _Secret, version_id: str) -> _Version | None:
        return next((v for v in secret.versions if v.id == version_id), None)


def _json(payload: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(payload), content_type="application/json")


def _error(status: int, code: str, message: str, *, challenge: str | None = None) -> web.Response:
    response = _json({"error": {"code": code, "message": message}}, status)
    if challenge is not None:
        response.headers["WWW-Authenticate"] = challenge
    return response


def _not_found(what: str) -> web.Response:
    return _error(404, "SecretNotFound", f"A secret with (name/id) {what} was not found in this key vault.")
