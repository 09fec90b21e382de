"""The identity platform's endpoints that msal calls, for the Graph double (tests/doubles/graph.py).

Shapes follow the identity platform pages under https://learn.microsoft.com/en-us/entra/identity-platform/
named at each one: OIDC discovery, the device code flow, the authorization code flow (form_post, PKCE,
nonce) and the client credentials flow with a secret or a certificate assertion.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any
from urllib.parse import urlencode

import jwt
from aiohttp import web
from cryptography import x509

_UNCHECKED_KEY = "msal does not check id_token signatures (since 1.38)"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class IdentityPlatform:
    """Token endpoints for ``tenant``; the server that serves them sets ``url``."""

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        self.url = ""
        self.grants: list[dict[str, str]] = []  # token endpoint requests (no secrets kept)
        self.confidential: dict[str, str] = {}  # client id -> secret
        self.certificates: dict[str, x509.Certificate] = {}  # client id -> registered certificate
        self.device_pending = 1  # authorization_pending answers before the device code sign-in completes
        self.device_scopes: list[str] = []  # the scope of each device authorization request
        self._tokens: set[str] = set()
        self._codes: dict[str, str] = {}

    def accepts(self, token: str) -> bool:
        """Whether ``token`` is an access token this platform issued."""
        return token in self._tokens

    def identity(self, request: web.Request, path: str, form: dict[str, str]) -> web.Response:
        base = f"{self.url}/{self.tenant}"
        if path == f"/{self.tenant}/v2.0/.well-known/openid-configuration":
            # v2-protocols-oidc "Find your app's OpenID configuration document URI"
            return web.json_response({
                "issuer": f"{base}/v2.0", "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "jwks_uri": f"{base}/discovery/v2.0/keys", "response_types_supported": ["code"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            })  # fmt: skip
        if path == f"/{self.tenant}/oauth2/v2.0/authorize":
            # v2-oauth2-auth-code-flow "Successful response": a redirect to redirect_uri with code and state.
            code = secrets.token_urlsafe(16)
            self._codes[code] = request.query.get("nonce", "")  # the id_token must echo it (OIDC Core §3.1.2.1)
            answer = {"code": code, "state": request.query["state"]}
            if request.query.get("response_mode") == "form_post":
                # OAuth 2.0 Form Post Response Mode §2: a page whose form the browser posts to redirect_uri.
                fields = "".join(f'<input type="hidden" name="{k}" value="{v}"/>' for k, v in answer.items())
                page = f'<form method="post" action="{request.query["redirect_uri"]}">{fields}</form>'
                return web.Response(text=page + "<script>document.forms[0].submit()</script>", content_type="text/html")
            raise web.HTTPFound(request.query["redirect_uri"] + "?" + urlencode(answer))
        if path == f"/{self.tenant}/oauth2/v2.0/devicecode":
            self.device_scopes.append(form.get("scope", ""))
            # v2-oauth2-device-code "Device authorization response"
            device_code = secrets.token_urlsafe(24)
            self._codes[device_code] = form.get("scope", "")
            return web.json_response({
                "device_code": device_code, "user_code": "GRAPHDBL", "interval": 0, "expires_in": 900,
                "verification_uri": "https://microsoft.com/devicelogin",
                "message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin "
                           "and enter the code GRAPHDBL to authenticate.",
            })  # fmt: skip
        if path == f"/{self.tenant}/oauth2/v2.0/token":
            return self._token(form, f"{base}/oauth2/v2.0/token")
        return web.json_response({"error": "invalid_request", "error_description": f"AADSTS900561: {path}"}, status=400)

    def _token(self, form: dict[str, str], endpoint: str) -> web.Response:
        grant = form.get("grant_type", "")
        client = form.get("client_id", "")
        self.grants.append({"grant_type": grant, "client_id": client, "scope": form.get("scope", "")})
        if grant == "client_credentials":
            if not self._client_ok(client, form, endpoint):
                # v2-oauth2-client-creds-grant-flow "Error response"
                return web.json_response({"error": "invalid_client", "error_codes": [7000215],
                                          "error_description": "AADSTS7000215: Invalid client secret provided."},
                                         status=401)  # fmt: skip
            token = self._issue()
            # v2-oauth2-client-creds-grant-flow "Successful response"
            return web.json_response({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                      "access_token": token})  # fmt: skip
        if grant == "urn:ietf:params:oauth:grant-type:device_code" and self.device_pending > 0:
            self.device_pending -= 1
            # v2-oauth2-device-code "Expected errors": authorization_pending while the user signs in.
            return web.json_response({"error": "authorization_pending", "error_codes": [70016],
                                      "error_description": "AADSTS70016: Pending end-user authorization."},
                                     status=400)  # fmt: skip
        if grant in ("urn:ietf:params:oauth:grant-type:device_code", "authorization_code", "refresh_token"):
            # v2-oauth2-device-code / v2-oauth2-auth-code-flow "Successful response", with msal's client_info.
            claims = {"aud": client, "iss": f"{self.url}/{self.tenant}/v2.0", "tid": "tenant-guid",
                      "oid": "admin-oid", "preferred_username": "admin@contoso.onmicrosoft.com", "name": "Admin",
                      "sub": "admin-sub", "iat": 1, "exp": 4102444800}  # fmt: skip
            if grant == "authorization_code":
                claims["nonce"] = self._codes.pop(form.get("code", ""), "")
            return web.json_response({
                "token_type": "Bearer", "scope": form.get("scope") or self._codes.get(form.get("device_code", ""), ""),
                "expires_in": 3599, "ext_expires_in": 3599,
                "access_token": self._issue(), "refresh_token": secrets.token_urlsafe(32),
                "id_token": jwt.encode(claims, _UNCHECKED_KEY, algorithm="HS256"),
                "client_info": _b64({"uid": "admin-oid", "utid": "tenant-guid"}),
            })  # fmt: skip
        return web.json_response({"error": "unsupported_grant_type", "error_description": grant}, status=400)

    def _client_ok(self, client: str, form: dict[str, str], endpoint: str) -> bool:
        if "client_secret" in form:
            return self.confidential.get(client) == form["client_secret"]
        cert = self.certificates.get(client)
        if cert is None or "client_assertion" not in form:
            return False
        # A certificate credential is a JWT signed with the key (certificate-credentials page): check it.
        try:
            claims = jwt.decode(form["client_assertion"], cert.public_key(), algorithms=["PS256", "RS256"],  # type: ignore[arg-type]
                                audience=endpoint)  # fmt: skip
        except jwt.PyJWTError:
            return False
        return bool(claims.get("iss") == client and claims.get("sub") == client)

    def _issue(self) -> str:
        token = secrets.token_urlsafe(32)
        self._tokens.add(token)
        return token
