"""Catalog name matching: Entra's group and role names must match the directory's (README "Group names and roles")."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from scim.errors import NameRefused
from scim.model import NamePolicy
from scim.protocol.text import name_fold


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
    key = name_fold(name)
    folded_match = next((existing for existing in names if name_fold(existing) == key), None)
    decided = decide(name, folded_match, policy)
    if decided is None:
        raise refused(kind, name, names, policy, folded_match)
    return decided


def decide(name: str, folded_match: str | None, policy: NamePolicy) -> Resolution | None:
    """The resolution given the catalog name ``name`` folds to (if any); None when ``policy`` refuses it."""
    if folded_match == name:
        return Resolution(name, True)
    if policy in ("normalize", "create") and folded_match is not None:
        return Resolution(folded_match, True)
    if policy == "create":
        return Resolution(name, False)
    return None


def refused(kind: str, name: str, names: list[str], policy: NamePolicy, folded_match: str | None) -> NameRefused:
    """The error for a name the catalog does not take: its detail for Entra, its reason and value for on-call."""
    return NameRefused(
        refusal(kind, name, names, policy, folded_match),
        kind=kind,
        value=name,
        closest=folded_match or closest(name, names),
        rule_broken=policy == "strict" and broken_rule(name) is not None,
    )


def refusal(kind: str, name: str, names: list[str], policy: NamePolicy, folded_match: str | None = None) -> str:
    """The detail Entra's provisioning log shows: the value, the rule it breaks, a close name if any, and a fix that
    works (scimctl refuses names with spaces or accents, so for those the way out is policy `normalize`)."""
    subject = "user group" if kind == "group" else "role"
    command = "group add" if kind == "group" else "role add"
    rule = broken_rule(name)
    if policy == "strict" and rule:
        reason = f"it breaks the naming rule ({rule})"
    elif policy == "strict":
        reason = f"no {subject} with exactly that name exists in this directory"
    else:
        reason = f"no {subject} matches it, even ignoring case, spaces and accents"
    hint = folded_match or closest(name, names)
    if hint:
        suggestion = f" The closest existing {subject} is {hint!r}."
    elif not names:
        suggestion = f" This directory has no {subject}s yet."
    else:
        suggestion = ""
    bare = plain_form(name)
    if rule == "it is empty":
        fix = f" Give the {subject} a name in Entra."
    elif policy == "strict" and rule and folded_match:
        fix = (
            f" Rename it in Entra to {folded_match!r}, or ask the directory admin to set the directory's policy to"
            f" normalize (scimctl directory set-policy), which matches it to {folded_match!r}."
        )
    elif policy == "strict" and rule and bare:
        fix = (
            f" Rename it in Entra to a name without spaces or accents, or ask the directory admin to add {bare!r}"
            f" (scimctl {command}) and set the directory's policy to normalize (scimctl directory set-policy),"
            f" which matches {name!r} to it."
        )
    elif rule and not bare:
        fix = " Rename it in Entra to a name of letters, digits and dashes that exists in this directory."
    else:
        target = repr(bare) if bare != name else "it"
        fix = (
            f" Rename it in Entra to match an existing {subject}, or ask the directory admin to add {target}"
            f" (scimctl {command})."
        )
    return f"The {subject} {name!r} was refused: {reason}.{suggestion}{fix}"


def plain_form(name: str) -> str:
    """The name without whitespace and accents, case kept: what scimctl accepts and `normalize` folds onto."""
    decomposed = unicodedata.normalize("NFKD", name)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c) and not c.isspace())
    return kept if kept.isascii() else ""


# difflib ratio on folded names; below it the "closest" name is unrelated
# (Marketing vs FinanceTeam is 0.3, SalesTeam vs FinanceTeam 0.6; a typo such as FinanceTeem is 0.9).
CLOSE_ENOUGH = 0.75


def closest(name: str, names: list[str]) -> str | None:
    """The existing name most like ``name`` when one is actually close, compared on folded forms."""
    if not names:
        return None
    folded = {name_fold(n): n for n in names}
    match = difflib.get_close_matches(name_fold(name), list(folded), n=1, cutoff=CLOSE_ENOUGH)
    return folded[match[0]] if match else None
