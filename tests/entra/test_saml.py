"""`scimctl entra setup --saml-metadata`: SAML single sign-on for the same app, from the SP's metadata."""

from __future__ import annotations

from pathlib import Path

import pytest

from scim.entra.saml import MetadataError, parse_metadata
from tests.doubles.graph import GraphDouble
from tests.support.scimctl import Cli

SP_METADATA = b"""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://vault.contoso.test/saml">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:AssertionConsumerService index="1" Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
        Location="https://vault.contoso.test/saml/acs/2"/>
    <md:AssertionConsumerService index="0" isDefault="true" Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
        Location="https://vault.contoso.test/saml/acs"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
"""


def test_saml_from_a_metadata_file_then_nothing_changes(cli: Cli, graph: GraphDouble, tmp_path: Path) -> None:
    metadata = tmp_path / "sp.xml"
    metadata.write_bytes(SP_METADATA)
    cli("directory", "create", "contoso")
    report = cli("entra", "setup", "--directory", "contoso", "--saml-metadata", str(metadata))
    sp_id = report["service_principal_id"]
    sp, app = graph.service_principals[sp_id], graph.applications[report["application_id"]]
    assert sp["preferredSingleSignOnMode"] == "saml"
    assert app["identifierUris"] == ["https://vault.contoso.test/saml"]
    assert app["web"]["redirectUris"] == [
        "https://vault.contoso.test/saml/acs",
        "https://vault.contoso.test/saml/acs/2",
    ]
    assert sp["preferredTokenSigningKeyThumbprint"] == sp["keyCredentials"][0]["thumbprint"]
    assert report["federation_metadata_url"] == (
        f"{graph.url}/{graph.tenant}/federationmetadata/2007-06/federationmetadata.xml?appid={sp['appId']}"
    )
    assert [s["step"] for s in report["steps"]].count("single sign-on") == 3

    writes = len(graph.writes())
    text = cli.text("entra", "setup", "--directory", "contoso", "--saml-metadata", str(metadata))
    assert "[ok] single sign-on: SAML single sign-on is set up for https://vault.contoso.test/saml" in text
    assert f"SAML federation metadata URL (give it to the application): {report['federation_metadata_url']}" in text
    assert "Nothing changed" in text and len(graph.writes()) == writes


def test_saml_from_an_https_url_and_in_the_dry_run_plan(cli: Cli, graph: GraphDouble) -> None:
    graph.files["/metadata/sp.xml"] = SP_METADATA
    cli("directory", "create", "contoso")
    url = f"{graph.url}/metadata/sp.xml"
    plan = cli("entra", "setup", "--directory", "contoso", "--saml-metadata", url, "--dry-run")
    assert ("single sign-on", "update") in [(s["step"], s["change"]) for s in plan["steps"]] and graph.writes() == []
    cli("entra", "setup", "--directory", "contoso", "--saml-metadata", url)
    assert graph.sp_named("SCIM contoso")["preferredSingleSignOnMode"] == "saml"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', "DOCTYPE"),
        (b"<EntityDescriptor", "not well-formed"),
        (b'<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>', "AssertionConsumerService"),
        (b"<other/>", "no EntityDescriptor"),
    ],
    ids=["doctype refused", "broken xml", "no reply url", "not metadata"],
)
def test_bad_metadata_is_refused_in_words(body: bytes, words: str) -> None:
    with pytest.raises(MetadataError, match=words):
        parse_metadata(body)


def test_unusable_metadata_sources_change_nothing(cli: Cli, graph: GraphDouble, tmp_path: Path) -> None:
    cli("directory", "create", "contoso")
    cli("entra", "setup", "--directory", "contoso", "--saml-metadata", "http://vault.contoso.test/md", code=1)
    assert "over https only" in cli.err
    cli("entra", "setup", "--directory", "contoso", "--saml-metadata", str(tmp_path / "missing.xml"), code=1)
    assert "Cannot read the SAML metadata file" in cli.err
    cli("entra", "setup", "--directory", "contoso", "--saml-metadata", f"{graph.url}/metadata/none.xml", code=1)
    assert "answered HTTP 401" in cli.err and graph.writes() == []


_ENTITIES = '<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'


@pytest.mark.parametrize(
    ("encoding", "declared"),
    [("utf-16", "UTF-16"), ("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16"), ("latin-1", "ISO-8859-1")],
)
def test_a_doctype_is_refused_in_any_encoding(encoding: str, declared: str) -> None:
    """The guard reads the document as the parser does: a UTF-16 DOCTYPE has no ASCII "<!doctype" bytes."""
    head = f'<?xml version="1.0" encoding="{declared}"?>'
    bom = "\ufeff" if encoding in ("utf-16-le", "utf-16-be") else ""
    text = (bom + head + _ENTITIES + SP_METADATA.decode().split("?>", 1)[1].replace("/saml<", "/&b;<")).encode(encoding)
    assert b"<!doctype" not in text.lower() or encoding == "latin-1"
    with pytest.raises(MetadataError, match="DOCTYPE"):
        parse_metadata(text)
    plain = (bom + head + SP_METADATA.decode().split("?>", 1)[1]).encode(encoding)
    assert parse_metadata(plain).entity_id == "https://vault.contoso.test/saml"  # the encoding itself is fine
