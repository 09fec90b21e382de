"""The filter AST (RFC 7644 §3.4.2.2) and the schema lookups shared by the parser and the evaluator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from scim.protocol.schema import CORE_PREFIX, ENTERPRISE_INDEX, ENTERPRISE_SCHEMA, GROUP_INDEX, USER_INDEX, Attribute

MAX_LENGTH = 4096
MAX_DEPTH = 32
# Comparisons and `pr` tests per filter: each is evaluated against every candidate resource, so the count bounds a
# scan's CPU. Entra sends one (`userName eq "x"`) or two (`id eq "x" and manager eq "y"`), as
# docs/reference/entra-wire.md §1.1 shows.
MAX_CLAUSES = 20

Op: TypeAlias = Literal["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]
Value: TypeAlias = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class AttrPath:
    """``[urn ":"] attr ["." sub]`` with names as written; ``urn`` is None when the path has no schema URN."""

    urn: str | None
    attr: str
    sub: str | None


@dataclass(frozen=True, slots=True)
class Compare:
    path: AttrPath
    op: Op
    value: Value


@dataclass(frozen=True, slots=True)
class Present:
    path: AttrPath


@dataclass(frozen=True, slots=True)
class And:
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Or:
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Not:
    expr: Expr


@dataclass(frozen=True, slots=True)
class ValuePath:
    """``path[filter]``: true when some element of ``path`` satisfies ``filter``.

    Entra quirk: ``emails[type eq "work"].value eq "x"`` parses to
    ``ValuePath(emails, And(<bracket filter>, Compare(AttrPath(None, "value", None), "eq", "x")))``,
    so one element must satisfy both.
    """

    path: AttrPath
    filter: Expr


Expr: TypeAlias = Compare | Present | And | Or | Not | ValuePath

OPS: frozenset[str] = frozenset(("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"))
ORDERING = frozenset(("gt", "ge", "lt", "le"))
SUBSTRING = frozenset(("co", "sw", "ew"))

_META = Attribute(
    "meta",
    "complex",
    sub_attributes=(
        Attribute("version", case_exact=True),  # an ETag: W/"1" and w/"1" differ
        Attribute("created", "dateTime"),
        Attribute("lastModified", "dateTime"),
        Attribute("resourceType"),
        Attribute("location", "reference"),
    ),
)
_TOP: dict[str, Attribute] = {**USER_INDEX, **GROUP_INDEX, "meta": _META}
_EXTENSIONS: dict[str, dict[str, Attribute]] = {ENTERPRISE_SCHEMA.lower(): ENTERPRISE_INDEX}


def is_core(urn: str) -> bool:
    return urn.lower().startswith(CORE_PREFIX)


def definition_of(path: AttrPath, parent: Attribute | None = None) -> Attribute | None:
    """The schema definition of ``path`` (the innermost name), or None when the schema does not know it."""
    if parent is not None:
        found = parent.sub(path.attr)
    elif path.urn is None or is_core(path.urn):
        found = _TOP.get(path.attr.lower()) or (None if path.urn else ENTERPRISE_INDEX.get(path.attr.lower()))
    else:
        found = _EXTENSIONS.get(path.urn.lower(), {}).get(path.attr.lower())
    if found is not None and path.sub is not None:
        return found.sub(path.sub)
    return found
