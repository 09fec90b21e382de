"""`scimctl doctor`: check a deployment from the outside as Entra would, and say in plain words what is wrong.

Standard library only (urllib), so scimctl needs nothing beyond the service's own dependencies.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import ssl
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from scim.config import ENTRA_ISSUER_TEMPLATE, ENTRA_JWKS_URL_TEMPLATE
from scim.model import GUID
from scim.protocol.changes import probe_user_name
from scim.protocol.schema import USER_SCHEMA

# The service's 403 names the address it saw ("... requests from 192.0.2.7 are not allowed ...").
_SEEN_ADDRESS = re.compile(r"[Rr]equests from (\S+) are not allowed")


@dataclass(frozen=True, slots=True)
class Check:
    step: str
    ok: bool
    detail: str


class Failed(Exception):
    """A step failed; the message is the plain-words explanation."""


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    headers: dict[str, str]
    body: Any


def service_base(tenant_url: str) -> str:
    """The Base URL the service serves, from the Tenant URL as entered in Entra: Entra reads a query such as
    `?aadOptscim062020` itself (it selects its PATCH dialect) and sends requests to the path without it."""
    parts = urlsplit(tenant_url.strip())
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


def token_url_for(base_url: str) -> str:
    """The Token URL next to a Base URL: the service serves /oauth2/token beside /scim/v2."""
    base = base_url.rstrip("/")
    if base.lower().endswith("/scim/v2"):
        return base[: -len("/scim/v2")] + "/oauth2/token"
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}/oauth2/token"


def _server_detail(body: Any) -> str:
    if isinstance(body, dict):
        text = body.get("detail") or body.get("error_description") or body.get("error")
        if text:
            return f" The service said: {text}"
    return ""


def explain_status(status: int, url: str, body: Any, headers: dict[str, str]) -> str:
    """What an HTTP status from the service means for the person running doctor."""
    said = _server_detail(body)
    if status == 401:
        return f"401 bad credentials: the client id or secret is wrong, or the client is disabled.{said}"
    if status == 403:
        seen = _SEEN_ADDRESS.search(said)
        address = seen.group(1) if seen else "<your-address>"
        return (
            "403 network: this machine's address is not in the client's allowed networks (or the app's "
            f"access restriction blocks it).{said} A client limited to Entra's ranges refuses doctor from here: "
            f"check with a doctor-only client instead (`scimctl client create --directory <directory> --networks "
            f"{address}`, run doctor with its id and secret, then `scimctl client delete --client <its id>`), "
            "or run doctor from an allowed network."
        )
    if status == 404:
        return f"404 wrong Base URL: nothing serves {url}; the Base URL ends in /scim/v2.{said}"
    if status == 429:
        wait = headers.get("retry-after", "a while")
        return f"429 throttled after repeated failures; wait {wait} s and check the secret.{said}"
    if status >= 500:
        return f"{status} server error: the service failed; look up the reference in its logs.{said}"
    return f"unexpected HTTP {status} from {url}.{said}"


BASE_URL_FIX = "check the Base URL"


def explain_error(exc: BaseException, url: str, *, dns_fix: str = BASE_URL_FIX) -> str:
    """What a connection-level failure means: DNS, refused connection, TLS or timeout. `dns_fix` says what to
    check when the host does not resolve: the Base URL for the service's host, something else for others."""
    host = urlsplit(url).netloc
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, socket.gaierror):
        return f"DNS: the host name in {host!r} does not resolve; {dns_fix}."
    if isinstance(reason, ConnectionRefusedError):
        return f"connection refused: nothing listens at {host}; check the host and port, and that the app runs."
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"TLS: the certificate of {host} is not trusted ({reason.verify_message})."
    if isinstance(reason, ssl.SSLError):
        return f"TLS: the handshake with {host} failed ({reason.reason}); is it https on an http port?"
    if isinstance(reason, TimeoutError):
        return f"timeout: {host} did not answer in time."
    if isinstance(reason, OSError):
        return f"network error reaching {host}: {reason.strerror or reason}."
    return f"could not reach {host}: {reason}."


class Doctor:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        secret: str,
        *,
        token_url: str | None,
        timeout: float,
        send: str = "header",
        secret_token: bool = False,
    ) -> None:
        # Entra's "How credentials are sent": header = client_secret_basic, body = client_secret_post, both = each.
        self.send = send
        self.secret_token = secret_token  # Entra's Secret Token mode: ``secret`` is the bearer token itself
        self.base = service_base(base_url)
        self.token_url = token_url or token_url_for(self.base)
        self._token_dns_fix = "check --token-url" if token_url else BASE_URL_FIX
        self._client_id = client_id
        self._secret = secret
        self._timeout = timeout
        self._token = ""

    def _call(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str],
        dns_fix: str = BASE_URL_FIX,
    ) -> _Reply:
        request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 - http(s) only
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 - checked scheme
                return _Reply(
                    response.status, {k.lower(): v for k, v in response.headers.items()}, _json(response.read())
                )
        except urllib.error.HTTPError as exc:
            return _Reply(exc.code, {k.lower(): v for k, v in exc.headers.items()}, _json(exc.read()))
        except (urllib.error.URLError, OSError) as exc:
            raise Failed(explain_error(exc, url, dns_fix=dns_fix)) from None

    def _scim(self, method: str, path: str, doc: Any = None) -> _Reply:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/scim+json"}
        body = None
        if doc is not None:
            headers["Content-Type"] = "application/scim+json"
            body = json.dumps(doc).encode()
        return self._call(method, self.base + path, body=body, headers=headers)

    def _expect(self, reply: _Reply, url: str, *wanted: int) -> _Reply:
        if reply.status not in wanted:
            raise Failed(explain_status(reply.status, url, reply.body, reply.headers))
        return reply

    def token(self) -> str:
        if self.secret_token:  # Entra sends the Secret Token itself on every call: no token request
            self._token = self._secret
            return "Secret Token mode: the token is sent as the Bearer, as Entra sends it"
        pair = f"{quote(self._client_id, safe='')}:{quote(self._secret, safe='')}"
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        fields = {"grant_type": "client_credentials"}
        if self.send in ("header", "both"):
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        if self.send in ("body", "both"):
            fields |= {"client_id": self._client_id, "client_secret": self._secret}
        body = urlencode(fields).encode()
        answer = self._call("POST", self.token_url, body=body, headers=headers, dns_fix=self._token_dns_fix)
        reply = self._expect(answer, self.token_url, 200)
        if not isinstance(reply.body, dict) or not isinstance(reply.body.get("access_token"), str):
            raise Failed(f"the Token URL {self.token_url} answered 200 without an access_token; is it this service?")
        self._token = reply.body["access_token"]
        how = f" (credentials sent as Entra's {self.send.capitalize()})" if self.send != "header" else ""
        return f"got a Bearer token valid for {reply.body.get('expires_in')} s from {self.token_url}{how}"

    def probe(self, resource: str, attribute: str, extra: str = "") -> str:
        value = str(uuid.uuid4())
        expression = f'{attribute} eq "{value}"'
        path = f"/{resource}?filter={quote(expression)}{extra}"
        reply = self._expect(self._scim("GET", path), self.base + path, 200)
        if not isinstance(reply.body, dict) or reply.body.get("totalResults") != 0:
            raise Failed(f"GET {path} should be an empty ListResponse, as Entra's Test Connection expects.")
        return f"{attribute} eq <random GUID> on /{resource}: empty ListResponse, as Entra expects"

    def round_trip(self) -> str:
        user_name = probe_user_name()  # kept off the change feed: consumers never see doctor's user
        doc = {"schemas": [USER_SCHEMA], "userName": user_name, "active": False, "externalId": user_name}
        made = self._expect(self._scim("POST", "/Users", doc), self.base + "/Users", 201)
        user_id = made.body.get("id") if isinstance(made.body, dict) else None
        if not isinstance(user_id, str):
            raise Failed("POST /Users answered 201 without an id.")
        try:
            self._expect(self._scim("GET", f"/Users/{user_id}"), f"{self.base}/Users/{user_id}", 200)
        finally:
            self._expect(self._scim("DELETE", f"/Users/{user_id}"), f"{self.base}/Users/{user_id}", 204)
        gone = self._scim("GET", f"/Users/{user_id}")
        if gone.status != 404:
            raise Failed(f"the deleted user still answers {gone.status}; deletes are not taking effect.")
        return f"created, read and deleted a throwaway user ({user_name})"

    def run(self) -> list[Check]:
        steps = [
            ("token", self.token),
            ("users probe", lambda: self.probe("Users", "userName")),
            ("groups probe", lambda: self.probe("Groups", "displayName", "&excludedAttributes=members")),
            ("user round trip", self.round_trip),
        ]
        checks: list[Check] = []
        for name, step in steps:
            try:
                checks.append(Check(name, True, step()))
            except Failed as exc:
                checks.append(Check(name, False, str(exc)))
                break  # later steps need the earlier ones (a token, a working Base URL)
        return checks


ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class FederatedDoctor(Doctor):
    """`doctor --federated`: the tenant's keys and issuer as Entra publishes them, and the token endpoint's view.

    Only Entra can sign the real assertion, so the last step sends a probe that must be refused for its form,
    which shows the endpoint knows the client as federated; Test Connection in Entra then sends the real one."""

    def __init__(self, base_url: str, client_id: str, tenant: str, *, issuer: str, jwks_url: str, **http: Any) -> None:
        super().__init__(base_url, client_id, "", **http)
        self.tenant = tenant
        self.issuer = issuer
        self.jwks_url = jwks_url

    def _get(self, url: str, what: str, template: str) -> Any:
        host = urlsplit(url).hostname
        # Microsoft's login host, not the service: a DNS failure here is this machine's DNS or network.
        dns_fix = (
            f"{host} is Entra's login host (from {template}), not this service: check this machine's DNS and its "
            "network access to it (a proxy or firewall), not the Base URL"
        )
        reply = self._call("GET", url, headers={"Accept": "application/json"}, dns_fix=dns_fix)
        if reply.status != 200 or not isinstance(reply.body, dict):
            raise Failed(f"{what} {url} answered HTTP {reply.status}, not a JSON document; check the tenant id.")
        return reply.body

    def jwks(self) -> str:
        doc = self._get(self.jwks_url, "the JWKS URL", "SCIM_ENTRA_JWKS_URL_TEMPLATE")
        keys = [k for k in doc.get("keys") or [] if isinstance(k, dict) and k.get("kty") == "RSA" and k.get("kid")]
        if not keys:
            raise Failed(
                f"{self.jwks_url} publishes no RSA signing key with a kid; the token endpoint could not verify."
            )
        return f"{len(keys)} RSA signing keys at {self.jwks_url}"

    def discovery(self) -> str:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        doc = self._get(url, "the tenant's OpenID configuration", "SCIM_ENTRA_ISSUER_TEMPLATE or --federated-issuer")
        # Microsoft's documents write the tenant as {tenantid} in the common endpoint's issuer.
        published = str(doc.get("issuer", "")).replace("{tenantid}", self.tenant)
        if published != self.issuer:
            raise Failed(
                f"the tenant publishes issuer {published!r}, not {self.issuer!r}; create the client with "
                f"--federated-issuer {published} (or set SCIM_ENTRA_ISSUER_TEMPLATE)."
            )
        return f"the tenant's discovery document names the expected issuer {self.issuer}"

    def assertion_probe(self) -> str:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": "scimctl-doctor-probe",
            "scope": "scim",
        }
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        reply = self._call(
            "POST", self.token_url, body=urlencode(form).encode(), headers=headers, dns_fix=self._token_dns_fix
        )
        said = str(reply.body.get("error_description", "")) if isinstance(reply.body, dict) else ""
        if reply.status == 401 and "well-formed" in said:
            return (
                f"{self.token_url} knows client {self._client_id} as federated and refused the probe's "
                "malformed assertion; press Test Connection in Entra to send a real one"
            )
        if reply.status == 401 and "workload identity" in said:
            raise Failed(
                f"client {self._client_id} is unknown, disabled or not federated; create it with "
                "`scimctl client create --directory D --federated-tenant ...`."
            )
        if reply.status == 400:
            raise Failed(f"the token endpoint does not accept client assertions: {said or 'HTTP 400'}")
        raise Failed(explain_status(reply.status, self.token_url, reply.body, reply.headers))

    def run(self) -> list[Check]:
        checks: list[Check] = []
        for name, step in [("jwks", self.jwks), ("issuer", self.discovery), ("token endpoint", self.assertion_probe)]:
            try:
                checks.append(Check(name, True, step()))
            except Failed as exc:  # the steps are independent: report every one
                checks.append(Check(name, False, str(exc)))
        return checks


def run_federated_doctor(
    base_url: str,
    client_id: str,
    tenant: str,
    *,
    issuer: str | None,
    token_url: str | None,
    timeout: float,
    jwks_template: str = ENTRA_JWKS_URL_TEMPLATE,
    issuer_template: str = ENTRA_ISSUER_TEMPLATE,
) -> list[Check]:
    """The federation checks for a client of ``tenant``, with the service's URL templates (scim.config)."""
    tenant = tenant.strip().lower()
    if not GUID.fullmatch(tenant):
        return [Check("tenant", False, f"{tenant!r} is not a tenant id (a GUID, Entra's Directory (tenant) ID)")]
    if urlsplit(base_url).scheme not in ("http", "https"):
        return [Check("base url", False, f"{base_url!r} is not an http(s) URL")]
    jwks = jwks_template.replace("{tenant}", tenant)
    expected = issuer or issuer_template
    issuer_url = expected.replace("{tenant}", tenant)
    doctor = FederatedDoctor(
        base_url, client_id, tenant, issuer=issuer_url, jwks_url=jwks, token_url=token_url, timeout=timeout
    )
    return doctor.run()


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def run_doctor(
    base_url: str, client_id: str, secret: str, *, token_url: str | None, timeout: float, **how: Any
) -> list[Check]:
    """Every check, in order, stopping at the first failure; ``how`` is Doctor's send and secret_token."""
    if urlsplit(base_url).scheme not in ("http", "https"):
        return [
            Check(
                "base url", False, f"{base_url!r} is not an http(s) URL; the Base URL looks like https://host/scim/v2"
            )
        ]
    return Doctor(base_url, client_id, secret, token_url=token_url, timeout=timeout, **how).run()


def as_rows(checks: list[Check]) -> list[dict[str, Any]]:
    return [asdict(c) for c in checks]
