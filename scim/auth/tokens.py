"""Access tokens: HS256 JWTs signed with a key from the secret store, algorithm pinned, claims checked.

Two kinds (docs/security.md):
* access tokens (OAuth mode, 1-6 h): signed with the newest settled version of ``scim-signing-key``; ``kid``
  names that version, and every enabled version verifies, so a key rotation never cuts a live token;
* long-lived tokens (Entra's "Secret Token" mode): each has its own random key, stored as one version of
  ``ltt-<client>``; ``kid`` names that version. Disabling the version revokes exactly that token, and signing
  key rotation leaves these tokens alone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from scim.errors import Unauthorized
from scim.secrets import SIGNING_KEY_SECRET, SecretStore, SecretVersion, is_client_id, long_lived_token_name

ALGORITHM = "HS256"
AUDIENCE = "scim"
DEFAULT_TTL = 3600
MIN_TTL = 3600  # Entra's OAuth mode wants 60 min to 6 h (reference §3.2)
MAX_TTL = 6 * 3600
LONG_LIVED_TTL = 10 * 365 * 24 * 3600  # Entra's "Secret Token" must be perpetual in practice (reference §3.1)
MAX_TOKEN_LENGTH = 4096
KEY_PROPAGATION_SECONDS = 90  # longer than the secret stores' 60 s cache
LEEWAY_SECONDS = 30  # clock skew between instances
ACCESS = "access"
LONG_LIVED = "long-lived"
_B64URL = re.compile(r"[A-Za-z0-9_-]{1,4000}")
_REQUIRED = ["exp", "iat", "nbf", "sub", "jti", "iss", "aud", "typ"]


ClientCheck = Callable[[str], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class TokenClaims:
    client_id: str
    directory: str
    jti: str
    expires: int
    long_lived: bool


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in: int
    token_id: str  # the ltt version of a long-lived token (what `scimctl token revoke` takes), else the jti


def _segment(text: str) -> dict[str, Any]:
    if not _B64URL.fullmatch(text):
        raise Unauthorized("The bearer token is not a well-formed JWT.")
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error, RecursionError):  # RecursionError: "[[[[..." nested past the parser's limit
        raise Unauthorized("The bearer token is not a well-formed JWT.") from None
    if not isinstance(value, dict):
        raise Unauthorized("The bearer token is not a well-formed JWT.")
    return value


def _check_signature(token: str, key: str) -> None:
    """HS256 over the token's first two segments, compared in constant time (RFC 7515 §5.2).

    Hand-rolled on purpose: the algorithm is already pinned and PyJWT's decode re-parses the token with a
    per-character check that costs about 0.3 ms per request; tokens are still made by PyJWT's encoder.
    """
    signing_input, _, signature = token.rpartition(".")
    if not _B64URL.fullmatch(signature):
        raise Unauthorized("The bearer token's signature or claims are invalid.")
    try:
        offered = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except (ValueError, binascii.Error):
        raise Unauthorized("The bearer token's signature or claims are invalid.") from None
    expected = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, offered):
        raise Unauthorized("The bearer token's signature or claims are invalid.")


def _peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, unverified: they choose the key, and are trusted only after _check_signature."""
    parts = token.split(".")
    if len(parts) != 3:
        raise Unauthorized("The bearer token is not a well-formed JWT.")
    return _segment(parts[0]), _segment(parts[1])


def _signing_key(keys: list[SecretVersion]) -> SecretVersion:
    """The newest key every instance has already seen: secret stores cache versions for up to a minute,
    so a key younger than that could sign tokens that other instances cannot verify yet."""
    settled = datetime.now(UTC) - timedelta(seconds=KEY_PROPAGATION_SECONDS)
    return next((k for k in keys if k.created <= settled), keys[-1])


class TokenService:
    """Issues and verifies tokens; every enabled version of the signing key verifies (kid = version)."""

    def __init__(self, secret_store: SecretStore, issuer: str) -> None:
        self._secrets = secret_store
        self._issuer = issuer

    def keyring(self) -> KeyRing:
        """Key rotation and long-lived token bookkeeping on the same secret store."""
        return KeyRing(self._secrets)

    async def ensure_signing_key(self) -> None:
        """Create the first signing key where none exists (local runs; infra creates it in Azure)."""
        if not await self._secrets.versions(SIGNING_KEY_SECRET):
            await self._secrets.add_version(SIGNING_KEY_SECRET, secrets.token_urlsafe(32))

    def _claims(self, client_id: str, directory: str, ttl: int, typ: str) -> dict[str, Any]:
        issued = int(time.time())
        return {
            "iss": self._issuer,
            "aud": AUDIENCE,
            "sub": client_id,
            "dir": directory,
            "iat": issued,
            "nbf": issued,
            "exp": issued + ttl,
            "jti": uuid.uuid4().hex,
            "typ": typ,
        }

    async def issue(self, client_id: str, directory: str, *, ttl: int) -> tuple[str, int]:
        """A signed access token and its lifetime in seconds."""
        keys = await self._secrets.versions(SIGNING_KEY_SECRET)
        if not keys:
            raise RuntimeError(
                f"the secret store has no {SIGNING_KEY_SECRET!r}; deploy the infra or run scimctl key rotate"
            )
        key = _signing_key(keys)
        claims = self._claims(client_id, directory, ttl, ACCESS)
        return jwt.encode(claims, key.value, algorithm=ALGORITHM, headers={"kid": key.version}), ttl

    async def issue_long_lived(self, client_id: str, directory: str) -> IssuedToken:
        """A long-lived token with a key of its own; revoke it by disabling that key's version."""
        claims = self._claims(client_id, directory, LONG_LIVED_TTL, LONG_LIVED)
        expires = datetime.fromtimestamp(claims["exp"], UTC)
        own = await self._secrets.add_version(
            long_lived_token_name(client_id), secrets.token_urlsafe(32), expires_on=expires
        )
        token = jwt.encode(claims, own.value, algorithm=ALGORITHM, headers={"kid": own.version})
        return IssuedToken(token, LONG_LIVED_TTL, own.version)

    async def _key_for(self, header: dict[str, Any], unverified: dict[str, Any]) -> SecretVersion:
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("The bearer token names no signing key.")
        if unverified.get("typ") == LONG_LIVED:
            sub = unverified.get("sub")
            if not isinstance(sub, str) or not is_client_id(sub):
                raise Unauthorized("The bearer token's claims are invalid.")
            keys = await self._secrets.versions(long_lived_token_name(sub))
            revoked = "The long-lived token was revoked or its client deleted; ask the admin for a new one."
        else:
            keys = await self._secrets.versions(SIGNING_KEY_SECRET)
            revoked = "The bearer token was signed with a key that is no longer valid; get a new token."
        key = next((k for k in keys if k.version == kid), None)
        if key is None:
            raise Unauthorized(revoked)
        return key

    def _check_claims(self, claims: dict[str, Any]) -> dict[str, Any]:
        """RFC 7519 §4.1 checks on signed claims: required, issuer, audience, exp/nbf/iat with leeway."""
        if any(name not in claims for name in _REQUIRED):
            raise Unauthorized("The bearer token's signature or claims are invalid.")
        times = [claims[name] for name in ("exp", "nbf", "iat")]
        if not all(isinstance(t, int | float) and not isinstance(t, bool) for t in times):
            raise Unauthorized("The bearer token's signature or claims are invalid.")
        audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if claims["iss"] != self._issuer or AUDIENCE not in audience:
            raise Unauthorized("The bearer token was issued for another service.")
        now = time.time()
        if claims["exp"] + LEEWAY_SECONDS <= now:
            raise Unauthorized("The bearer token has expired; get a new one from the token endpoint.")
        if claims["nbf"] - LEEWAY_SECONDS > now or claims["iat"] - LEEWAY_SECONDS > now:
            raise Unauthorized("The bearer token is not valid yet.")
        return claims

    async def verify(self, token: str, *, client_known: ClientCheck | None = None) -> TokenClaims:
        """Check signature (HS256 only), issuer, audience and lifetime; Unauthorized says which check failed.

        ``client_known`` vets a long-lived token's client before its keys are read from the secret store, so a
        forged token naming random client ids costs a cached store read, not a Key Vault call."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise Unauthorized("The bearer token is too long to be one of ours.")
        header, unverified = _peek(token)
        # The algorithm is pinned before any key is looked up: "none", RS256/ES256 (key confusion) and HS512 stop here.
        if header.get("alg") != ALGORITHM:
            raise Unauthorized("The bearer token is not signed with the algorithm this service uses.")
        if client_known is not None and unverified.get("typ") == LONG_LIVED:
            sub = unverified.get("sub")
            if not isinstance(sub, str) or not await client_known(sub):
                raise Unauthorized(
                    "The long-lived token was revoked or its client deleted; ask the admin for a new one."
                )
        key = await self._key_for(header, unverified)
        _check_signature(token, key.value)
        claims = self._check_claims(unverified)
        if not isinstance(claims.get("dir"), str) or not isinstance(claims.get("sub"), str):
            raise Unauthorized("The bearer token's claims are invalid.")
        if claims["typ"] not in (ACCESS, LONG_LIVED):
            raise Unauthorized("The bearer token's claims are invalid.")
        return TokenClaims(
            client_id=claims["sub"],
            directory=claims["dir"],
            jti=str(claims["jti"]),
            expires=int(claims["exp"]),
            long_lived=claims["typ"] == LONG_LIVED,
        )


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A signing-key version as scimctl shows it (never its value)."""

    version: str
    created: datetime
    signing: bool
    stopped_signing: datetime | None  # when the next key took over; None for the signer and newer keys


class KeyRing:
    """Signing-key rotation and long-lived token bookkeeping for scimctl (docs/security.md, "Rotation")."""

    def __init__(self, secret_store: SecretStore) -> None:
        self._secrets = secret_store

    async def keys(self) -> list[KeyInfo]:
        """Enabled signing keys, newest first, with the one that signs now marked."""
        keys = await self._secrets.versions(SIGNING_KEY_SECRET)
        if not keys:
            return []
        signer = _signing_key(keys)
        index = keys.index(signer)
        return [
            KeyInfo(
                k.version,
                k.created,
                k is signer,
                keys[i - 1].created + timedelta(seconds=KEY_PROPAGATION_SECONDS) if i > index else None,
            )
            for i, k in enumerate(keys)
        ]

    async def rotate(self) -> KeyInfo:
        """Add a signing key; it starts signing after KEY_PROPAGATION_SECONDS, when every instance has seen it."""
        made = await self._secrets.add_version(SIGNING_KEY_SECRET, secrets.token_urlsafe(32))
        return KeyInfo(made.version, made.created, False, None)

    async def retire(self, older_than: timedelta, *, force: bool = False) -> list[KeyInfo]:
        """Disable keys that stopped signing more than ``older_than`` ago; never the key that signs now.

        Tokens signed with a retired key are refused within the secret cache's minute. Without ``force``,
        ``older_than`` must outlast the longest access token, so retiring never cuts a live token.
        """
        floor = timedelta(seconds=MAX_TTL + LEEWAY_SECONDS)
        if older_than < floor and not force:
            raise ValueError(
                f"--older-than must be at least {floor} (the longest token lifetime) unless --force is given"
            )
        cutoff = datetime.now(UTC) - older_than
        retired = []
        for key in await self.keys():
            if key.stopped_signing is not None and key.stopped_signing <= cutoff:
                await self._secrets.disable_version(SIGNING_KEY_SECRET, key.version)
                retired.append(key)
        return retired

    async def long_lived(self, client_id: str) -> list[SecretVersion]:
        """A client's live long-lived tokens (versions of ``ltt-<client>``), newest first."""
        return await self._secrets.versions(long_lived_token_name(client_id))

    async def revoke(self, client_id: str, token_id: str) -> bool:
        """Revoke one long-lived token; every instance refuses it within the secret cache's minute."""
        return await self._secrets.disable_version(long_lived_token_name(client_id), token_id)
