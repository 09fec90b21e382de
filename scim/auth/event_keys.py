"""The change events' signing key: ES256 (pinned), its versions kept in the secret store as
``scim-event-signing-key``, rotated like the token signing key, and published as a JWKS (RFC 7517) so a consumer
verifies a SET with any JWT library (docs/integration.md "Signed events").

A new version is in the JWKS at once and signs after KEY_PROPAGATION_SECONDS; a retired version leaves the JWKS,
so ``scimctl key retire --events`` waits out the SET retention window by default.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from scim.auth.keyring import KeyRing, settled_key
from scim.protocol.sets import TYP
from scim.secrets import EVENT_KEY_SECRET, SecretStore

ALGORITHM = "ES256"


def new_event_key() -> str:
    """A fresh P-256 private key as PKCS#8 PEM (the secret's value)."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem.decode()


class EventSigner:
    """Signs SETs with the settled event key and lists the public keys of every enabled version."""

    def __init__(self, secret_store: SecretStore) -> None:
        self._secrets = secret_store
        self._loaded: dict[str, ec.EllipticCurvePrivateKey] = {}  # parsed PEMs by version: parsing costs ~50 µs

    def keyring(self, retention: timedelta) -> KeyRing:
        """Rotation and retirement; a key retires only after every SET it signed left the log."""
        return KeyRing(
            self._secrets,
            longest_token=retention,
            secret=EVENT_KEY_SECRET,
            new_value=new_event_key,
            lifetime="the SET retention window",
        )

    async def ensure_key(self) -> None:
        """Create the first event key where none exists (the first SET directory's first event)."""
        if not await self._secrets.versions(EVENT_KEY_SECRET):
            await self._secrets.add_version(EVENT_KEY_SECRET, new_event_key())

    def _key(self, version: str, pem: str) -> ec.EllipticCurvePrivateKey:
        if version not in self._loaded:
            key = serialization.load_pem_private_key(pem.encode(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{EVENT_KEY_SECRET} version {version} is not an EC key")
            self._loaded[version] = key
        return self._loaded[version]

    async def sign(self, claims: list[dict[str, Any]]) -> list[str]:
        """Each claim set as a compact JWS: ``alg`` ES256, ``typ`` secevent+jwt, ``kid`` the key's version."""
        await self.ensure_key()
        version = settled_key(await self._secrets.versions(EVENT_KEY_SECRET))
        key = self._key(version.version, version.value)
        headers = {"kid": version.version, "typ": TYP}
        return [jwt.encode(c, key, algorithm=ALGORITHM, headers=headers) for c in claims]

    async def jwks(self) -> dict[str, Any]:
        """The public keys of every enabled version, newest first (RFC 7517 §5)."""
        keys = []
        for version in await self._secrets.versions(EVENT_KEY_SECRET):
            public = ECAlgorithm.to_jwk(self._key(version.version, version.value).public_key(), as_dict=True)
            keys.append(public | {"kid": version.version, "use": "sig", "alg": ALGORITHM})
        return {"keys": keys}
