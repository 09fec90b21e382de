"""PATCH paths (RFC 7644 §3.5.2): ``attr``, ``attr.sub``, ``attr[filter].sub``, each optionally URN-qualified."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from scim.errors import InvalidPath
from scim.protocol.filter import parse_filter
from scim.protocol.filter_ast import And, AttrPath, Compare, Expr, Or
from scim.protocol.schema import (
    ENTERPRISE_INDEX,
    ENTERPRISE_SCHEMA,
    GROUP_SCHEMA,
    USER_SCHEMA,
    Attribute,
    attribute_index,
)

ResourceType = Literal["User", "Group"]

# ATTRNAME (RFC 7643 §2.1), plus "$ref", which RFC 7643 uses as a sub-attribute name.
_NAME = re.compile(r"\$?[A-Za-z][A-Za-z0-9_$-]*")
_MAX_PATH = 1000
_MAX_ECHO = 64

# Names that are not schema attributes but that clients do send; each is read-only here, so PATCH
# answers "mutability" rather than "invalidPath" (RFC 7644 §3.5.2: id, meta and schemas are the
# service's; members of a user are changed through /Groups).
_META = Attribute("meta", "complex", mutability="readOnly", description="Maintained by the service.")
_SCHEMAS = Attribute("schemas", multi_valued=True, mutability="readOnly", description="Maintained by the service.")
_USER_MEMBERS = Attribute(
    "members", "complex", multi_valued=True, mutability="readOnly", description="Change membership through /Groups."
)
_PSEUDO: dict[ResourceType, dict[str, Attribute]] = {
    "User": {"meta": _META, "schemas": _SCHEMAS, "members": _USER_MEMBERS},
    "Group": {"meta": _META, "schemas": _SCHEMAS},
}

# Schema URNs a path may start with, per resource type: the core schema means "no extension".
_KNOWN_URNS: dict[ResourceType, tuple[tuple[str, str | None], ...]] = {
    "User": ((USER_SCHEMA, None), (ENTERPRISE_SCHEMA, ENTERPRISE_SCHEMA)),
    "Group": ((GROUP_SCHEMA, None),),
}
_FOREIGN_URNS: dict[ResourceType, tuple[str, ...]] = {
    "User": (GROUP_SCHEMA,),
    "Group": (USER_SCHEMA, ENTERPRISE_SCHEMA),
}


@dataclass(frozen=True, slots=True)
class PatchPath:
    """A parsed path: names are canonical (schema.py spelling) except inside custom extensions."""

    schema: str | None
    attr: str
    value_filter: Expr | None
    sub: str | None


def known_schema(text: str, resource_type: ResourceType) -> tuple[bool, str | None]:
    """``(True, extension URN or None for core)`` when ``text`` is exactly a schema URN of this resource type."""
    folded = text.strip().lower()
    for urn, schema in _KNOWN_URNS[resource_type]:
        if folded == urn.lower():
            return True, schema
    return False, None


def definition(path: PatchPath, resource_type: ResourceType) -> Attribute | None:
    """The schema definition of the path's attribute; ``None`` inside a custom extension."""
    key = path.attr.lower()
    if path.schema is None:
        return attribute_index(resource_type).get(key) or _PSEUDO[resource_type].get(key)
    if path.schema == ENTERPRISE_SCHEMA:
        return ENTERPRISE_INDEX.get(key)
    return None


def parse_path(text: str, resource_type: ResourceType) -> PatchPath:
    """Parse a PATCH ``path``; names compare case-insensitively (RFC 7643 §2.1). Raises InvalidPath."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidPath('The path is empty; name an attribute such as "userName" or leave "path" out.')
    return _parse_cached(text.strip(), resource_type)


@lru_cache(maxsize=1024)
def _parse_cached(text: str, resource_type: ResourceType) -> PatchPath:
    # Entra sends the same few dozen paths for every user: each is parsed once (errors are not cached).
    if len(text) > _MAX_PATH:
        raise InvalidPath(f"The path is longer than {_MAX_PATH} characters.")
    schema, start = _split_schema(text, resource_type)
    name, pos = _name_at(text, start, "an attribute name")
    value_filter: Expr | None = None
    if pos < len(text) and text[pos] == "[":
        end = _closing_bracket(text, pos)
        # The bracket holds a filter relative to each value (RFC 7644 §3.5.2 valuePath); a bad
        # filter is "invalidFilter", which RFC 7644 §3.12 lists for PATCH path filters.
        value_filter = parse_filter(text[pos + 1 : end])
        pos = end + 1
    sub: str | None = None
    if pos < len(text) and text[pos] == ".":
        sub, pos = _name_at(text, pos + 1, "a sub-attribute name")
    if pos != len(text):
        raise InvalidPath(f"Unexpected {text[pos]!r} at position {pos + 1} of the path after {_echo(name)!r}.")
    return _resolve(schema, name, value_filter, sub, resource_type)


def _split_schema(text: str, resource_type: ResourceType) -> tuple[str | None, int]:
    """The extension URN (None for core) and where the attribute name starts."""
    folded = text.lower()
    if not folded.startswith("urn:"):
        return None, 0
    for urn, schema in _KNOWN_URNS[resource_type]:
        if folded.startswith(urn.lower()):
            sep = text[len(urn) : len(urn) + 1]
            # "." after the URN is the 2018 customappsso notation (S2 compliance table); harmless to accept.
            if sep in (":", "."):
                return schema, len(urn) + 1
            if not sep:
                raise InvalidPath(f"The path names the schema {urn} but no attribute of it.")
    for urn in _FOREIGN_URNS[resource_type]:
        if folded == urn.lower() or folded.startswith((urn.lower() + ":", urn.lower() + ".")):
            raise InvalidPath(f"The path names the schema {urn}, which a {resource_type} does not have.")
    # A custom extension: the attribute is the last ":"-separated segment before any "[" (the
    # filter may itself hold colons, and URN versions hold dots, e.g. "2.0").
    head = text.split("[", 1)[0]
    cut = head.rfind(":")
    if cut <= len("urn:"):
        raise InvalidPath('The path starts with "urn:" but names no schema and attribute.')
    return text[:cut], cut + 1


def _name_at(text: str, pos: int, what: str) -> tuple[str, int]:
    match = _NAME.match(text, pos)
    if match is None:
        raise InvalidPath(f"Expected {what} at position {pos + 1} of the path.")
    return match.group(), match.end()


def _closing_bracket(text: str, start: int) -> int:
    """Index of the "]" closing the "[" at ``start``, skipping quoted strings (RFC 7644 §3.4.2.2 compValue)."""
    quoted = False
    i = start + 1
    while i < len(text):
        char = text[i]
        if quoted and char == "\\":
            i += 2
            continue
        if char == '"':
            quoted = not quoted
        elif char == "]" and not quoted:
            return i
        elif char == "[" and not quoted:
            raise InvalidPath(f'Nested "[" at position {i + 1} of the path; a value filter cannot hold another.')
        i += 1
    raise InvalidPath(f'The "[" at position {start + 1} of the path is never closed.')


def _resolve(
    schema: str | None, name: str, value_filter: Expr | None, sub: str | None, resource_type: ResourceType
) -> PatchPath:
    attribute: Attribute | None
    if schema is None:
        attribute = attribute_index(resource_type).get(name.lower()) or _PSEUDO[resource_type].get(name.lower())
        if attribute is None and resource_type == "User":
            # S1 "Example 5" and S14 scim-patch #453 send the enterprise "manager" without its URN.
            attribute = ENTERPRISE_INDEX.get(name.lower())
            schema = ENTERPRISE_SCHEMA if attribute is not None else None
    elif schema == ENTERPRISE_SCHEMA:
        attribute = ENTERPRISE_INDEX.get(name.lower())
    else:
        return PatchPath(schema, name, value_filter, sub)  # custom extension: no schema to check against
    if attribute is None:
        where = "the enterprise extension" if schema else f"a {resource_type}"
        raise InvalidPath(f"Unknown attribute {_echo(name)!r} in the path: it is not an attribute of {where}.")
    if attribute.type != "complex" and (value_filter is not None or sub is not None):
        raise InvalidPath(
            f"{attribute.name} is a simple attribute; it takes neither a value filter nor a sub-attribute."
        )
    canonical_sub = sub
    if sub is not None and attribute.sub_attributes:
        found = attribute.sub(sub)
        if found is None:
            raise InvalidPath(f"Unknown sub-attribute {_echo(sub)!r} of {attribute.name} in the path.")
        canonical_sub = found.name
    return PatchPath(schema, attribute.name, value_filter, canonical_sub)


def _echo(name: str) -> str:
    return name if len(name) <= _MAX_ECHO else name[:_MAX_ECHO] + "…"


def derive_element(expr: Expr, attribute: Attribute) -> dict[str, Any] | None:
    """The value that ``eq`` terms joined by ``and`` describe (``type eq "work"`` → {"type": "work"}), else None."""
    terms: list[Compare] = []
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, And):
            stack += (node.left, node.right)
        elif isinstance(node, Compare) and node.op == "eq" and node.value is not None:
            terms.append(node)
        else:
            return None  # or, not, pr, ne, …: many values would satisfy it, so none can be built
    element: dict[str, Any] = {}
    for term in terms:
        sub = _relative(term.path, attribute)
        value = term.value
        if sub is not None and sub.type == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"  # Entra quirk: roles[primary eq "True"] (docs/reference/entra-wire.md §4.1)
        if sub is None or isinstance(value, bool) != (sub.type == "boolean") or not isinstance(value, str | bool):
            return None
        element[sub.name] = value
    return element


def filter_ids(expr: Expr) -> list[str]:
    """The member ids ``value eq "a" [or value eq "b" …]`` names (RFC 7644 §3.5.2.2 members[...] removal)."""
    ids: list[str] = []
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Or):
            stack += (node.right, node.left)
        elif (
            isinstance(node, Compare)
            and node.op == "eq"
            and isinstance(node.value, str)
            and node.path.urn is None
            and node.path.sub is None
            and node.path.attr.lower() == "value"
        ):
            ids.append(node.value)
        else:
            raise InvalidPath('A members filter may only name ids: members[value eq "<id>"], joined by "or".')
    return ids


def _relative(path: AttrPath, attribute: Attribute) -> Attribute | None:
    """The sub-attribute of ``attribute`` a bracket filter's attribute path names, if it is a plain one."""
    if path.urn is not None or path.sub is not None:
        return None
    return attribute.sub(path.attr)
