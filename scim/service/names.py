"""Catalog name matching: Entra group and role names must match what the directory has (DESIGN "Name matching")."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from scim.errors import InvalidValue
from scim.store.base import NamePolicy


def fold(name: str) -> str:
    """Accents and whitespace folded away, case folded: the `normalize` policy's comparison key."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c) and not c.isspace()).casefold()


def broken_rule(name: str) -> str | None:
    """The strict-policy rule a name breaks, in words an admin reads in Entra's provisioning log."""
    if not name.strip():
        return "it is empty"
    if any(c.isspace() for c in name):
        return "it contains spaces"
    if any(unicodedata.combining(c) for c in unicodedata.normalize("NFKD", name)) or not name.isascii():
        return "it contains accents or other non-ASCII characters"
    return None


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a name resolves to: an existing catalog entry, or a new one to create (policy `create`)."""

    name: str
    exists: bool


def resolve(kind: str, name: str, catalog: Iterable[str], policy: NamePolicy) -> Resolution:
    """Match ``name`` against the catalog under ``policy``; InvalidValue names the value, rule and closest entry."""
    names = list(catalog)
    if name in names:
        return Resolution(name, True)
    if policy in ("normalize", "create"):
        key = fold(name)
        for existing in names:
            if fold(existing) == key:
                return Resolution(existing, True)
    if policy == "create":
        return Resolution(name, False)
    rule = broken_rule(name) if policy == "strict" else None
    hint = closest(name, names)
    subject = "user group" if kind == "group" else "role"
    reason = (
        f"it breaks the naming rule ({rule})"
        if rule
        else f"no {subject} with exactly that name exists in this directory"
    )
    suggestion = f" The closest existing {subject} is {hint!r}." if hint else f" This directory has no {subject}s yet."
    fix = (
        f" Rename it in Entra to match an existing {subject} exactly (no spaces, no accents),"
        f" or ask the directory admin to add it with scimctl."
    )
    raise InvalidValue(f"The {subject} {name!r} was refused: {reason}.{suggestion}{fix}")


def closest(name: str, names: list[str]) -> str | None:
    """The existing name most like ``name``, compared on folded forms so accents and spaces don't hide it."""
    if not names:
        return None
    folded = {fold(n): n for n in names}
    match = difflib.get_close_matches(fold(name), list(folded), n=1, cutoff=0.0)
    return folded[match[0]] if match else None
