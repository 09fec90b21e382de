"""Access tokens: HS256 JWTs signed with a key from the secret store, algorithm pinned, claims checked."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from scim.errors import Unauthorized
from scim.secrets import SIGNING_KEY_SECRET, SecretStore, SecretVersion

ALGORITHM = "HS256"
AUDIENCE = "scim"
DEFAULT_TTL = 3600
MIN_TTL = 3600  # Entra's OAuth mode wants 60 min to 6 h (reference §3.2)
MAX_TTL = 6 * 3600
LONG_LIVED_TTL = 10 * 365 * 24 * 3600  # Entra's "Secret Token" must be perpetual in practice (reference §3.1)
MAX_TOKEN_LENGTH = 4096
KEY_PROPAGATION_SECONDS = 90  # longer than the secret stores' 60 s cache


@dataclass(frozen=True, slots=True)
class TokenClaims:
    client_id: str
    directory: str
    jti: str
    expires: int
    long_lived: bool


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

    async def ensure_signing_key(self) -> None:
        """Create the first signing key where none exists (local runs; infra creates it in Azure)."""
        if not await self._secrets.versions(SIGNING_KEY_SECRET):
            await self._secrets.add_version(SIGNING_KEY_SECRET, secrets.token_urlsafe(32))

    async def issue(self, client_id: str, directory: str, *, ttl: int, long_lived: bool = False) -> tuple[str, int]:
        """A signed token and its lifetime in seconds."""
        keys = await self._secrets.versions(SIGNING_KEY_SECRET)
        if not keys:
            raise RuntimeError(
                f"the secret store has no {SIGNING_KEY_SECRET!r}; deploy the infra or run scimctl key rotate"
            )
        key = _signing_key(keys)
        issued = int(time.time())
        claims = {
            "iss": self._issuer,
            "aud": AUDIENCE,
            "sub": client_id,
            "dir": directory,
            "iat": issued,
            "nbf": issued,
            "exp": issued + ttl,
            "jti": uuid.uuid4().hex,
            "typ": "long-lived" if long_lived else "access",
        }
        token = jwt.encode(claims, key.value, algorithm=ALGORITHM, headers={"kid": key.version})
        return token, ttl

    async def verify(self, token: str) -> TokenClaims:
        """Check signature (HS256 only), issuer, audience and lifetime; Unauthorized says which check failed."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise Unauthorized("The bearer token is too long to be one of ours.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("The bearer token is not a well-formed JWT.") from None
        if header.get("alg") != ALGORITHM:
            raise Unauthorized("The bearer token is not signed with the algorithm this service uses.")
        kid = header.get("kid")
        key = next((k for k in await self._secrets.versions(SIGNING_KEY_SECRET) if k.version == kid), None)
        if key is None:
            raise Unauthorized("The bearer token was signed with a key that is no longer valid; get a new token.")
        try:
            claims = jwt.decode(
                token,
                key.value,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "nbf", "sub", "jti", "iss", "aud"]},
                leeway=30,
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The bearer token has expired; get a new one from the token endpoint.") from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized("The bearer token is not valid yet.") from None
        except (jwt.InvalidAudienceError, jwt.InvalidIssuerError):
            raise Unauthorized("The bearer token was issued for another service.") from None
        except jwt.PyJWTError:
            raise Unauthorized("The bearer token's signature or claims are invalid.") from None
        if not isinstance(claims.get("dir"), str) or not isinstance(claims.get("sub"), str):
            raise Unauthorized("The bearer token's claims are invalid.")
        return TokenClaims(
            client_id=claims["sub"],
            directory=claims["dir"],
            jti=claims["jti"],
            expires=int(claims["exp"]),
            long_lived=claims.get("typ") == "long-lived",
        )
