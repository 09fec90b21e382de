"""PATCH (RFC 7644 §3.5.2) for Users and Groups, accepting both Entra dialects.

The dialects are described in docs/reference/entra-wire.md §1.2, §1.6, §2 and §4.

Entra quirks handled here, each marked "Entra quirk" where it is decided:
  * ``op`` in any case ("Replace" without aadOptscim062020, §2.3);
  * booleans as the strings "True"/"False" (§1.3, §2.4 item 2);
  * upsert on ``emails[type eq "work"].value``-style paths, never a literal path key (§1.2c);
  * path-less values with dotted and URN-qualified keys (§2.3, §2.4 item 4);
  * manager as an id, ``{"value": id}`` or ``[{"value": id}]``, and "" meaning remove (§1.2e);
  * ``remove`` of ``members`` with a value list removing only those members (§1.6 "Danger");
  * roles (and entitlements, the senhasegura mapping) as stringified JSON, ``display``/``displayName``, and
    built field by field through ``roles[primary eq "True"].display`` before the value arrives (§4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scim.errors import InvalidPath, InvalidSyntax, InvalidValue, Mutability, NoTarget, ScimError, TooMany
from scim.model import MemberChange, RoleMode
from scim.protocol.filter_match import matches
from scim.protocol.patch_values import (
    MAX_MEMBER_VALUES,
    MAX_VALUES,
    MemberOps,
    OpName,
    check_echoed,
    clone,
    element,
    get_ci,
    kind,
    manager_id,
    normalize_roles,
    one_primary,
    one_role_per_value,
    scalar,
    show,
    string,
)
from scim.protocol.path import (
    PatchPath,
    ResourceType,
    definition,
    derive_element,
    known_schema,
    parse_path,
)
from scim.protocol.schema import PATCH_OP, Attribute
from scim.protocol.text import check_identifiers

__all__ = ["PatchResult", "apply_patch"]

_OPS: dict[str, OpName] = {"add": "add", "replace": "replace", "remove": "remove"}
MAX_OPERATIONS = 1000
# Member ids added plus removed by one PATCH: each one is an existence check or a write in the store.
MAX_MEMBER_CHANGES = MAX_MEMBER_VALUES
# Within emails, phoneNumbers and addresses a type appears once (docs/reference/entra-wire.md §1.0).
_TYPE_UNIQUE = frozenset({"emails", "phoneNumbers", "addresses"})
# What is left of a value once its sub-attributes are removed but these: nothing worth keeping.
_HOLLOW = frozenset({"type", "primary", "display"})
# Multi-valued attributes read as app roles: stringified JSON, role modes (docs/reference/entra-wire.md §4).
_ROLE_LIKE = frozenset({"roles", "entitlements"})
_EXAMPLE = '{"schemas": ["' + PATCH_OP + '"], "Operations": [{"op": "replace", "path": "active", "value": false}]}'


@dataclass(slots=True)
class PatchResult:
    data: dict[str, Any]
    members: MemberChange = field(default_factory=MemberChange)
    changed: bool = False


@dataclass(slots=True)
class _Patch:
    data: dict[str, Any]
    members: MemberOps
    resource_type: ResourceType
    role_mode: RoleMode
    resource_id: str | None = None


def apply_patch(
    data: Mapping[str, Any],
    body: Any,
    *,
    resource_type: ResourceType,
    role_mode: RoleMode,
    resource_id: str | None = None,
) -> PatchResult:
    """Apply a PatchOp body to a copy of ``data``; groups' member changes come back apart from the data.

    ``resource_id`` is the patched resource's id: an operation that sets ``id`` to it changes nothing."""
    operations = _operations(body)
    patch = _Patch(clone(dict(data)), MemberOps(), resource_type, role_mode, resource_id)
    for index, operation in enumerate(operations):
        try:
            _apply_operation(patch, operation)
        except ScimError as error:
            error.detail = f"Operations[{index}]: {error.detail}"
            error.args = (error.detail,)
            raise
        if len(patch.members.add) + len(patch.members.remove) > MAX_MEMBER_CHANGES:
            raise TooMany(
                f"A PATCH may add and remove at most {MAX_MEMBER_CHANGES} members in all (Operations[{index}] goes"
                " past it); split the change over several PATCH requests."
            )
    members = patch.members.change()
    check_identifiers(patch.data, resource_type, previous=data)
    return PatchResult(patch.data, members, patch.data != dict(data) or bool(members))


def _operations(body: Any) -> list[Any]:
    if not isinstance(body, dict):
        raise InvalidSyntax(f"Send a PatchOp JSON object, e.g. {_EXAMPLE}.")
    schemas = get_ci(body, "schemas")
    if not isinstance(schemas, list) or not any(
        isinstance(s, str) and s.strip().lower() == PATCH_OP.lower() for s in schemas
    ):
        raise InvalidSyntax(f'"schemas" must list "{PATCH_OP}" (RFC 7644 §3.5.2).')
    operations = get_ci(body, "Operations")
    if not isinstance(operations, list) or not operations:
        raise InvalidSyntax('"Operations" must be a non-empty list of {"op", "path", "value"} objects.')
    if len(operations) > MAX_OPERATIONS:
        raise TooMany(f"Send at most {MAX_OPERATIONS} operations per PATCH; got {len(operations)}.")
    return operations


def _apply_operation(patch: _Patch, operation: Any) -> None:
    if not isinstance(operation, dict):
        raise InvalidSyntax(f'Each operation must be an object with "op", "path" and "value"; got {kind(operation)}.')
    raw_op = get_ci(operation, "op")
    # Entra quirk: "Add"/"Replace"/"Remove" without aadOptscim062020 (S1, §2.3); RFC names are lowercase.
    op = _OPS.get(raw_op.strip().lower()) if isinstance(raw_op, str) else None
    if op is None:
        raise InvalidSyntax(f'"op" must be "add", "replace" or "remove"; got {show(raw_op)}.')
    raw_path = get_ci(operation, "path")
    value = get_ci(operation, "value")
    if raw_path is None or (isinstance(raw_path, str) and not raw_path.strip()):
        if op == "remove":
            raise NoTarget('A remove needs a "path" naming what to remove (RFC 7644 §3.5.2.2).')
        _apply_pathless(patch, op, value, schema=None)
        return
    if not isinstance(raw_path, str):
        raise InvalidPath(f'"path" must be a string; got {kind(raw_path)}.')
    if op != "remove" and not any(isinstance(k, str) and k.lower() == "value" for k in operation):
        # RFC 7644 §3.5.2.1/§3.5.2.3: add and replace MUST carry a value; an explicit null still unassigns.
        raise InvalidValue(f'"{op}" needs a value: send "value": null to unassign {raw_path!r}.')
    whole, schema = known_schema(raw_path, patch.resource_type)
    if whole or _is_custom_extension(patch, raw_path, value):
        # The path names a whole schema: its value is that schema's attributes (RFC 7644 §3.5.2).
        schema = schema if whole else _data_key(patch.data, raw_path.strip())
        if op != "remove":
            _apply_pathless(patch, op, value, schema=schema)
        elif schema is None:
            raise Mutability("The core schema cannot be removed; name an attribute of it.")
        else:
            patch.data.pop(schema, None)
        return
    _apply_path(patch, op, parse_path(raw_path, patch.resource_type), value)


def _apply_pathless(patch: _Patch, op: OpName, value: Any, *, schema: str | None) -> None:
    """A value whose keys are paths: plain, dotted, URN-qualified, or a URN holding an object (§2.4 item 4)."""
    if not isinstance(value, dict):
        raise InvalidValue(
            f'Without a path, add and replace need an object value such as {{"displayName": "x"}}; got {kind(value)}.'
        )
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip():
            raise InvalidPath("Every key of a path-less value must be an attribute name.")
        if key.strip().lower() in ("schemas", "meta"):
            continue  # the service owns schemas and meta; clients echo them, even inside an extension (§2.4 item 9)
        if schema is None:
            whole, nested = known_schema(key, patch.resource_type)
            if whole or (_is_custom_extension(patch, key, item) and isinstance(item, dict)):
                _apply_pathless(patch, op, item, schema=nested if whole else _data_key(patch.data, key.strip()))
                continue
            path = parse_path(key, patch.resource_type)
        else:
            path = parse_path(f"{schema}:{key.strip()}", patch.resource_type)
        _apply_path(patch, op, path, item)


def _is_custom_extension(patch: _Patch, text: str, value: Any) -> bool:
    """Whether ``text`` names a whole custom extension: a stored URN key, or a URN ending in the resource type."""
    folded = text.strip().lower()
    if not folded.startswith("urn:") or "[" in folded:
        return False
    if any(key.lower() == folded for key in patch.data):
        return True
    return folded.rsplit(":", 1)[-1] == patch.resource_type.lower() and (value is None or isinstance(value, dict))


def _apply_path(patch: _Patch, op: OpName, path: PatchPath, value: Any) -> None:
    attribute = definition(path, patch.resource_type)
    if attribute is None:
        _apply_custom(patch, op, path, value)
        return
    if (
        attribute.name == "id"
        and op != "remove"
        and path.schema is None
        and path.sub is None
        and path.value_filter is None
    ):
        # The reference tests' no-path replace echoes the resource's own id: accepted and ignored (RFC 7644
        # §3.5.2 "readOnly" values cannot change, so the same value changes nothing); another id is 400 mutability.
        check_echoed("id", value, patch.resource_type, patch.resource_id)
        if patch.resource_id is not None:
            return
    _check_mutability(attribute, path, op, value)
    if patch.resource_type == "Group" and attribute.name == "members":
        patch.members.apply(op, path, value)
        return
    if attribute.name == "password":
        return  # writeOnly and never stored (schema.py); accepting it keeps a mapped password from failing a sync
    container = patch.data if path.schema is None else dict(patch.data.get(path.schema) or {})
    if attribute.name == "manager":
        _apply_manager(container, op, path, value)
    elif attribute.multi_valued:
        _apply_multi(patch, container, attribute, op=op, path=path, value=value)
    elif attribute.type == "complex":
        _apply_complex(container, attribute, op, path, value)
    elif op == "remove" or value is None:
        container.pop(attribute.name, None)  # RFC 7643 §2.5: null means unassigned (the Logic App null test)
    else:
        container[attribute.name] = scalar(attribute, value, attribute.name)
    if path.schema is not None:
        _put(patch.data, path.schema, container)


def _check_mutability(attribute: Attribute, path: PatchPath, op: OpName, value: Any) -> None:
    if attribute.mutability == "readOnly":
        raise Mutability(f"{attribute.name} is read-only; the service maintains it.")
    sub = attribute.sub(path.sub) if path.sub else None
    if sub is not None and sub.mutability in ("readOnly", "immutable"):
        raise Mutability(f"{attribute.name}.{sub.name} cannot be changed; write the whole {attribute.name} value.")
    if attribute.required and path.sub is None and (op == "remove" or value is None):
        # RFC 7644 §3.5.2.2: removing a required attribute is a "mutability" error.
        raise Mutability(f"{attribute.name} is required; replace it rather than remove it.")


def _apply_custom(patch: _Patch, op: OpName, path: PatchPath, value: Any) -> None:
    """A custom extension attribute (Entra's "Edit attribute list"): a string under the extension's URN, as on POST."""
    if path.value_filter is not None or path.sub is not None:
        raise InvalidPath(
            f"The custom extension attribute {path.attr!r} is a simple string; name it without [ ] or '.'."
        )
    schema = _data_key(patch.data, path.schema or "")
    extension = dict(patch.data.get(schema) or {})
    name = _data_key(extension, path.attr)
    _set_or_pop(extension, name, None if op == "remove" or value is None else string(value, path.attr))
    _put(patch.data, schema, extension)


def _apply_manager(container: dict[str, Any], op: OpName, path: PatchPath, value: Any) -> None:
    """Entra quirk (§1.2e): several value shapes, stored as {"value": id}; "" or {"value": ""} removes."""
    current = container.get("manager")
    if path.value_filter is not None and not (isinstance(current, dict) and matches(path.value_filter, current)):
        if op == "remove":
            return  # manager[value eq "x"] removes the manager only if it is x (S14 scim-patch #453)
        raise NoTarget("The manager filter matched no manager.")
    if path.sub == "$ref":
        return  # the reference is built from the id on output (RFC 7643 §4.3); nothing to store
    new_id = None if op == "remove" else manager_id(value)
    _set_or_pop(container, "manager", None if new_id is None else {"value": new_id})


def _apply_complex(container: dict[str, Any], attribute: Attribute, op: OpName, path: PatchPath, value: Any) -> None:
    """A single complex attribute (name): add and replace both merge sub-attributes (RFC 7644 §3.5.2.1, §3.5.2.3)."""
    name = attribute.name
    current = container.get(name)
    current = dict(current) if isinstance(current, dict) else {}
    if path.value_filter is not None and not (current and matches(path.value_filter, current)):
        if op == "remove":
            return
        raise NoTarget(f"The {name} filter matched no value.")
    if op == "remove" and path.sub is None:
        container.pop(name, None)
        return
    if path.sub is not None:
        sub = attribute.sub(path.sub)
        given = None if op == "remove" or value is None or sub is None else scalar(sub, value, f"{name}.{path.sub}")
        changes = {path.sub: given}
    elif value is None:
        container.pop(name, None)
        return
    else:
        changes = element(attribute, value, name)
    for key, item in changes.items():
        _set_or_pop(current, key, item)
    _set_or_pop(container, name, current or None)


def _apply_multi(
    patch: _Patch, container: dict[str, Any], attribute: Attribute, *, op: OpName, path: PatchPath, value: Any
) -> None:
    name = attribute.name
    current: list[dict[str, Any]] = [dict(e) for e in container.get(name) or [] if isinstance(e, dict)]
    if path.value_filter is None and path.sub is None:
        current = _whole_list(patch, attribute, name, current, op=op, value=value)
    elif op == "remove" or value is None or (name in _ROLE_LIKE and path.sub == "value" and value == ""):
        # RFC 7643 §2.5: a null value leaves the target unassigned; so does the Logic App's "" for a role's value
        # (SCIM_Null_Update_Test), which can name no catalog role.
        current = _remove_selected(current, path)
    else:
        current = _upsert(attribute, name, current, op=op, path=path, value=value)
    if name in _ROLE_LIKE:
        current = one_role_per_value(current)
    _set_or_pop(container, name, current or None)


def _values(attribute: Attribute, name: str, value: Any) -> list[dict[str, Any]]:
    if name in _ROLE_LIKE:
        return normalize_roles(value, name)
    items = value if isinstance(value, list) else [] if value is None else [value]
    if len(items) > MAX_VALUES:
        raise InvalidValue(f"{name} takes at most {MAX_VALUES} values per operation; got {len(items)}.")
    out = [{k: v for k, v in element(attribute, item, name).items() if v is not None} for item in items]
    out = [item for item in out if item]  # an all-null value is no value (RFC 7643 §2.5), as on POST
    one_primary(out, name)
    return out


def _whole_list(
    patch: _Patch, attribute: Attribute, name: str, current: list[dict[str, Any]], *, op: OpName, value: Any
) -> list[dict[str, Any]]:
    if op == "remove":
        if value is None:
            return []
        # As for members (§1.6 "Danger"), a remove that lists values removes only those (roles, §4).
        given = _values(attribute, name, value)
        return [e for e in current if not any(_same(e, g) for g in given)]
    given = _values(attribute, name, value)
    if op == "replace":
        return given  # AssertiveAppRoleAssignmentsComplex replaces the whole set (§4.3)
    if name in _ROLE_LIKE and patch.role_mode == "single" and len(given) == 1 and given[0].get("primary") is not False:
        # SingleAppRoleAssignment adds one role that names no primary flag (stringified JSON) or says primary: it
        # becomes the one, primary role (§4.1). A client that says "primary": false is adding a secondary role,
        # and reads back false (RFC 7644 §3.5.2.1: add appends).
        return [{**given[0], "primary": True}]
    for new in given:  # AppRoleAssignmentsComplex and every other add append (§4.2, RFC 7644 §3.5.2.1)
        current = _merge_in(current, new, name)
    return current


def _same(existing: dict[str, Any], given: dict[str, Any]) -> bool:
    return existing.get("value") == given["value"] if "value" in given else existing == given


def _merge_in(current: list[dict[str, Any]], new: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Add one value: one with the same ``value`` is merged into, one with the same unique ``type`` replaced."""
    unique_type = name in _TYPE_UNIQUE and isinstance(new.get("type"), str)
    merged = dict(new)
    kept: list[dict[str, Any]] = []
    slot: int | None = None
    for existing in current:
        same_value = "value" in new and existing.get("value") == new["value"]
        if same_value or (unique_type and _lowered(existing.get("type")) == _lowered(new["type"])):
            merged = {**existing, **merged} if same_value else merged
            slot = len(kept) if slot is None else slot
        else:
            kept.append(existing)
    kept.insert(len(kept) if slot is None else slot, merged)
    if merged.get("primary") is True:
        _clear_primary(kept, merged)  # RFC 7643 §2.4: primary is true on one value at most
    return kept


def _remove_selected(current: list[dict[str, Any]], path: PatchPath) -> list[dict[str, Any]]:
    """Remove the values the filter selects, or their sub-attribute (RFC 7644 §3.5.2.2)."""
    expr = path.value_filter
    hits = {id(e) for e in current if expr is None or matches(expr, e)}
    if path.sub is None:
        return [e for e in current if id(e) not in hits]
    for e in current:
        if id(e) in hits:
            e.pop(path.sub, None)
    return [e for e in current if set(e) - _HOLLOW]  # an email without its address is no email (§1.2c)


def _upsert(
    attribute: Attribute, name: str, current: list[dict[str, Any]], *, op: OpName, path: PatchPath, value: Any
) -> list[dict[str, Any]]:
    """``attr[filter]``, ``attr[filter].sub`` or ``attr.sub``: change the matching values, or create one."""
    expr = path.value_filter
    changes = _changes(attribute, name, path, value)
    seed = derive_element(expr, attribute) if expr is not None else None
    hits = [e for e in current if expr is None or matches(expr, e)]
    if not hits:
        # Entra quirk (§1.2c, §2.4 item 5): Add and Replace both target emails[type eq "work"].value whether
        # or not a work email exists, so create the value the filter describes; never store the path as a key.
        if seed is None:
            raise NoTarget(f"No {name} value matches the path, and its filter cannot describe a new one.")
        hits = [{}]
        current.append(hits[0])
    for e in hits:
        if path.sub is None and op == "replace":
            e.clear()  # RFC 7644 §3.5.2.3: matching values are replaced (keeping what the filter selected on)
        if not e:
            e.update(seed or {})
        e.update(changes)
    winners = [e for e in hits if e.get("primary") is True]
    if winners:
        _clear_primary(current, winners[0])
    return current


def _changes(attribute: Attribute, name: str, path: PatchPath, value: Any) -> dict[str, Any]:
    if path.sub is None:
        if name in _ROLE_LIKE:
            return (normalize_roles([value], name) or [{}])[0]
        return {k: v for k, v in element(attribute, value, name).items() if v is not None}
    if name in _ROLE_LIKE and path.sub == "value":
        # Entra quirk (§4.1): roles[primary eq "True"].value may carry the stringified role object.
        role = (normalize_roles([{"value": value}], name) or [{}])[0]
        return {k: v for k, v in role.items() if k in ("value", "display")}
    sub = attribute.sub(path.sub)
    if sub is None:
        raise InvalidPath(f"Unknown sub-attribute {path.sub!r} of {name}.")
    return {sub.name: scalar(sub, value, f"{name}.{sub.name}")}


def _clear_primary(values: list[dict[str, Any]], winner: dict[str, Any]) -> None:
    for e in values:
        if e is not winner and e.get("primary") is True:
            e["primary"] = False


def _lowered(value: Any) -> Any:
    """A string lower-cased (type values compare case-insensitively), anything else as is."""
    return value.lower() if isinstance(value, str) else value


def _data_key(mapping: Mapping[str, Any], name: str) -> str:
    """The key of ``mapping`` equal to ``name`` ignoring case, else ``name`` (custom attributes keep their spelling)."""
    folded = name.lower()
    return next((key for key in mapping if key.lower() == folded), name)


def _set_or_pop(mapping: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        mapping.pop(key, None)
    else:
        mapping[key] = value


def _put(mapping: dict[str, Any], key: str, value: dict[str, Any]) -> None:
    """Store a nested object, dropping it when empty so no hollow extension is left behind."""
    _set_or_pop(mapping, key, value or None)
