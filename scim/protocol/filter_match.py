"""Evaluate a filter AST against SCIM JSON: case rules from the schema, multi-valued and extension attributes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from scim.errors import InvalidFilter
from scim.protocol.filter_ast import (
    ORDERING,
    SUBSTRING,
    And,
    AttrPath,
    Compare,
    Expr,
    Not,
    Or,
    Present,
    Value,
    definition_of,
    is_core,
)
from scim.protocol.schema import GROUP_INDEX, USER_INDEX, Attribute
from scim.protocol.text import identity_key

# Identifiers compare in their one normalised form (scim.protocol.text), as the store's unique indexes do.
_IDENTIFIERS = frozenset({"userName", "displayName", "externalId"})

_MISSING: Any = object()
# A core attribute's name never means an extension's (RFC 7644 §3.10 applies to names the core does not define), so
# an absent core attribute needs no search of the extensions: that search was most of a scan's cost.
_CORE_NAMES = frozenset({*USER_INDEX, *GROUP_INDEX, "meta"})


def _get(obj: Mapping[str, Any], name: str) -> Any:
    """``obj[name]`` with the case-insensitive key match of RFC 7643 §2.1."""
    if name in obj:
        return obj[name]
    folded = name.lower()
    for key, value in obj.items():
        if key.__class__ is str and key.lower() == folded:
            return value
    return _MISSING


def _flat(value: Any) -> list[Any]:
    if value is _MISSING or value is None:
        return []
    if isinstance(value, list):
        return [v for v in value if v is not None]
    return [value]


def _values(path: AttrPath, obj: Mapping[str, Any]) -> list[Any]:
    """Every value ``path`` reaches in ``obj``, multi-valued attributes flattened (RFC 7644 §3.4.2.2 "any")."""
    container: Any = obj
    if path.urn is not None and not is_core(path.urn):
        container = _get(obj, path.urn)
        if not isinstance(container, Mapping):
            return []
    raw = _get(container, path.attr)
    if raw is _MISSING and path.urn is None and path.attr.lower() not in _CORE_NAMES:
        # RFC 7644 §3.10: an unqualified name may be an extension attribute (Entra's legacy `manager eq <id>`).
        for key, extension in obj.items():
            if isinstance(extension, Mapping) and isinstance(key, str) and key[:4].lower() == "urn:":
                raw = _get(extension, path.attr)
                if raw is not _MISSING:
                    break
    found = _flat(raw)
    if path.sub is None:
        return found
    out: list[Any] = []
    for item in found:
        if isinstance(item, Mapping):
            out.extend(_flat(_get(item, path.sub)))
    return out


def _present(value: Any) -> bool:
    """RFC 7644 `pr`: false for null, "" and [] (and for a complex value holding only those)."""
    if value is None or value == "":
        return False
    if isinstance(value, list):
        return any(_present(v) for v in value)
    if isinstance(value, Mapping):
        return any(_present(v) for v in value.values())
    return True


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"  # Entra quirk: `roles[primary eq "True"]` and "True" strings in bodies
    return None


def _as_datetime(text: str) -> datetime | None:
    if len(text) < 10 or text[4] != "-" or text[7] != "-" or not text[:4].isdigit():
        return None
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "zZ" else text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _pair(op: str, have: Any, want: Value, exact: bool, dates: bool | None) -> tuple[Any, Any] | None:
    """Comparable forms of a stored and a filter value, or None when they cannot be compared.

    ``dates`` is True for a dateTime attribute, None for one the schema does not know (compared as instants
    only when both sides parse as RFC 3339), False for a schema string.
    """
    if isinstance(have, bool) or isinstance(want, bool):
        if op in ORDERING or op in SUBSTRING:
            raise InvalidFilter(f"Invalid filter: '{op}' cannot be applied to a boolean attribute.")
        a, b = _as_bool(have), _as_bool(want)
        return None if a is None or b is None else (a, b)
    if isinstance(have, str) and isinstance(want, str):
        if dates is not False and op not in SUBSTRING:
            da, db = _as_datetime(have), _as_datetime(want)
            if da is not None and db is not None:
                return da, db
            if dates:
                return None
        return (have, want) if exact else (have.casefold(), want.casefold())
    if op in SUBSTRING and isinstance(have, int | float):
        raise InvalidFilter(f"Invalid filter: '{op}' applies to strings, not numbers.")
    if isinstance(have, int | float) and isinstance(want, int | float):
        return have, want
    if isinstance(have, str) and isinstance(want, int) and op in ("eq", "ne"):
        return have, str(want)  # an unquoted numeric id (`externalId eq 12345`) matches its text
    return None


def _compare(node: Compare, obj: Mapping[str, Any], parent: Attribute | None) -> bool:
    definition = definition_of(node.path, parent)
    name = (node.path.sub or node.path.attr).lower()
    exact = name == "$ref" or (definition is not None and definition.case_exact)
    dates = None if definition is None else definition.type == "dateTime"
    op, want = node.op, node.value
    identifier = parent is None and definition is not None and definition.name in _IDENTIFIERS and op in ("eq", "ne")
    if identifier and isinstance(want, str):
        want = identity_key(want, case_exact=exact)
    values = _values(node.path, obj)
    if want is None and op in ("eq", "ne"):
        return (not values) == (op == "eq")
    if not values:
        return op == "ne"  # an absent attribute is "not equal" to any value
    for value in values:
        # A complex value compared without a sub-attribute compares its "value" (`manager eq "<id>"`).
        have = _get(value, "value") if isinstance(value, Mapping) else value
        if have is _MISSING:
            continue
        if identifier and isinstance(have, str):
            have = identity_key(have, case_exact=exact)
        pair = _pair(op, have, want, exact, dates)
        if pair is None:
            hit = op == "ne"
        else:
            a, b = pair
            if op == "eq":
                hit = a == b
            elif op == "ne":
                hit = a != b
            elif op == "co":
                hit = b in a
            elif op == "sw":
                hit = a.startswith(b)
            elif op == "ew":
                hit = a.endswith(b)
            else:
                try:
                    hit = a > b if op == "gt" else a >= b if op == "ge" else a < b if op == "lt" else a <= b
                except (TypeError, ValueError, OverflowError):
                    hit = False
        if hit:
            return True
    return False


def _eval(expr: Expr, obj: Mapping[str, Any], parent: Attribute | None) -> bool:
    if isinstance(expr, Compare):
        return _compare(expr, obj, parent)
    if isinstance(expr, And | Or):
        # `a and b and c …` is a left-deep chain; walk it in a loop so a 4096-character filter cannot recurse deeply.
        stop = isinstance(expr, Or)  # Or ends at the first true term, And at the first false one
        rights: list[Expr] = []
        node: Expr = expr
        while isinstance(node, And | Or) and isinstance(node, Or) is stop:
            rights.append(node.right)
            node = node.left
        if _eval(node, obj, parent) is stop:
            return stop
        return any(_eval(right, obj, parent) is stop for right in reversed(rights)) is stop
    if isinstance(expr, Present):
        return any(_present(v) for v in _values(expr.path, obj))
    if isinstance(expr, Not):
        return not _eval(expr.expr, obj, parent)
    definition = definition_of(expr.path, parent)
    for element in _values(expr.path, obj):
        # A bare scalar element (a member id stored as a string) is treated as {"value": element}.
        item = element if isinstance(element, Mapping) else {"value": element}
        if _eval(expr.filter, item, definition):
            return True
    return False


def matches(expr: Expr, resource: Mapping[str, Any]) -> bool:
    """Whether ``resource`` (a whole resource, or one element of a multi-valued attribute) satisfies ``expr``."""
    return _eval(expr, resource, None)
