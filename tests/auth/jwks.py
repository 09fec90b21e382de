"""A local stand-in for Entra's login endpoints (JWKS and OIDC discovery) on 127.0.0.1, and RSA keys made here.

A stdlib threaded HTTP server, so both the async token endpoint (aiohttp) and the synchronous `scimctl doctor`
(urllib) reach it over real HTTP.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
AUDIENCE = "api://b5ba7a93-4452-4522-aeb4-a2b5da870c16"
SUBJECT = "d2f8ee76-c549-45b8-a143-f5b640669704"


class Signer:
    """An RSA signing key as Entra holds one: ``jwk`` is the public half the JWKS publishes."""

    def __init__(self) -> None:
        self.kid = uuid.uuid4().hex
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = self.private.public_key()
        self.jwk = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public)), "kid": self.kid, "use": "sig"}
        self.public_pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def sign(self, claims: dict[str, Any], *, alg: str = "RS256", kid: str | None = None) -> str:
        return jwt.encode(claims, self.private, algorithm=alg, headers={"kid": kid or self.kid})


class EntraDouble:
    """GET /<tenant>/discovery/v2.0/keys and /<tenant>/v2.0/.well-known/openid-configuration."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.down = False
        self.fetches = 0
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if double.down:
                    self._reply(503, {"error": "temporarily_unavailable"})
                elif self.path.endswith("/discovery/v2.0/keys"):
                    double.fetches += 1
                    self._reply(200, {"keys": double.keys})
                elif self.path.endswith("/v2.0/.well-known/openid-configuration"):
                    tenant = self.path.split("/")[1]
                    self._reply(
                        200,
                        {
                            "issuer": f"{double.url}/{{tenantid}}/v2.0",
                            "jwks_uri": f"{double.url}/{tenant}/discovery/v2.0/keys",
                        },
                    )
                else:
                    self._reply(404, {})

            def _reply(self, status: int, doc: Any) -> None:
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def jwks_template(self) -> str:
        return f"{self.url}/{{tenant}}/discovery/v2.0/keys"

    @property
    def issuer_template(self) -> str:
        return f"{self.url}/{{tenant}}/v2.0"

    def issuer(self, tenant: str = TENANT) -> str:
        return f"{self.url}/{tenant}/v2.0"

    def start(self) -> EntraDouble:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def claims(issuer: str, **changes: Any) -> dict[str, Any]:
    """The claims of Entra's documented assertion (Workload-Identity-Federation-for-SCIM-Provisioning.md)."""
    now = int(time.time())
    found: dict[str, Any] = {
        "aud": AUDIENCE,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + 3900,
        "appid": AUDIENCE.removeprefix("api://"),
        "oid": SUBJECT,
        "sub": SUBJECT,
        "tid": TENANT,
        "ver": "2.0",
        "jti": uuid.uuid4().hex,
    }
    found.update(changes)
    return {k: v for k, v in found.items() if v is not None}
