"""Sign-in to Microsoft Graph with msal: an admin (interactive or device code) or CI (client secret or certificate).

Flows and msal calls follow docs/reference/entra-setup.md §2 (msal 1.39): PublicClientApplication with
acquire_token_silent, then acquire_token_interactive or the device flow; ConfidentialClientApplication with
acquire_token_for_client and the `.default` scope. The token cache is a SerializableTokenCache kept in one
file with mode 0600. msal is imported here, inside functions, and only by `scimctl entra`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import requests

from scim.config import ENTRA_AUTHORITY_HOST, ENTRA_GRAPH_URL, ENTRA_SECRET_ENV
from scim.entra.words import unreachable

# Microsoft Graph Command Line Tools: a Microsoft public client that many admin tools use for delegated
# Graph calls (docs/reference/entra-setup.md §2 notes its suitability is a judgement call); --client-id takes your own.
DEFAULT_PUBLIC_CLIENT = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
Flow = Literal["interactive", "device-code", "secret", "certificate"]
FLOWS: tuple[Flow, ...] = ("interactive", "device-code", "secret", "certificate")
_EARLY = 300  # seconds: renew an access token this long before it expires
INTERACTIVE_WAIT = 300  # seconds for the browser sign-in to come back before giving up


class SignInError(Exception):
    """Signing in failed; the message says why in plain words (never a token)."""


@dataclass(frozen=True, slots=True)
class SignIn:
    """Who signs in, and how. ``graph`` and ``authority_host`` change only for national clouds (and tests)."""

    tenant: str
    flow: Flow
    client_id: str
    secret: str = ""
    certificate: Path | None = None
    cache_path: Path | None = None
    authority_host: str = ENTRA_AUTHORITY_HOST
    graph: str = ENTRA_GRAPH_URL


def write_private(path: Path, text: str) -> None:
    """Write ``text`` so that only the owner can read it: mode 0600 from creation, replaced atomically.

    The temporary file has a fresh random name created with O_EXCL (mkstemp), so nothing planted beside the cache,
    a symlink at ``<cache>.tmp`` say, is followed or written through."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(text.encode())
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise


class TokenSource:
    """Callable that returns a Graph access token for ``scopes``, signing in at most once per run."""

    def __init__(self, sign_in: SignIn, scopes: list[str], session: requests.Session, *, tell: Callable[[str], None]):
        self._sign_in = sign_in
        self._scopes = scopes
        self._session = session
        self._tell = tell
        self._token = ""
        self._expires = 0.0
        self._app: Any = None
        self._cache: Any = None
        self._refused = False

    def __call__(self) -> str:
        if not self._token or time.time() > self._expires - _EARLY:
            import msal

            try:
                result = self._acquire()
            except requests.RequestException as exc:  # no answer at all: offline, DNS, TLS, timeout
                said = unreachable(exc, self._sign_in.authority_host)
                raise SignInError(f"Sign-in to Entra failed: {said}.") from None
            except msal.exceptions.MsalError as exc:  # msal raises for an identity endpoint that answers 5xx
                raise SignInError(f"Sign-in to Entra failed: the identity platform did not answer ({exc}).") from None
            if "access_token" not in result:
                raise SignInError(_explain(result))
            self._token = str(result["access_token"])
            self._expires = time.time() + float(result.get("expires_in", 3600))
            self._save_cache()
        return self._token

    def invalidate(self) -> None:
        """Graph refused the token: forget cached access tokens, so the next call refreshes or signs in again."""
        self._token = ""
        self._refused = True

    def _acquire(self) -> dict[str, Any]:
        import msal

        s = self._sign_in
        self._cache = msal.SerializableTokenCache()
        if s.cache_path is not None and s.cache_path.exists():
            try:
                self._cache.deserialize(s.cache_path.read_text())
            except (OSError, ValueError):
                self._tell(f"the token cache {s.cache_path} is unreadable; signing in afresh (it will be rewritten)")
                self._cache = msal.SerializableTokenCache()
        if self._refused:
            for item in list(self._cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                self._cache.remove_at(item)
        options: dict[str, Any] = {
            "authority": f"{s.authority_host.rstrip('/')}/{s.tenant}",
            "token_cache": self._cache,
            "http_client": self._session,
        }
        if s.authority_host.rstrip("/") != ENTRA_AUTHORITY_HOST:
            options["instance_discovery"] = False  # a national cloud or a local double: no public-cloud lookup
        if s.flow in ("secret", "certificate"):
            app = msal.ConfidentialClientApplication(s.client_id, client_credential=self._credential(), **options)
            self._app = app
            # acquire_token_for_client looks in the cache first (msal >= 1.23).
            return dict(app.acquire_token_for_client(scopes=[f"{s.graph.rstrip('/')}/.default"]) or {})
        public = msal.PublicClientApplication(s.client_id, **options)
        self._app = public
        for account in public.get_accounts():
            found = public.acquire_token_silent(self._scopes, account=account)
            if found and "access_token" in found:
                return dict(found)
        if s.flow == "device-code":
            flow = public.initiate_device_flow(scopes=self._scopes)
            if "user_code" not in flow:
                raise SignInError(_explain(flow))
            self._tell(str(flow.get("message") or f"Open {flow['verification_uri']} and enter {flow['user_code']}"))
            return dict(public.acquire_token_by_device_flow(flow))
        if not sys.stdin.isatty():  # no one to finish a browser sign-in: fail now rather than wait forever
            raise SignInError(
                "No terminal for an interactive sign-in: use --sign-in device-code, "
                "or --sign-in secret/certificate in CI."
            )
        self._tell("A browser opens for the Entra sign-in (use --sign-in device-code where no browser can open).")
        return dict(public.acquire_token_interactive(self._scopes, prompt="select_account", timeout=INTERACTIVE_WAIT))

    def _credential(self) -> Any:
        s = self._sign_in
        if s.flow == "secret":
            if not s.secret:
                raise SignInError(f"--sign-in secret needs the app's client secret in ${ENTRA_SECRET_ENV}.")
            return s.secret
        if s.certificate is None:
            raise SignInError("--sign-in certificate needs --certificate PATH (a PEM with the private key and cert).")
        try:
            pem = s.certificate.read_text()
        except OSError as exc:
            raise SignInError(f"Cannot read the certificate {s.certificate}: {exc.strerror}.") from None
        key_start = pem.find("-----BEGIN")
        cert_start = pem.find("-----BEGIN CERTIFICATE-----")
        if key_start < 0 or cert_start < 0 or "PRIVATE KEY-----" not in pem:
            raise SignInError(f"{s.certificate} must hold a PEM private key and its PEM certificate.")
        # With public_certificate and no thumbprint, msal sends the SHA-256 thumbprint (x5t#S256).
        return {"private_key": pem, "public_certificate": pem[cert_start:]}

    def _save_cache(self) -> None:
        path = self._sign_in.cache_path
        if path is not None and self._cache is not None and self._cache.has_state_changed:
            write_private(path, self._cache.serialize())


def _explain(result: dict[str, Any]) -> str:
    """msal's error reply (error, error_description with an AADSTS code) in plain words, without any token."""
    error = str(result.get("error", "unknown_error"))
    description = str(result.get("error_description", "")).split("\r\n")[0].split("\n")[0]
    hints = {
        "invalid_client": "the client id, secret or certificate is wrong or expired",
        "unauthorized_client": "the app is not allowed this sign-in flow (public client flows may be off)",
        "invalid_scope": "a Graph permission is not granted or not consented for this app",
        "authorization_declined": "the sign-in was declined",
        "expired_token": "the device code expired before the sign-in finished",
        "access_denied": "the sign-in was cancelled or refused",
    }
    hint = hints.get(error, "see the description")
    return f"Sign-in to Entra failed ({error}: {hint}). {description}".strip()
