"""Discovery documents (RFC 7644 §4): ServiceProviderConfig, ResourceTypes, Schemas. They hold no directory data."""

from __future__ import annotations

from functools import cache
from typing import Any

from scim.config import CURSOR_TIMEOUT, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from scim.protocol.schema import (
    COMMON_ATTRIBUTES,
    ENTERPRISE_ATTRIBUTES,
    ENTERPRISE_SCHEMA,
    GROUP_ATTRIBUTES,
    GROUP_SCHEMA,
    RESOURCE_TYPE_SCHEMA,
    SCHEMA_SCHEMA,
    SP_CONFIG_SCHEMA,
    USER_ATTRIBUTES,
    USER_SCHEMA,
    Attribute,
)


def service_provider_config(base_url: str, docs_url: str) -> dict[str, Any]:
    return {
        "schemas": [SP_CONFIG_SCHEMA],
        "documentationUri": docs_url,
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_PAGE_SIZE},
        "changePassword": {"supported": False},
        "sort": {"supported": True},  # userName, displayName, externalId, meta.created, meta.lastModified
        # RFC 9865 §4: both methods; startIndex stays the default for the clients that predate cursors (§2.4).
        "pagination": {
            "cursor": True,
            "index": True,
            "defaultPaginationMethod": "index",
            "defaultPageSize": DEFAULT_PAGE_SIZE,
            "maxPageSize": MAX_PAGE_SIZE,
            "cursorTimeout": CURSOR_TIMEOUT,
        },
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "A token from the token endpoint (client credentials) or a long-lived Secret Token.",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": True,
            }
        ],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base_url}/ServiceProviderConfig"},
    }


def resource_types(base_url: str) -> list[dict[str, Any]]:
    user = {
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": USER_SCHEMA,
        "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": False}],
        "meta": {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/User"},
    }
    group = {
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "Group",
        "schema": GROUP_SCHEMA,
        "schemaExtensions": [],
        "meta": {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/Group"},
    }
    return [user, group]


def _attribute(a: Attribute) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": a.name,
        "type": a.type,
        "multiValued": a.multi_valued,
        "description": a.description,
        "required": a.required,
        "caseExact": a.case_exact,
        "mutability": a.mutability,
        "returned": a.returned,
        "uniqueness": a.uniqueness,
    }
    if a.canonical_values:
        doc["canonicalValues"] = list(a.canonical_values)
    if a.reference_types:
        doc["referenceTypes"] = list(a.reference_types)
    if a.sub_attributes:
        doc["subAttributes"] = [_attribute(s) for s in a.sub_attributes]
    return doc


@cache
def _schema_list() -> tuple[tuple[str, str, str, tuple[Attribute, ...]], ...]:
    return (
        # id and externalId are common attributes (RFC 7643 §3.1); the Logic App's Schema_Discoverability_Test
        # looks every mapped attribute up in the core schemas, externalId included, so they are listed there.
        (USER_SCHEMA, "User", "User Account", (*COMMON_ATTRIBUTES, *USER_ATTRIBUTES)),
        (ENTERPRISE_SCHEMA, "EnterpriseUser", "Enterprise User", ENTERPRISE_ATTRIBUTES),
        (GROUP_SCHEMA, "Group", "Group", (*COMMON_ATTRIBUTES, *GROUP_ATTRIBUTES)),
    )


def schemas(base_url: str) -> list[dict[str, Any]]:
    return [
        {
            "schemas": [SCHEMA_SCHEMA],
            "id": urn,
            "name": name,
            "description": description,
            "attributes": [_attribute(a) for a in attributes],
            "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{urn}"},
        }
        for urn, name, description, attributes in _schema_list()
    ]
