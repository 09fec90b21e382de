"""RFC 9865 cursors: opaque, tamper-proof, expiring, and bound to the directory, the client, the route and the query.

A cursor is ``<kid>.<base64url(nonce | AES-256-GCM ciphertext)>``. The plaintext holds where the store resumes
(on Table Storage the service's continuation token, which encodes row keys: it never travels in clear), the page
size and when the cursor was issued. The binding (directory, client, route, query) is the authenticated data, so
a cursor presented anywhere else fails to open, exactly like a tampered one (RFC 9865 §5.2: one answer for both).
The key is derived from the token signing key (``scim-signing-key``) in the product's key store and rotates with
it: every enabled version opens cursors; the newest settled version seals them, as for tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scim.auth.keyring import settled_key
from scim.config import CURSOR_TIMEOUT
from scim.errors import ExpiredCursor, InvalidCount, InvalidCursor
from scim.model import Position
from scim.secrets import SIGNING_KEY_SECRET, SecretStore

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_INFO = b"scim-entra-functions RFC 9865 cursor key v1"
_NONCE = 12
# RFC 9865 §2: a cursor holds only unreserved characters (RFC 3986 §2.3); kid is a secret version id.
_SHAPE = re.compile(r"([0-9A-Za-z]{1,64})\.([A-Za-z0-9_-]{24,8000})")
# Page starts a cursor carries for previousCursor (RFC 9865 §2, OPTIONAL): Table Storage reads only forward, so
# a page is found again only from where it began; remembering every start would grow the cursor with the walk.
PREVIOUS_PAGES = 4
PREVIOUS_CHARS = 2000  # within this much plaintext with the position itself, whatever the sort values' length


@dataclass(frozen=True, slots=True)
class Binding:
    """What a cursor is valid for: one directory, one client, one route and one query (every parameter but count)."""

    directory: str
    client_id: str
    route: str
    query: tuple[str, ...]

    def aad(self) -> bytes:
        return json.dumps([self.directory, self.client_id, self.route, *self.query], separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Resume:
    """Where a walk continues, how many resources its earlier pages returned (the last page's totalResults), and
    where the pages before it began (previousCursor), most recent last."""

    position: Position
    served: int
    back: tuple[tuple[Position, int], ...] = ()

    def after_page(self, position: Position, served: int) -> Resume:
        """Where the page after this one begins; this page's start joins the remembered ones (the newest few)."""
        back = (*self.back, (self.position, self.served))[-PREVIOUS_PAGES:]
        while back and len(json.dumps([position, back])) > PREVIOUS_CHARS:
            back = back[1:]  # long sort values: fewer starts, so the cursor still fits a URL
        return Resume(position, served, back)

    def previous(self) -> Resume | None:
        """Where the page before this one began, when the cursor still remembers it."""
        if not self.back:
            return None
        (position, served), back = self.back[-1], self.back[:-1]
        return Resume(position, served, back)


class Cursors:
    """Seals store positions into cursors and opens them again, for the binding they were issued for."""

    def __init__(
        self, secret_store: SecretStore, *, timeout: int = CURSOR_TIMEOUT, clock: Callable[[], float] = time.time
    ) -> None:
        self._secrets = secret_store
        self.timeout = timeout
        self._clock = clock
        self._ciphers: dict[str, AESGCM] = {}

    def _cipher(self, version: str, value: str) -> AESGCM:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        cipher = self._ciphers.get(version)
        if cipher is None:
            if len(self._ciphers) >= 8:  # a few key versions are enabled at once; never grow without bound
                self._ciphers.clear()
            # A key of its own (HMAC-SHA256 of a label under the signing key): a cursor is never a token.
            cipher = self._ciphers[version] = AESGCM(hmac.new(value.encode(), _INFO, hashlib.sha256).digest())
        return cipher

    async def seal(self, binding: Binding, count: int, resume: Resume) -> str:
        """A cursor that resumes at ``resume`` for requests with this binding and count."""
        keys = await self._secrets.versions(SIGNING_KEY_SECRET)
        if not keys:
            raise RuntimeError(f"the secret store has no {SIGNING_KEY_SECRET!r}; run scimctl key rotate")
        key = settled_key(keys)
        payload = json.dumps(
            {
                "n": count,
                "t": int(self._clock()),
                "s": resume.served,
                "p": list(resume.position),
                "b": [[list(position), served] for position, served in resume.back],
            },
            separators=(",", ":"),
        )
        nonce = os.urandom(_NONCE)
        sealed = self._cipher(key.version, key.value).encrypt(nonce, payload.encode(), binding.aad())
        return f"{key.version}.{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"

    async def open(self, text: str, binding: Binding, count: int) -> Resume | None:
        """The position a cursor resumes at; None for the empty cursor that starts a walk (RFC 9865 §2)."""
        if text == "":
            return None
        shape = _SHAPE.fullmatch(text)
        if shape is None:
            raise InvalidCursor()
        kid, body = shape.groups()
        key = next((k for k in await self._secrets.versions(SIGNING_KEY_SECRET) if k.version == kid), None)
        if key is None:
            raise InvalidCursor()  # forged, or sealed with a key retired since (days after any cursor expired)
        doc = self._decrypt(self._cipher(key.version, key.value), body, binding)
        if self._clock() - doc["t"] > self.timeout:
            raise ExpiredCursor(
                f"The cursor has expired: a cursor is valid for {self.timeout} seconds after the page that returned"
                " it (ServiceProviderConfig pagination.cursorTimeout). Start the walk again with cursor= (empty)."
            )
        if doc["n"] != count:
            raise InvalidCount(
                f"count must stay {doc['n']}, the count this cursor walk started with (RFC 9865 §2.1); start a new"
                " walk with cursor= (empty) to change it."
            )
        back = tuple((tuple(position), served) for position, served in doc.get("b", []))
        return Resume(tuple(doc["p"]), doc["s"], back)

    @staticmethod
    def _decrypt(cipher: AESGCM, body: str, binding: Binding) -> dict[str, Any]:
        from cryptography.exceptions import InvalidTag

        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            doc = json.loads(cipher.decrypt(raw[:_NONCE], raw[_NONCE:], binding.aad()))
        except (InvalidTag, ValueError, binascii.Error):
            raise InvalidCursor() from None
        if not (
            isinstance(doc, dict)
            and isinstance(doc.get("n"), int)
            and isinstance(doc.get("t"), int)
            and isinstance(doc.get("s"), int)
            and isinstance(doc.get("p"), list)
            and all(isinstance(part, str) for part in doc["p"])
            and _is_back(doc.get("b", []))
        ):
            raise InvalidCursor()
        return doc


def _is_back(value: Any) -> bool:
    """Whether a cursor's remembered page starts have their shape: [[position parts], served] each."""
    return isinstance(value, list) and all(
        isinstance(entry, list)
        and len(entry) == 2
        and isinstance(entry[0], list)
        and all(isinstance(part, str) for part in entry[0])
        and isinstance(entry[1], int)
        for entry in value
    )
