"""`entra setup --saml-metadata`: SAML single sign-on for the same application, the senhasegura guide's last step.

The Graph steps are those of graph-docs `concepts/application-saml-sso-configure-api.md`: set the service
principal's preferredSingleSignOnMode to saml, put the application's entity ID and reply URLs in
identifierUris and web.redirectUris, add a token signing certificate (serviceprincipal-addtokensigningcertificate.md)
and make it the preferred one; Entra's federation metadata is then at a fixed URL for the app.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.parsers import expat

import requests

MAX_METADATA = 1_048_576
SIGNING_YEARS = 3
_MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"


@dataclass(frozen=True, slots=True)
class SpMetadata:
    entity_id: str
    reply_urls: list[str]


class MetadataError(ValueError):
    """The service provider metadata could not be read; the message says why."""


def read_metadata(source: str, session: requests.Session) -> SpMetadata:
    """The entity ID and AssertionConsumerService URLs from SAML 2.0 metadata at an https URL or in a file."""
    if source.startswith("https://"):
        try:
            reply = session.get(source, timeout=30)
        except requests.RequestException as exc:
            raise MetadataError(f"Cannot fetch the SAML metadata at {source}: {type(exc).__name__}.") from None
        if reply.status_code != 200:
            raise MetadataError(f"The SAML metadata URL {source} answered HTTP {reply.status_code}.")
        text = reply.content[: MAX_METADATA + 1]
    elif source.startswith("http://"):
        raise MetadataError("Fetch SAML metadata over https only (it decides where Entra sends sign-ins).")
    else:
        try:
            text = Path(source).read_bytes()[: MAX_METADATA + 1]
        except OSError as exc:
            raise MetadataError(f"Cannot read the SAML metadata file {source}: {exc.strerror}.") from None
    return parse_metadata(text)


class _Doctype(Exception):
    """Raised from inside expat the moment it meets a DOCTYPE, before any entity is declared or expanded."""


def _refuse_doctype(*_: object) -> None:
    raise _Doctype


def _check_no_doctype(text: bytes) -> None:
    """Refuse a DOCTYPE in whatever encoding the document declares (UTF-16 and the rest): expat decodes the bytes
    exactly as the parse below will, so a byte search that one encoding hides from cannot be bypassed."""
    guard = expat.ParserCreate()
    guard.StartDoctypeDeclHandler = _refuse_doctype
    guard.EntityDeclHandler = _refuse_doctype
    try:
        guard.Parse(text, True)
    except _Doctype:
        raise MetadataError(
            "The SAML metadata has a DOCTYPE; metadata needs none, and it is refused for safety."
        ) from None
    except expat.ExpatError as exc:
        raise MetadataError(f"The SAML metadata is not well-formed XML ({expat.errors.messages[exc.code]}).") from None


def parse_metadata(text: bytes) -> SpMetadata:
    if len(text) > MAX_METADATA:
        raise MetadataError("The SAML metadata is larger than 1 MiB.")
    _check_no_doctype(text)
    try:
        root = ET.fromstring(text)  # noqa: S314 - no DOCTYPE (checked above), so no entities to expand
    except ET.ParseError as exc:
        raise MetadataError(f"The SAML metadata is not well-formed XML ({exc}).") from None
    entity = root if root.tag == f"{_MD}EntityDescriptor" else root.find(f".//{_MD}EntityDescriptor")
    if entity is None or not entity.get("entityID"):
        raise MetadataError("The SAML metadata has no EntityDescriptor with an entityID.")
    services = entity.findall(f"./{_MD}SPSSODescriptor/{_MD}AssertionConsumerService")
    ordered = sorted(services, key=lambda s: (s.get("isDefault") != "true", int(s.get("index") or 0)))
    urls = [str(s.get("Location")) for s in ordered if s.get("Location")]
    if not urls:
        raise MetadataError("The SAML metadata names no AssertionConsumerService (the reply URL).")
    return SpMetadata(str(entity.get("entityID")), list(dict.fromkeys(urls)))


def federation_metadata_url(authority: str, app_id: str) -> str:
    """Entra's SAML metadata for the app (application-saml-sso-configure-api.md, step 6)."""
    return f"{authority.rstrip('/')}/federationmetadata/2007-06/federationmetadata.xml?appid={app_id}"


def plan(sp: dict[str, Any], app: dict[str, Any], meta: SpMetadata) -> list[tuple[str, str]]:
    """(step, what changes) for each SAML setting that differs; empty when SSO is already as ``meta`` says."""
    changes = []
    if sp.get("preferredSingleSignOnMode") != "saml":
        changes.append(("sso mode", "set the single sign-on mode to SAML"))
    uris = list(app.get("identifierUris") or [])
    replies = list((app.get("web") or {}).get("redirectUris") or [])
    missing = [u for u in meta.reply_urls if u not in replies]
    if meta.entity_id not in uris or missing:
        changes.append(("saml urls", f"entity ID {meta.entity_id}, reply URL(s) {', '.join(meta.reply_urls)}"))
    if not sp.get("preferredTokenSigningKeyThumbprint"):
        changes.append(("signing certificate", f"add a SAML signing certificate valid {SIGNING_YEARS} years"))
    return changes


def apply(graph: Any, sp: dict[str, Any], app: dict[str, Any], meta: SpMetadata, step: str) -> str:
    """Make one planned change; returns a word on what was done."""
    if step == "sso mode":
        graph.call("PATCH", f"/servicePrincipals/{sp['id']}", {"preferredSingleSignOnMode": "saml"})
        return "single sign-on mode set to SAML"
    if step == "saml urls":
        uris = list(dict.fromkeys([*(app.get("identifierUris") or []), meta.entity_id]))
        replies = list(dict.fromkeys([*((app.get("web") or {}).get("redirectUris") or []), *meta.reply_urls]))
        graph.call("PATCH", f"/applications/{app['id']}", {"identifierUris": uris, "web": {"redirectUris": replies}})
        return f"entity ID {meta.entity_id} and reply URL(s) {', '.join(meta.reply_urls)} set"
    until = (datetime.now(UTC) + timedelta(days=365 * SIGNING_YEARS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    made = graph.call(
        "POST",
        f"/servicePrincipals/{sp['id']}/addTokenSigningCertificate",
        {"displayName": f"CN={sp.get('displayName', 'SCIM')} SAML signing", "endDateTime": until},
    ).body
    thumbprint = made["thumbprint"]
    graph.call("PATCH", f"/servicePrincipals/{sp['id']}", {"preferredTokenSigningKeyThumbprint": thumbprint})
    return f"signing certificate {thumbprint} added and made the preferred one (valid until {until})"
