"""The synchronization schema the Graph double gives a new `scim` job (tests/doubles/graph.py)."""

from __future__ import annotations

from typing import Any


def default_schema() -> dict[str, Any]:
    """The `scim` template's schema, trimmed (synchronization-synchronizationschema-get.md; resources
    synchronization-synchronizationrule.md, synchronization-objectmapping.md and
    synchronization-directorydefinition.md)."""

    def attribute(name: str, multivalued: bool = False) -> dict[str, Any]:
        return {"name": name, "type": "String", "multivalued": multivalued, "anchor": False, "caseExact": False,
                "mutability": "ReadWrite", "required": False, "apiExpressions": [], "metadata": [],
                "referencedObjects": [], "defaultValue": None, "flowNullValues": False}  # fmt: skip

    def mapping(source: str, target: str) -> dict[str, Any]:
        return {"defaultValue": "", "exportMissingReferences": False, "flowBehavior": "FlowWhenChanged",
                "flowType": "Always", "matchingPriority": 0, "targetAttributeName": target,
                "source": {"expression": f"[{source}]", "name": source, "parameters": [],
                           "type": "Attribute"}}  # fmt: skip

    user = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    group = "urn:ietf:params:scim:schemas:core:2.0:Group"
    return {
        "id": "scim",
        "version": "Date:2026-01-01T00:00:00Z",
        "directories": [
            {"id": "aad", "name": "Azure Active Directory",
             "objects": [{"name": "User", "attributes": [attribute("userPrincipalName")]},
                         {"name": "Group", "attributes": [attribute("displayName")]}]},
            {"id": "scim", "name": "customappsso",
             "objects": [{"name": user, "attributes": [attribute("userName"), attribute("active"),
                                                        attribute('roles[primary eq "True"].value')]},
                         {"name": group, "attributes": [attribute("displayName")]}]},
        ],
        "synchronizationRules": [
            {"id": "03f7d90d-bf71-41b1-bda6-aaf0ddbee5d8", "name": "USER_OUTBOUND_USER", "editable": True,
             "sourceDirectoryName": "Azure Active Directory", "targetDirectoryName": "customappsso",
             "objectMappings": [
                 {"enabled": True, "name": "Provision Microsoft Entra ID Users", "sourceObjectName": "User",
                  "targetObjectName": user, "flowTypes": "Add, Update, Delete",
                  "attributeMappings": [mapping("userPrincipalName", "userName")]},
                 {"enabled": True, "name": "Provision Microsoft Entra ID Groups", "sourceObjectName": "Group",
                  "targetObjectName": group, "flowTypes": "Add, Update, Delete",
                  "attributeMappings": [mapping("displayName", "displayName")]},
             ]},
        ],
    }  # fmt: skip
