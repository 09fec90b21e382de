"""The token endpoint: OAuth 2.0 client credentials (RFC 6749 §4.4) as Entra and the senhasegura guide call it."""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scim.auth.clients import ClientRegistry
from scim.auth.network import address_allowed
from scim.auth.throttle import FailureThrottle
from scim.auth.tokens import DEFAULT_TTL, MAX_TTL, MIN_TTL, TokenService
from scim.secrets import is_client_id

log = logging.getLogger("scim.auth")
MAX_FORM_BYTES = 8192


@dataclass(slots=True)
class OAuthError(Exception):
    """An RFC 6749 §5.2 error response."""

    status: int
    error: str
    description: str
    headers: dict[str, str] = field(default_factory=dict)


class TokenForm(BaseModel):
    """The form fields this endpoint reads; anything else (Entra's scope, resource) is ignored."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    grant_type: str = ""
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None
    ttl: int | None = Field(default=None, description="Lifetime in minutes, 60 to 360 (senhasegura's `ttl`).")


def _invalid_client(description: str) -> OAuthError:
    return OAuthError(401, "invalid_client", description, {"WWW-Authenticate": 'Basic realm="scim", charset="UTF-8"'})


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _invalid_client(
            "The Basic Authorization header is not valid base64 of client_id:client_secret."
        ) from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise _invalid_client("The Basic Authorization header must hold client_id:client_secret.")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


def parse_form(body: bytes, content_type: str) -> TokenForm:
    if not content_type.lower().startswith("application/x-www-form-urlencoded"):
        raise OAuthError(400, "invalid_request", "Send the token request as application/x-www-form-urlencoded.")
    if len(body) > MAX_FORM_BYTES:
        raise OAuthError(400, "invalid_request", f"The token request is larger than {MAX_FORM_BYTES} bytes.")
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise OAuthError(400, "invalid_request", "The token request is not UTF-8 form data.") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise OAuthError(400, "invalid_request", f"The parameter {key!r} appears more than once (RFC 6749 §3.2).")
        fields[key] = value
    try:
        return TokenForm.model_validate(fields)
    except ValidationError:
        raise OAuthError(400, "invalid_request", "ttl must be a whole number of minutes.") from None


def _loggable(client_id: str | None) -> str:
    """A client id fit for a log line: ids are GUIDs, anything else is caller-chosen text, so quote and cut it."""
    if client_id and is_client_id(client_id):
        return client_id
    return repr((client_id or "")[:40])


class TokenEndpoint:
    def __init__(self, clients: ClientRegistry, tokens: TokenService, throttle: FailureThrottle | None = None) -> None:
        self._clients = clients
        self._tokens = tokens
        self.throttle = throttle or FailureThrottle()

    async def exchange(self, body: bytes, content_type: str, authorization: str | None, address: str) -> dict[str, Any]:
        """Check the grant and the client, then issue a token; raises OAuthError."""
        form = parse_form(body, content_type)
        if form.grant_type != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", "grant_type must be client_credentials.")
        basic = _basic(authorization)
        posted = (form.client_id, form.client_secret) if form.client_id or form.client_secret else None
        if basic and posted and basic != posted:
            raise OAuthError(400, "invalid_request", "The client credentials in the header and the body differ.")
        client_id, secret = basic or posted or (None, None)
        ttl = DEFAULT_TTL if form.ttl is None else form.ttl * 60
        if not MIN_TTL <= ttl <= MAX_TTL:
            raise OAuthError(400, "invalid_request", "ttl must be between 60 and 360 minutes.")
        # Throttled before the secret is even looked at, so a locked-out guesser costs no secret-store read.
        verdict = self.throttle.check(client_id, address)
        if verdict is not None:
            log.warning(
                "token request throttled: client %s from %s (%s), retry in %d s",
                _loggable(client_id),
                address,
                verdict.reason,
                verdict.retry_after,
            )
            raise OAuthError(
                429,
                "slow_down",
                f"Too many failed attempts from {verdict.reason}; retry after {verdict.retry_after} s.",
                {"Retry-After": str(verdict.retry_after)},
            )
        client = await self._clients.check_secret(client_id, secret) if client_id and secret else None
        if client is None:
            failures = self.throttle.failed(client_id, address)
            # Never the secret: only the client id (quoted when it is not a GUID), the address and a count.
            log.warning(
                "token request refused: bad credentials for client %s from %s (%d failures in the window)",
                _loggable(client_id),
                address,
                failures,
            )
            if not client_id or not secret:
                raise _invalid_client(
                    "Send client_id and client_secret in a Basic Authorization header or the form body."
                )
            raise _invalid_client("The client id or secret is wrong, or the client is disabled.")
        self.throttle.succeeded(client.id, address)
        if not address_allowed(address, client.networks):
            log.warning("token request refused: client %s from %s is outside its networks", client.id, address)
            raise OAuthError(
                403,
                "access_denied",
                f"Token requests from {address} are not allowed for this client; ask the admin to add the network.",
            )
        token, expires_in = await self._tokens.issue(client.id, client.directory, ttl=ttl)
        return {"access_token": token, "token_type": "Bearer", "expires_in": expires_in, "scope": form.scope or "scim"}
