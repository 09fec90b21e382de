"""The role mapping in a synchronization schema: which expression, which target attribute, and the edit.

Shapes are the attributeMapping of graph-docs `synchronization-objectmapping.md` and the custom target
attribute of `concepts/synchronization-configure-with-custom-target-attributes.md` (docs/reference/entra-setup.md §1.7).
"""

from __future__ import annotations

from typing import Any

SINGLE = "SingleAppRoleAssignment"  # one primary role; role mode `single` (docs/reference/entra-wire.md §4.1)
ASSERTIVE = "AssertiveAppRoleAssignmentsComplex"  # the whole set replaced; role mode `multiple` (§4.3)
_ROLE_SOURCE = "[appRoleAssignments]"


def role_mapping(role_mode: str, attribute: str) -> tuple[str, str]:
    """(expression function, target attribute) for a directory's role mode and roles/entitlements."""
    if role_mode == "multiple":
        return ASSERTIVE, attribute
    return SINGLE, f'{attribute}[primary eq "True"].value'


def attribute_mapping(function: str, target: str) -> dict[str, Any]:
    return {
        "defaultValue": None,
        "exportMissingReferences": False,
        "flowBehavior": "FlowWhenChanged",
        "flowType": "Always",
        "matchingPriority": 0,
        "targetAttributeName": target,
        "source": {
            "expression": f"{function}({_ROLE_SOURCE})",
            "name": function,
            "type": "Function",
            "parameters": [
                {
                    "key": "source",
                    "value": {
                        "expression": _ROLE_SOURCE,
                        "name": "appRoleAssignments",
                        "parameters": [],
                        "type": "Attribute",
                    },
                }
            ],
        },
    }


def _user_mapping(schema: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(rule, objectMapping) that provisions Entra users. The `scim` template names its target object
    `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User` (provisionOnDemand's example shows it), so
    the target is matched by its ending, not equality with "User"."""
    for rule in schema.get("synchronizationRules") or []:
        for mapping in rule.get("objectMappings") or []:
            source = str(mapping.get("sourceObjectName", "")).lower()
            target = str(mapping.get("targetObjectName", "")).lower()
            if source == "user" and target.endswith("user"):
                return rule, mapping
    raise ValueError("the provisioning schema has no mapping for users")


def _uses_roles(attribute: dict[str, Any]) -> bool:
    return _ROLE_SOURCE in str((attribute.get("source") or {}).get("expression", ""))


def ensure_role_mapping(schema: dict[str, Any], function: str, target: str) -> str | None:
    """Edit ``schema`` in place so users carry ``function([appRoleAssignments]) -> target``; None if already so.

    Another appRoleAssignments mapping (a role mode changed since) is removed: two would fight.
    """
    rule, users = _user_mapping(schema)
    attributes: list[dict[str, Any]] = users.setdefault("attributeMappings", [])
    wanted = attribute_mapping(function, target)
    current = [a for a in attributes if _uses_roles(a)]
    same = len(current) == 1 and current[0].get("targetAttributeName") == target
    if same and (current[0].get("source") or {}).get("expression") == wanted["source"]["expression"]:
        return None
    users["attributeMappings"] = [a for a in attributes if not _uses_roles(a)] + [wanted]
    added = _ensure_target_attribute(schema, str(rule.get("targetDirectoryName", "")), users, target)
    replaced = [str(a.get("targetAttributeName")) for a in current]
    words = f"map {function}({_ROLE_SOURCE}) -> {target}"
    if replaced:
        words += f" (replacing the mapping to {', '.join(replaced)})"
    if added:
        words += f"; add {target!r} to the target attribute list"
    return words


def _ensure_target_attribute(schema: dict[str, Any], directory: str, users: dict[str, Any], target: str) -> bool:
    """Add ``target`` to the target User object's attributes when the template lacks it (custom target attribute)."""
    for found in schema.get("directories") or []:
        if found.get("name") != directory:
            continue
        for obj in found.get("objects") or []:
            if obj.get("name") != users.get("targetObjectName"):
                continue
            attributes: list[dict[str, Any]] = obj.setdefault("attributes", [])
            if any(a.get("name") == target for a in attributes):
                return False
            attributes.append(
                {
                    "anchor": False,
                    "caseExact": False,
                    "defaultValue": None,
                    "flowNullValues": False,
                    "multivalued": "[" not in target,  # `roles` carries the set; roles[primary eq "True"].value one
                    "mutability": "ReadWrite",
                    "name": target,
                    "required": False,
                    "type": "String",
                    "apiExpressions": [],
                    "metadata": [],
                    "referencedObjects": [],
                }
            )
            return True
    return False
