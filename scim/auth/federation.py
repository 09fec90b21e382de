"""Workload identity federation: Entra's signed client assertion (RFC 7523 §2.2) in place of a client secret.

Entra's provisioning service presents a JWT that Microsoft signs (RS256) for the customer's tenant; it is
checked against the tenant's published JWKS and the issuer, audience and subject the admin configured
(docs/security.md §2.1). Microsoft's pages disagree on those values (AzureAD/SCIMReferenceCode,
Workload-Identity-Federation-for-SCIM-Provisioning.md vs SCIMTests_WorkloadIdentityFederation_Setup.md), so
each is a per-client setting and the issuer and JWKS URL templates are settings too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from scim.config import ENTRA_ISSUER_TEMPLATE, ENTRA_JWKS_URL_TEMPLATE, check_url
from scim.model import GUID, Federation

log = logging.getLogger("scim.auth")

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ["RS256", "PS256"]  # what Entra signs with; HS*, "none" and EC keys never verify (key confusion)
LEEWAY_SECONDS = 60  # clock skew between Entra and this instance
MAX_ASSERTION_LIFETIME = 24 * 3600  # Entra's assertions live about an hour; longer ones would pin the replay set
MAX_ASSERTION_LENGTH = 8192
REFETCH_SECONDS = 60.0  # an unknown kid refetches the JWKS at most this often (a forged kid cannot flood Microsoft)
KEYS_MAX_AGE = 24 * 3600.0  # known keys are refreshed daily so a key Microsoft withdrew stops verifying
FETCH_TIMEOUT = 5.0
MAX_JWKS_BYTES = 256 * 1024
MAX_REPLAYS = 100_000
_REQUIRED = ["exp", "nbf", "iss", "aud", "sub", "tid"]


class FederationRefused(Exception):
    """The assertion failed one check; ``claim`` names it and ``description`` says it without quoting the token.

    ``expected`` is the configured value the check wanted (an issuer, audience, subject or tenant): it goes to the
    server log for the admin, never to the unauthenticated caller, who would learn the federation setup from it."""

    def __init__(self, claim: str, description: str, expected: str = "") -> None:
        super().__init__(description)
        self.claim = claim
        self.description = description
        self.expected = expected


class KeysUnavailable(Exception):
    """The tenant's JWKS could not be read and no cached key can check this assertion."""


def make_federation(tenant: str, audience: str | None, subject: str | None, issuer: str | None) -> Federation:
    """Validate an admin's federation settings; ValueError says what to fix and where Entra shows the value."""
    tenant = tenant.strip().lower()
    if not GUID.fullmatch(tenant):
        raise ValueError("--federated-tenant is the Directory (tenant) ID, a GUID")
    if not audience or not audience.strip():
        raise ValueError(
            "--federated-audience is required: copy Audience (aud) from Entra's Connectivity page "
            "(Workload Identity Federation), e.g. api://<workload identity app id>"
        )
    if not subject or not subject.strip():
        raise ValueError(
            "--federated-subject is required: copy Subject (sub) from Entra's Connectivity page "
            "(the object id of the Sync Fabric workload identity)"
        )
    if issuer:
        check_url("--federated-issuer", issuer.strip())
    # Entra's page shows the audience as a scope (api://<app>/.default); the aud claim never carries /.default.
    aud = audience.strip().removesuffix("/.default")
    return Federation(tenant=tenant, audience=aud, subject=subject.strip(), issuer=(issuer or "").strip())


def audiences(federation: Federation) -> list[str]:
    """The aud values accepted: a bare app id and api://<app id> name the same app, and Entra's pages show both."""
    aud = federation.audience
    bare = aud.removeprefix("api://")
    if GUID.fullmatch(bare.lower()):
        return [aud, bare] if aud != bare else [aud, f"api://{bare}"]
    return [aud]


async def fetch_json(url: str) -> Any:
    """GET a JWKS with aiohttp (already the SDKs' async transport), so a fetch never blocks the event loop."""
    import aiohttp  # only token requests of federated clients pay for the import

    timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, allow_redirects=False, headers={"Accept": "application/json"}) as reply,
        ):
            if reply.status != 200:
                raise KeysUnavailable(f"the JWKS endpoint answered HTTP {reply.status}")
            body = await reply.content.read(MAX_JWKS_BYTES + 1)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise KeysUnavailable(f"the JWKS endpoint is unreachable ({type(exc).__name__})") from None
    if len(body) > MAX_JWKS_BYTES:
        raise KeysUnavailable(f"the JWKS document is larger than {MAX_JWKS_BYTES} bytes")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise KeysUnavailable("the JWKS endpoint did not answer JSON") from None


def _parse_keys(doc: Any) -> dict[str, jwt.PyJWK]:
    """Signing keys by kid; a key PyJWT cannot load (another kty, a bad modulus) is skipped, not fatal."""
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise KeysUnavailable("the JWKS document has no keys list")
    found: dict[str, jwt.PyJWK] = {}
    for entry in doc["keys"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str) or entry.get("use", "sig") != "sig":
            continue
        try:
            found[entry["kid"]] = jwt.PyJWK(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            continue
    if not found:
        raise KeysUnavailable("the JWKS document holds no usable signing key")
    return found


@dataclass(slots=True)
class _KeySet:
    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    fetched: float = float("-inf")
    attempted: float = float("-inf")
    failed: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class JwksCache:
    """Keys per JWKS URL, cached by kid; an unknown kid refetches at most once a minute; an outage keeps the keys."""

    def __init__(
        self, fetch: Callable[[str], Awaitable[Any]] = fetch_json, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._sets: dict[str, _KeySet] = {}

    async def key(self, url: str, kid: str) -> jwt.PyJWK:
        keys = self._sets.setdefault(url, _KeySet())
        found = keys.keys.get(kid)
        if found is not None and self._clock() - keys.fetched < KEYS_MAX_AGE:
            return found
        if self._clock() - keys.attempted >= REFETCH_SECONDS:
            async with keys.lock:  # concurrent requests with a new kid share one fetch
                if self._clock() - keys.attempted >= REFETCH_SECONDS:
                    await self._refresh(url, keys)
            found = keys.keys.get(kid)
        if found is not None:
            return found
        if keys.failed:
            raise KeysUnavailable("the tenant's signing keys cannot be read now")
        raise FederationRefused(
            "kid", "The client_assertion names a signing key (kid) the tenant does not publish; is it Entra's?"
        )

    async def _refresh(self, url: str, keys: _KeySet) -> None:
        keys.attempted = self._clock()
        try:
            keys.keys = _parse_keys(await self._fetch(url))
        except KeysUnavailable as exc:
            keys.failed = True
            log.warning("JWKS %s not refreshed: %s; %d cached keys kept", url, exc, len(keys.keys))
            return
        keys.fetched, keys.failed = keys.attempted, False


class _Replays:
    """jti values seen per issuer until their assertion expires (RFC 7523 §3 item 7); bounded, oldest out."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], float] = {}

    def first_use(self, issuer: str, jti: str, expires: float, now: float) -> bool:
        key = (issuer, jti)
        if self._seen.get(key, float("-inf")) > now:
            return False
        if len(self._seen) >= MAX_REPLAYS:
            self._seen = {k: v for k, v in self._seen.items() if v > now}
            while len(self._seen) >= MAX_REPLAYS:
                del self._seen[next(iter(self._seen))]
        self._seen[key] = expires + LEEWAY_SECONDS
        return True


class FederationVerifier:
    """Checks a client assertion against one client's federation settings."""

    def __init__(
        self,
        jwks_url_template: str = ENTRA_JWKS_URL_TEMPLATE,
        issuer_template: str = ENTRA_ISSUER_TEMPLATE,
        *,
        keys: JwksCache | None = None,
    ) -> None:
        self._jwks_template = jwks_url_template
        self._issuer_template = issuer_template
        self._keys = keys or JwksCache()
        self._replays = _Replays()

    def issuer(self, federation: Federation) -> str:
        return (federation.issuer or self._issuer_template).replace("{tenant}", federation.tenant)

    def issuers(self, federation: Federation) -> list[str]:
        """The iss values accepted: an admin's own issuer alone; else the template's, with and without /v2.0.

        Microsoft gives the issuer as https://login.microsoftonline.com/{tenant}/v2.0 (SCIMReferenceCode,
        Workload-Identity-Federation-for-SCIM-Provisioning.md) and as the same without /v2.0
        (SCIMTests_WorkloadIdentityFederation_Setup.md, "Token Issuer"); nothing broader is accepted."""
        issuer = self.issuer(federation)
        if federation.issuer or not issuer.endswith("/v2.0"):
            return [issuer]
        return [issuer, issuer.removesuffix("/v2.0")]

    def jwks_url(self, federation: Federation) -> str:
        return self._jwks_template.replace("{tenant}", federation.tenant)

    async def verify(self, assertion: str, federation: Federation) -> dict[str, Any]:
        """The verified claims; FederationRefused names the failed check, KeysUnavailable means try later."""
        if len(assertion) > MAX_ASSERTION_LENGTH:
            raise FederationRefused("format", f"The client_assertion is longer than {MAX_ASSERTION_LENGTH} characters.")
        try:
            header = jwt.get_unverified_header(assertion)
        except (jwt.InvalidTokenError, RecursionError):
            raise FederationRefused("format", "The client_assertion is not a well-formed signed JWT.") from None
        if header.get("alg") not in ALGORITHMS:
            raise FederationRefused("alg", "The client_assertion must be signed with RS256 or PS256 (Entra's keys).")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise FederationRefused("kid", "The client_assertion's header names no signing key (kid).")
        key = await self._keys.key(self.jwks_url(federation), kid)
        if not isinstance(key.key, RSAPublicKey):
            # The tenant's JWKS may publish EC (or other) keys; RS256/PS256 checked with one would fail inside
            # the crypto library, so it is refused here as a key that can never verify an Entra assertion.
            raise FederationRefused(
                "alg", "The client_assertion names a key that is not an RSA key; Entra signs with RSA."
            )
        issuer = self.issuer(federation)
        claims = _decode(assertion, key, self.issuers(federation), federation)
        if claims["sub"] != federation.subject:
            raise FederationRefused(
                "sub", "The client_assertion's subject (sub) is not the one configured.", federation.subject
            )
        if claims["tid"] != federation.tenant:
            raise FederationRefused(
                "tid", "The client_assertion's tenant (tid) is not the one configured.", federation.tenant
            )
        now = time.time()
        expires = float(int(claims["exp"]))  # PyJWT accepted it as a whole number of seconds
        if expires - now > MAX_ASSERTION_LIFETIME:
            raise FederationRefused("exp", "The client_assertion lives longer than a day; Entra's live about an hour.")
        # jti is optional (RFC 7523 §3); Entra's documented payload has none and it reuses one assertion while
        # it lives, so only an assertion that carries a jti is held to one use.
        if "jti" in claims and not self._replays.first_use(issuer, str(claims["jti"]), expires, now):
            raise FederationRefused("jti", "The client_assertion (its jti) was already used; send a new one.")
        return claims


def _decode(assertion: str, key: jwt.PyJWK, issuers: list[str], federation: Federation) -> dict[str, Any]:
    """PyJWT's checks: signature with the tenant key, required claims, iss, aud, exp and nbf with leeway."""
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion,
            key.key,
            algorithms=ALGORITHMS,
            audience=audiences(federation),
            issuer=issuers,
            leeway=LEEWAY_SECONDS,
            options={"require": _REQUIRED},
        )
    except jwt.InvalidSignatureError:
        raise FederationRefused(
            "signature", "The client_assertion's signature does not match the tenant's key."
        ) from None
    except jwt.ExpiredSignatureError:
        raise FederationRefused("exp", "The client_assertion has expired (exp).") from None
    except jwt.ImmatureSignatureError:
        raise FederationRefused("nbf", "The client_assertion is not valid yet (nbf or iat in the future).") from None
    except jwt.InvalidIssuerError:
        raise FederationRefused(
            "iss", "The client_assertion's issuer (iss) is not the one configured.", " or ".join(issuers)
        ) from None
    except jwt.InvalidAudienceError:
        raise FederationRefused(
            "aud", "The client_assertion's audience (aud) is not the one configured.", federation.audience
        ) from None
    except jwt.MissingRequiredClaimError as exc:
        raise FederationRefused(exc.claim, f"The client_assertion has no {exc.claim} claim.") from None
    except (jwt.InvalidTokenError, RecursionError):  # bad claim types, NaN times, malformed segments
        raise FederationRefused("format", "The client_assertion's claims are malformed.") from None
    except (jwt.PyJWTError, TypeError, ValueError):  # a key PyJWT cannot use with the algorithm: never a 500
        raise FederationRefused("alg", "The client_assertion's key cannot check its algorithm.") from None
    return claims
