"""Entra's own bearer token, sent when an admin leaves Secret Token blank (Microsoft calls it a testing option).

Microsoft Learn, "Tutorial: Develop and plan provisioning for a SCIM endpoint" ("Handling endpoint
authentication"): the token's issuer is ``https://sts.windows.net/{tenantId}/`` and its audience
``8adf8e6e-67b2-4cf2-a259-e3dc5476c621`` for every tenant's custom apps. The audience names no application, so
the tenant is the only thing that tells one customer's Entra from another's: AzureAD/SCIMReferenceCode checks
issuer and audience only, and a token of one tenant passes in another (AzureAD/SCIMReferenceCode#100). Here a client
opts in pinned to one tenant, and a token is accepted only when its ``iss`` and ``tid`` both name that tenant, its
signature checks against that tenant's published keys (the SCIM_ENTRA_JWKS_URL_TEMPLATE used by federation)
and it is RS256. Because nothing in the token names an application, one tenant feeds one client; the client's
id is derived from the tenant, so a request finds its client without a scan.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

import jwt

from scim.auth.federation import FederationRefused, JwksCache, KeysUnavailable
from scim.auth.tokens import ALGORITHM as OUR_ALGORITHM
from scim.auth.tokens import FULL_SCOPE, TokenClaims
from scim.errors import Unauthorized, Unavailable
from scim.model import Client
from scim.secrets import is_client_id

ENTRA_AUDIENCE = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621"  # shared by every tenant's non-gallery apps
ISSUER = "https://sts.windows.net/{tenant}/"
ALGORITHM = "RS256"  # pinned: what Entra signs its access tokens with
LEEWAY_SECONDS = 60
MAX_TOKEN_LENGTH = 8192
CACHE_SIZE = 1_000  # Entra reuses one token for about an hour: a handful of entries per tenant
_NAMESPACE = uuid.UUID("5d0c1a52-9b4e-4c1f-8f61-3a7e2b9c0d14")  # this product's: client ids of pinned tenants
_REQUIRED = ["exp", "iss", "aud", "tid"]
_REFUSED = "Entra's own token is accepted only from the tenant a client is pinned to (scimctl client create " \
    "--entra-issued-tenant); this one's tenant, issuer, audience or signature does not match."  # fmt: skip


def client_id_for(tenant: str) -> str:
    """The client id of the client pinned to ``tenant`` (the same on every instance)."""
    return str(uuid.uuid5(_NAMESPACE, f"entra-issued:{tenant.lower()}"))


def check_tenant(tenant: str) -> str:
    """The Directory (tenant) ID as a lowercase GUID; ValueError otherwise."""
    value = tenant.strip().lower()
    if not is_client_id(value):
        raise ValueError("--entra-issued-tenant is the Directory (tenant) ID, a GUID")
    return value


def peek_tenant(token: str) -> str | None:
    """The tenant of what looks like Entra's own token (not HS256, issued by sts.windows.net), else None.

    Unverified: it only routes the token here; every claim is checked against the pinned tenant afterwards."""
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        return None
    try:
        complete = jwt.decode_complete(token, options={"verify_signature": False})
    except (jwt.InvalidTokenError, RecursionError):
        return None
    if complete["header"].get("alg") == OUR_ALGORITHM:  # ours (HS256), whatever its claims say
        return None
    payload = complete["payload"]
    issuer, tenant = payload.get("iss"), payload.get("tid")
    if not isinstance(issuer, str) or not issuer.startswith("https://sts.windows.net/"):
        return None
    return tenant.lower() if isinstance(tenant, str) and is_client_id(tenant.lower()) else ""


class EntraIssuedVerifier:
    """Checks Entra's own token against the one client pinned to its tenant; verified tokens are cached."""

    def __init__(self, jwks_url_template: str, keys: JwksCache) -> None:
        self._jwks_template = jwks_url_template
        self._keys = keys
        self._verified: dict[bytes, TokenClaims] = {}

    def jwks_url(self, tenant: str) -> str:
        return self._jwks_template.replace("{tenant}", tenant)

    async def verify(self, token: str, client: Client | None) -> TokenClaims:
        """Claims for ``client`` (the one the token's tenant points to); Unauthorized when anything differs."""
        if client is None or client.disabled or not client.entra_issued_tenant:
            raise Unauthorized(_REFUSED)
        tenant = client.entra_issued_tenant
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        hit = self._verified.get(digest)
        if hit is not None and hit.client_id == client.id and hit.expires + LEEWAY_SECONDS > time.time():
            return hit
        claims = await self._decode(token, tenant)
        verified = TokenClaims(
            client_id=client.id,
            directory=client.directory,
            jti=str(claims.get("uti") or claims.get("jti") or ""),
            expires=int(claims["exp"]),
            long_lived=False,
            scope=FULL_SCOPE,
        )
        if len(self._verified) >= CACHE_SIZE:
            del self._verified[next(iter(self._verified))]
        self._verified[digest] = verified
        return verified

    async def _decode(self, token: str, tenant: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.InvalidTokenError, RecursionError):
            raise Unauthorized(_REFUSED) from None
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str) or not kid:
            raise Unauthorized(_REFUSED)
        try:
            key = await self._keys.key(self.jwks_url(tenant), kid)  # the pinned tenant's keys, never the token's
        except KeysUnavailable:
            raise Unavailable("Entra's signing keys for this tenant cannot be read right now; retry shortly.") from None
        except FederationRefused:  # a kid the tenant does not publish
            raise Unauthorized(_REFUSED) from None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[ALGORITHM],
                audience=ENTRA_AUDIENCE,
                issuer=ISSUER.format(tenant=tenant),
                leeway=LEEWAY_SECONDS,
                options={"require": _REQUIRED},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("Entra's token has expired.") from None
        except (jwt.InvalidTokenError, RecursionError):
            raise Unauthorized(_REFUSED) from None
        if claims.get("tid") != tenant:
            raise Unauthorized(_REFUSED)
        return claims
