"""Access tokens: HS256 JWTs signed with a key from the secret store; PyJWT verifies (algorithm pinned, claims
required), and a bounded cache of verified tokens keeps the per-request cost below one HMAC.

Two kinds (docs/security.md):
* access tokens (OAuth mode, 1-6 h): signed with the newest settled version of ``scim-signing-key``; ``kid``
  names that version, and every enabled version verifies, so a key rotation never cuts a live token;
* long-lived tokens (Entra's "Secret Token" mode): each has its own random key, stored as one version of
  ``ltt-<client>``; ``kid`` names that version. Disabling the version revokes exactly that token, and signing
  key rotation leaves these tokens alone.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from scim.auth.keyring import KeyRing, settled_key
from scim.errors import Unauthorized
from scim.secrets import (
    SIGNING_KEY_SECRET,
    SecretStore,
    SecretVersion,
    is_client_id,
    long_lived_token_name,
)

ALGORITHM = "HS256"
AUDIENCE = "scim"
DEFAULT_TTL = 3600
MIN_TTL = 3600  # Entra's OAuth mode wants 60 min to 6 h (docs/reference/entra-wire.md §3.2)
MAX_TTL = 6 * 3600
LONG_LIVED_TTL = 10 * 365 * 24 * 3600  # Entra's "Secret Token" must be perpetual (docs/reference/entra-wire.md §3.1)
MAX_TOKEN_LENGTH = 4096
LEEWAY_SECONDS = 30  # clock skew between instances
ACCESS = "access"
LONG_LIVED = "long-lived"
# A client secret pasted in Entra's Secret Token field is the usual non-JWT bearer (docs/reference/entra-wire.md §3.1).
NOT_A_JWT = (
    "The bearer token is not a well-formed JWT. If this is a client secret pasted into Entra's Secret Token field,"
    " issue a long-lived token instead (scimctl token issue --client <client-id> --long-lived) and paste that,"
    " or use OAuth2 Client Credentials Grant with the secret."
)
FULL_SCOPE = "scim"
READ_SCOPE = "scim.read"  # read-only clients: GET and POST /.search, every write is 403
_REQUIRED = ["exp", "iat", "nbf", "sub", "jti", "iss", "aud", "typ"]
# Verified tokens kept per instance, keyed by SHA-256 of the token: a hit skips parsing and the HMAC, yet still
# re-reads the key's versions (so retire/revoke keep their 60 s bound) and the expiry. Entra reuses one token for
# up to an hour, so a handful of entries serve a tenant; the bound caps memory at a few MB under any load.
VERIFIED_CACHE_SIZE = 10_000
_BAD_SIGNATURE = "The bearer token's signature is invalid, or its signing key is no longer valid; get a new token."
_BAD_LONG_LIVED = "The long-lived token was revoked, its client deleted, or its signature is invalid; ask the admin."


ClientCheck = Callable[[str], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class TokenClaims:
    client_id: str
    directory: str
    jti: str
    expires: int
    long_lived: bool
    scope: str = FULL_SCOPE


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in: int
    token_id: str  # the ltt version of a long-lived token (what `scimctl token revoke` takes), else the jti


class TokenService:
    """Issues and verifies tokens; every enabled version of the signing key verifies (kid = version)."""

    def __init__(self, secret_store: SecretStore, issuer: str, *, verified_cache: int = VERIFIED_CACHE_SIZE) -> None:
        self._secrets = secret_store
        self._issuer = issuer
        self._cache_size = verified_cache
        self._verified: dict[bytes, tuple[TokenClaims, str, str]] = {}
        self._decoy = secrets.token_urlsafe(32)  # never signs anything; see verify

    def keyring(self) -> KeyRing:
        """Key rotation and long-lived token bookkeeping on the same secret store."""
        return KeyRing(self._secrets, longest_token=timedelta(seconds=MAX_TTL + LEEWAY_SECONDS))

    async def ensure_signing_key(self) -> None:
        """Create the first signing key where none exists (local runs; infra creates it in Azure)."""
        if not await self._secrets.versions(SIGNING_KEY_SECRET):
            await self._secrets.add_version(SIGNING_KEY_SECRET, secrets.token_urlsafe(32))

    def _claims(self, client_id: str, directory: str, ttl: int, typ: str, read_only: bool = False) -> dict[str, Any]:
        issued = int(time.time())
        scope = {"scope": READ_SCOPE} if read_only else {}
        return scope | {
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

    async def issue(self, client_id: str, directory: str, *, ttl: int, read_only: bool = False) -> tuple[str, int]:
        """A signed access token and its lifetime in seconds."""
        keys = await self._secrets.versions(SIGNING_KEY_SECRET)
        if not keys:
            raise RuntimeError(
                f"the secret store has no {SIGNING_KEY_SECRET!r}; deploy the infra or run scimctl key rotate"
            )
        key = settled_key(keys)
        claims = self._claims(client_id, directory, ttl, ACCESS, read_only)
        return jwt.encode(claims, key.value, algorithm=ALGORITHM, headers={"kid": key.version}), ttl

    async def issue_long_lived(self, client_id: str, directory: str, *, read_only: bool = False) -> IssuedToken:
        """A long-lived token with a key of its own; revoke it by disabling that key's version."""
        claims = self._claims(client_id, directory, LONG_LIVED_TTL, LONG_LIVED, read_only)
        expires = datetime.fromtimestamp(claims["exp"], UTC)
        own = await self._secrets.add_version(
            long_lived_token_name(client_id), secrets.token_urlsafe(32), expires_on=expires
        )
        token = jwt.encode(claims, own.value, algorithm=ALGORITHM, headers={"kid": own.version})
        return IssuedToken(token, LONG_LIVED_TTL, own.version)

    async def _key_for(self, header: dict[str, Any], unverified: dict[str, Any]) -> tuple[str, SecretVersion | None]:
        """The secret whose version ``kid`` names, and that version (None when it is unknown, retired or revoked)."""
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("The bearer token names no signing key.")
        if unverified.get("typ") == LONG_LIVED:
            sub = unverified.get("sub")
            if not isinstance(sub, str) or not is_client_id(sub):
                raise Unauthorized("The bearer token's claims are invalid.")
            name = long_lived_token_name(sub)
        else:
            name = SIGNING_KEY_SECRET
        return name, next((k for k in await self._secrets.versions(name) if k.version == kid), None)

    async def _cached(self, digest: bytes) -> TokenClaims | None:
        """A token verified before, if its key is still enabled and it has not expired since."""
        hit = self._verified.get(digest)
        if hit is None:
            return None
        claims, name, kid = hit
        if claims.expires + LEEWAY_SECONDS <= time.time():
            del self._verified[digest]
            raise Unauthorized("The bearer token has expired; get a new one from the token endpoint.")
        if not any(k.version == kid for k in await self._secrets.versions(name)):
            del self._verified[digest]
            raise Unauthorized(_BAD_LONG_LIVED if claims.long_lived else _BAD_SIGNATURE)
        return claims

    def _remember(self, digest: bytes, entry: tuple[TokenClaims, str, str]) -> None:
        if self._cache_size <= 0:
            return
        if len(self._verified) >= self._cache_size:
            del self._verified[next(iter(self._verified))]  # oldest first: dicts keep insertion order
        self._verified[digest] = entry

    async def verify(self, token: str, *, client_known: ClientCheck | None = None) -> TokenClaims:
        """Check signature (HS256 only), issuer, audience and lifetime with PyJWT; Unauthorized says which failed.

        ``client_known`` vets a long-lived token's client before its keys are read from the secret store, so a
        forged token naming random client ids costs a cached store read, not a Key Vault call."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise Unauthorized("The bearer token is too long to be one of ours.")
        # surrogatepass keeps the encoding one-to-one for any str, so two tokens never share a cache entry.
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        cached = await self._cached(digest)
        if cached is not None:
            return cached
        if token.count(".") != 2:
            raise Unauthorized(NOT_A_JWT)
        try:
            unverified = jwt.decode_complete(token, options={"verify_signature": False})
        except (jwt.InvalidTokenError, RecursionError):  # RecursionError: "[[[[..." nested past the parser's limit
            raise Unauthorized("The bearer token is not a well-formed JWT.") from None
        header, peeked = unverified["header"], unverified["payload"]
        # The algorithm is pinned before any key is looked up: "none", RS256/ES256 (key confusion) and HS512 stop here.
        if header.get("alg") != ALGORITHM:
            raise Unauthorized("The bearer token is not signed with the algorithm this service uses.")
        long_lived = peeked.get("typ") == LONG_LIVED
        if client_known is not None and long_lived:
            sub = peeked.get("sub")
            if not isinstance(sub, str) or not await client_known(sub):
                raise Unauthorized(_BAD_LONG_LIVED)
        name, key = await self._key_for(header, peeked)
        # An unknown kid is checked against a throwaway key, so it answers like a bad signature, as slowly.
        claims = self._decode(token, key.value if key else self._decoy, long_lived)
        if key is None:
            raise Unauthorized(_BAD_LONG_LIVED if long_lived else _BAD_SIGNATURE)
        if not isinstance(claims.get("dir"), str) or not isinstance(claims.get("sub"), str):
            raise Unauthorized("The bearer token's claims are invalid.")
        if claims["typ"] not in (ACCESS, LONG_LIVED):
            raise Unauthorized("The bearer token's claims are invalid.")
        verified = TokenClaims(
            client_id=claims["sub"],
            directory=claims["dir"],
            jti=str(claims["jti"]),
            expires=int(claims["exp"]),
            long_lived=claims["typ"] == LONG_LIVED,
            scope=str(claims.get("scope", FULL_SCOPE)),
        )
        self._remember(digest, (verified, name, key.version))
        return verified

    def _decode(self, token: str, key: str, long_lived: bool) -> dict[str, Any]:
        """PyJWT's RFC 7519 §4.1 checks: signature, required claims, issuer, audience, exp/nbf/iat with leeway."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": _REQUIRED},
            )
        except jwt.InvalidSignatureError:
            raise Unauthorized(_BAD_LONG_LIVED if long_lived else _BAD_SIGNATURE) from None
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The bearer token has expired; get a new one from the token endpoint.") from None
        except jwt.ImmatureSignatureError:  # nbf or iat in the future
            raise Unauthorized("The bearer token is not valid yet.") from None
        except (jwt.InvalidIssuerError, jwt.InvalidAudienceError):
            raise Unauthorized("The bearer token was issued for another service.") from None
        except (jwt.InvalidTokenError, RecursionError):  # NaN/Infinity times, missing claims, bad types
            raise Unauthorized("The bearer token's claims are invalid.") from None
        return claims
