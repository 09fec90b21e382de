"""Normalise a POST/PUT body into the stored shape: canonical names, typed values, read-only parts dropped.

RFC 7643 §2.1 makes attribute names case-insensitive, so the boundary model is driven by schema.py
rather than by field names; pydantic models guard the fixed-shape messages (PatchOp, token requests).
"""

from __future__ import annotations

from typing import Any, Literal

from scim.errors import InvalidSyntax, InvalidValue, ScimError
from scim.protocol.patch import apply_patch
from scim.protocol.patch_values import (
    boolean,
    check_echoed,
    manager_id,
    member_ids,
    normalize_roles,
    one_role_per_value,
    show,
    string,
)
from scim.protocol.schema import (
    CORE_PREFIX,
    ENTERPRISE_INDEX,
    ENTERPRISE_SCHEMA,
    PATCH_OP,
    Attribute,
    attribute_index,
)
from scim.protocol.text import check_identifiers

ResourceType = Literal["User", "Group"]

MAX_VALUES = 100
# Read-only or service-managed keys a client may echo back; RFC 7643 §3.1 lets the service ignore them.
_IGNORED = frozenset({"id", "meta", "schemas", "groups", "password"})
_ROLE_ALIASES = frozenset({"roles", "entitlements"})


def _scalar(attribute: Attribute, value: Any, name: str) -> Any:
    if attribute.type == "boolean":
        return boolean(value, name)
    if attribute.type in ("integer", "decimal"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidValue(f"{name} must be a number; got {show(value)}")
        return value
    return string(value, name)


def _complex(attribute: Attribute, value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidValue(f"{name} must be an object with {', '.join(a.name for a in attribute.sub_attributes)}")
    out: dict[str, Any] = {}
    for key, item in value.items():
        sub = attribute.sub(key)
        if sub is None or item is None or sub.mutability == "readOnly":
            continue
        out[sub.name] = _scalar(sub, item, f"{name}.{sub.name}")
    return out


def _multi(attribute: Attribute, value: Any, name: str) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    if len(items) > MAX_VALUES:
        raise InvalidValue(f"{name} has {len(items)} values; the limit is {MAX_VALUES}")
    out = [_complex(attribute, item, name) for item in items if item is not None]
    if sum(1 for item in out if item.get("primary")) > 1:
        raise InvalidValue(f"{name} has more than one value with primary true (RFC 7643 §2.4)")
    return [item for item in out if item]


def _value(attribute: Attribute, value: Any, name: str) -> Any:
    if attribute.multi_valued:
        return _multi(attribute, value, name)
    if attribute.type == "complex":
        return _complex(attribute, value, name)
    return _scalar(attribute, value, name)


def _enterprise(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidValue(f"{ENTERPRISE_SCHEMA} must be an object")
    out: dict[str, Any] = {}
    for key, item in value.items():
        attribute = ENTERPRISE_INDEX.get(key.lower())
        if attribute is None or item is None:
            continue
        if attribute.name == "manager":
            manager = manager_id(item)
            if manager:
                out["manager"] = {"value": manager}
        else:
            out[attribute.name] = _value(attribute, item, attribute.name)
    return out


def _extension(urn: str, value: Any) -> dict[str, Any]:
    # Custom extension schemas (Entra's "Edit attribute list") are kept as sent, strings only.
    if not isinstance(value, dict):
        raise InvalidValue(f"{urn} must be an object")
    return {k: string(v, f"{urn}:{k}") for k, v in value.items() if v is not None and not isinstance(v, dict | list)}


def _apply_paths(data: dict[str, Any], paths: list[tuple[str, Any]], resource_type: ResourceType) -> dict[str, Any]:
    """Keys such as ``roles[primary eq "True"].display`` or ``name.givenName``: the SCIM Validator's default
    attribute list sends them in POST bodies; each is applied as a PATCH add of that path (RFC 7644 §3.5.2.1)."""
    paths = [(key, value) for key, value in paths if value is not None]  # nulls are tolerated, as above
    operations = [{"op": "add", "path": key, "value": value} for key, value in paths]
    if not operations:
        return data
    try:
        body = {"schemas": [PATCH_OP], "Operations": operations}
        return apply_patch(data, body, resource_type=resource_type, role_mode="multiple").data
    except ScimError as error:
        index = int(error.detail.split("]", 1)[0].rsplit("[", 1)[1]) if error.detail.startswith("Operations[") else 0
        error.detail = f"{paths[index][0]}: {error.detail.split(': ', 1)[-1]}"
        error.args = (error.detail,)
        raise


def normalize_resource(
    body: Any, resource_type: ResourceType, *, resource_id: str | None = None
) -> tuple[dict[str, Any], list[str] | None]:
    """Return (data, member ids) for a POST/PUT body; member ids only for groups that sent ``members``.

    ``resource_id`` is the resource a PUT replaces: an echoed ``id`` must equal it (check_echoed)."""
    if not isinstance(body, dict):
        raise InvalidSyntax(f"The body must be a JSON object holding a {resource_type}")
    index = attribute_index(resource_type)
    data: dict[str, Any] = {}
    members: list[str] | None = None
    paths: list[tuple[str, Any]] = []
    own_prefix = f"{CORE_PREFIX}{resource_type.lower()}:"
    for key, value in body.items():
        folded = key.lower()
        if not folded.startswith("urn:") and ("[" in folded or "." in folded):
            paths.append((key, value))  # a sub-attribute path as a key, applied below
            continue
        if folded.startswith(own_prefix):
            # RFC 7644 §3.10: `urn:…:User:password` is `password`; strip first, so the rules below apply to it too.
            folded = folded[len(own_prefix) :]
        elif folded.startswith(CORE_PREFIX) and ":" in folded[len(CORE_PREFIX) :]:
            continue  # an attribute of another core schema (a Group key on a User): not this resource's
        if folded in _IGNORED:
            check_echoed(folded, value, resource_type, resource_id)
            continue
        if value is None:
            continue  # nulls on POST are tolerated (docs/reference/entra-wire.md §1.0)
        if folded.startswith("urn:"):
            if folded == ENTERPRISE_SCHEMA.lower():
                if resource_type == "User":
                    data[ENTERPRISE_SCHEMA] = _enterprise(value)
            elif folded.startswith("urn:"):
                data[key] = _extension(key, value)
            continue
        if resource_type == "User" and folded in _ROLE_ALIASES:
            # Kept as the attribute they were sent as; both are matched against the role catalog (service).
            data[folded] = one_role_per_value(data.get(folded, []) + normalize_roles(value, folded))
            continue
        if resource_type == "Group" and folded == "members":
            members = list(dict.fromkeys(member_ids(value)))
            continue
        attribute = index.get(folded)
        if attribute is None:
            continue  # unknown attributes are ignored on POST/PUT, as Microsoft's Postman suite expects
        data[attribute.name] = _value(attribute, value, attribute.name)
    if paths:
        data = _apply_paths(data, paths, resource_type)
    required = "userName" if resource_type == "User" else "displayName"
    if not str(data.get(required, "")).strip():
        raise InvalidValue(f"{required} is required and must be a non-empty string")
    check_identifiers(data, resource_type)
    # RFC 7644 §3.5.1: an empty list or object is the same state as unassigned; store neither, as PATCH does,
    # so `"roles": []` (S1's POST body) is no roles and reads back as absent, not as `roles: []`.
    return {k: v for k, v in data.items() if v not in ([], {})}, members
