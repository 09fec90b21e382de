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
from scim.auth.federation import ASSERTION_TYPE, FederationRefused, FederationVerifier, KeysUnavailable
from scim.auth.network import address_allowed
from scim.auth.throttle import FailureThrottle
from scim.auth.tokens import DEFAULT_TTL, FULL_SCOPE, MAX_TTL, MIN_TTL, READ_SCOPE, TokenService
from scim.model import Client
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
    """The form fields this endpoint reads; anything else (Entra's resource, say) is ignored."""

    # No whitespace stripping: a secret is compared exactly as sent (RFC 6749 §2.3.1), never "repaired".
    model_config = ConfigDict(extra="ignore")

    grant_type: str = ""
    client_id: str | None = None
    client_secret: str | None = None
    client_assertion_type: str | None = None
    client_assertion: str | None = None
    scope: str | None = None
    ttl: int | None = Field(default=None, description="Lifetime in minutes, 60 to 360 (senhasegura's `ttl`).")


def _invalid_client(description: str) -> OAuthError:
    return OAuthError(401, "invalid_client", description, {"WWW-Authenticate": 'Basic realm="scim", charset="UTF-8"'})


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        # ValueError: non-ASCII characters in the header, which base64 refuses before decoding anything.
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, ValueError):
        raise _invalid_client(
            "The Basic Authorization header is not valid base64 of client_id:client_secret."
        ) from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise _invalid_client("The Basic Authorization header must hold client_id:client_secret.")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


FORM_TYPE = "application/x-www-form-urlencoded"


def parse_form(body: bytes, content_type: str) -> TokenForm:
    # RFC 6749 §4.4.2: exactly this media type; parameters such as charset may follow (RFC 9110 §8.3.1).
    if content_type.partition(";")[0].strip().lower() != FORM_TYPE:
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


def granted_scope(requested: str | None, *, read_only: bool) -> str:
    """The scope a token gets: ``scim.read`` when asked for alone (or the client is read-only), else ``scim``.

    RFC 6749 §3.3: the server may ignore part of a request and then says what it granted. The request is
    space-delimited; values this service does not define (whatever an admin types into Entra's optional
    scopes field) are ignored rather than refused with invalid_scope, so they cannot break provisioning, and
    the answer's ``scope`` shows the grant. No scope, or only unknown ones, grants the client's default."""
    asked = {value.lower() for value in (requested or "").split()}
    if read_only or (READ_SCOPE in asked and FULL_SCOPE not in asked):
        return READ_SCOPE
    return FULL_SCOPE


def _loggable(client_id: str | None) -> str:
    """A client id fit for a log line: ids are GUIDs, anything else is caller-chosen text, so quote and cut it."""
    if client_id and is_client_id(client_id):
        return client_id
    return repr((client_id or "")[:40])


def named_client(body: bytes, content_type: str, authorization: str | None) -> str | None:
    """The client id a token request names (header or form), fit for a log line; None when it names none."""
    try:
        basic = _basic(authorization)
        client_id = basic[0] if basic else parse_form(body, content_type).client_id
    except OAuthError:
        return None
    return _loggable(client_id) if client_id else None


class TokenEndpoint:
    def __init__(
        self,
        clients: ClientRegistry,
        tokens: TokenService,
        throttle: FailureThrottle | None = None,
        federation: FederationVerifier | None = None,
    ) -> None:
        self._clients = clients
        self._tokens = tokens
        self.throttle = throttle or FailureThrottle()
        self.federation = federation or FederationVerifier()

    def _check_throttle(self, client_id: str | None, address: str) -> None:
        """429 while this caller is locked out; checked before any credential, so a guesser costs no store read."""
        verdict = self.throttle.check(client_id, address)
        if verdict is None:
            return
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

    def _failed(self, client_id: str | None, address: str, why: str) -> None:
        failures = self.throttle.failed(client_id, address)
        # Never the secret or the assertion: only the client id (quoted when it is not a GUID), the address, a count.
        log.warning(
            "token request refused: %s for client %s from %s (%d failures in the window)",
            why,
            _loggable(client_id),
            address,
            failures,
        )

    async def exchange(self, body: bytes, content_type: str, authorization: str | None, address: str) -> dict[str, Any]:
        """Check the grant and the client, then issue a token; raises OAuthError."""
        form = parse_form(body, content_type)
        if form.grant_type != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", "grant_type must be client_credentials.")
        ttl = DEFAULT_TTL if form.ttl is None else form.ttl * 60
        if not MIN_TTL <= ttl <= MAX_TTL:
            raise OAuthError(400, "invalid_request", "ttl must be between 60 and 360 minutes.")
        if form.client_assertion is not None or form.client_assertion_type is not None:
            client = await self._assertion_client(form, authorization, address)
        else:
            client = await self._secret_client(form, authorization, address)
        self.throttle.succeeded(client.id, address)
        if not address_allowed(address, client.networks):
            log.warning("token request refused: client %s from %s is outside its networks", client.id, address)
            raise OAuthError(
                403,
                "access_denied",
                f"Token requests from {address} are not allowed for this client; ask the admin to add the network.",
            )
        scope = granted_scope(form.scope, read_only=client.read_only)
        read_only = scope == READ_SCOPE
        token, expires_in = await self._tokens.issue(client.id, client.directory, ttl=ttl, read_only=read_only)
        return {"access_token": token, "token_type": "Bearer", "expires_in": expires_in, "scope": scope}

    async def _secret_client(self, form: TokenForm, authorization: str | None, address: str) -> Client:
        try:
            basic = _basic(authorization)
        except OAuthError:
            self._check_throttle(None, address)  # a malformed header is a failed attempt like a wrong secret
            self._failed(None, address, "a malformed Basic header")
            raise
        posted = (form.client_id, form.client_secret) if form.client_id or form.client_secret else None
        # Entra's "Both" sends the same pair in the header and the body: one method, said twice. A client_id alone in
        # the body may name the header's client (RFC 6749 §3.2.1). Anything else in both places is two methods,
        # which RFC 6749 §2.3 forbids and §5.2 answers with invalid_request.
        if basic and posted and (posted[0] != basic[0] or posted[1] not in (None, basic[1])):
            raise OAuthError(400, "invalid_request", "The client credentials in the header and the body differ.")
        client_id, secret = basic or posted or (None, None)
        self._check_throttle(client_id, address)
        client = await self._clients.check_secret(client_id, secret) if client_id and secret else None
        if client is None:
            self._failed(client_id, address, "bad credentials")
            if not client_id or not secret:
                raise _invalid_client(
                    "Send client_id and client_secret in a Basic Authorization header or the form body."
                )
            raise _invalid_client("The client id or secret is wrong, or the client is disabled.")
        return client

    async def _assertion_client(self, form: TokenForm, authorization: str | None, address: str) -> Client:
        """RFC 7523 §2.2 client authentication with Entra's signed assertion (workload identity federation)."""
        if authorization or form.client_secret is not None:
            # RFC 6749 §2.3: a client uses one authentication method per request.
            raise OAuthError(400, "invalid_request", "Send either a client_assertion or a client secret, not both.")
        if form.client_assertion_type != ASSERTION_TYPE:
            raise OAuthError(400, "invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}.")
        if not form.client_assertion or not form.client_id:
            raise OAuthError(
                400, "invalid_request", "Send client_id (from scimctl client show) and client_assertion together."
            )
        self._check_throttle(form.client_id, address)
        client = await self._clients.client(form.client_id)
        if client is None or client.disabled or client.federation is None:
            self._failed(form.client_id, address, "an assertion for no federated client")
            raise _invalid_client("The client id is unknown, disabled, or not set up for workload identity federation.")
        try:
            await self.federation.verify(form.client_assertion, client.federation)
        except FederationRefused as refused:
            # The configured value (an issuer, audience, subject or tenant id: settings, not personal data) helps
            # the admin and stays in the log; the caller only learns which check failed.
            expected = f" (configured: {refused.expected})" if refused.expected else ""
            self._failed(client.id, address, f"an assertion failing its {refused.claim} check{expected}")
            raise _invalid_client(refused.description) from None
        except KeysUnavailable as exc:
            log.warning("token request for client %s not checked: %s", client.id, exc)
            raise OAuthError(
                503,
                "temporarily_unavailable",
                "Entra's signing keys for this tenant cannot be read right now; retry shortly.",
                {"Retry-After": "30"},
            ) from None
        return client
