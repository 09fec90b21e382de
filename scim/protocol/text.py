"""Text rules shared by every layer: Unicode scalar values only, and the one comparison form of identifiers.

userName, externalId and group displayName compare in the PRECIS NicknameCasePreserved form of RFC 8266
(through the maintained ``precis-i18n`` library): width and compatibility forms folded (NFKC), leading and
trailing spaces trimmed, inner runs of spaces made one. Except for the caseExact externalId the key is then
case folded (Unicode full case folding, so "Straße" is "STRASSE" as before) and NFKC-normalised again.
Control characters, default-ignorable ones (zero-width space, soft hyphen) and unassigned code points are
refused, so two identifiers that look the same are the same key. The memory store and the Table key codec both call
``identity_key``; changing it changes index keys (README "Hostile input").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import precis_i18n

from scim.errors import InvalidValue

# RFC 8266 §2 without its toLowerCase step: the case fold is Unicode full case folding (str.casefold), the
# rule the stores used before, so existing keys of plain names stay the same.
_NICKNAME = precis_i18n.get_profile("NicknameCasePreserved")
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
# Never part of an enforced PRECIS string, so a refused value's fallback key matches nothing valid.
_REFUSED_KEY = "\x00"


def has_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone UTF-16 surrogate, which is no Unicode scalar value (RFC 8259 §8.2)."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def may_hold_surrogate(raw: bytes) -> bool:
    """A cheap pre-check of a JSON body: surrogates can arrive only as ``\\uD8xx``-``\\uDFxx`` escapes."""
    return _ESCAPED_SURROGATE.search(raw) is not None


def surrogate_at(doc: Any) -> str | None:
    """Where the first lone surrogate of a parsed JSON document is (``emails[0].value``, ``a key of name``)."""
    for where, text, is_key in _strings(doc, ""):
        if has_surrogate(text):
            return f"a key of {where or 'the body'}" if is_key else where or "the body"
    return None


def _strings(node: Any, where: str) -> Iterator[tuple[str, str, bool]]:
    stack = [(node, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            yield path, item, False
        elif isinstance(item, dict):
            for key, value in item.items():
                yield path, key, True
                stack.append((value, f"{path}.{key}" if path else key))
        elif isinstance(item, list):
            stack.extend((value, f"{path}[{i}]") for i, value in enumerate(item))


def refuse_surrogates(doc: Any) -> None:
    """InvalidValue naming the attribute when a parsed document holds a lone surrogate."""
    where = surrogate_at(doc)
    if where is not None:
        raise InvalidValue(
            f"{where} holds a lone UTF-16 surrogate (a \\uD800-\\uDFFF escape without its pair); "
            "send Unicode characters only (RFC 8259 §8.2)."
        )


@lru_cache(maxsize=4096)
def _enforce(value: str, case_exact: bool) -> str:
    if value.isascii() and value.isprintable() and value == value.strip(" ") and "  " not in value and value:
        # Printable ASCII, trimmed, single spaces: the PRECIS form is the value itself (every such code point is
        # PVALID in the FreeformClass and NFKC leaves it alone), so the library's cost is skipped for Entra's UPNs.
        return value if case_exact else value.lower()
    preserved = str(_NICKNAME.enforce(value))
    return preserved if case_exact else unicodedata.normalize("NFKC", preserved.casefold())


def check_identifier(value: str, attribute: str) -> None:
    """InvalidValue naming ``attribute`` and the character when ``value`` cannot be an identifier."""
    try:
        _enforce(value, attribute == "externalId")
    except UnicodeEncodeError as exc:
        if str(exc.reason).endswith("empty"):
            return  # emptiness is the required-attribute rules' to judge (resources.py, the services)
        char = value[exc.start] if exc.start < len(value) else ""
        code = f"U+{ord(char):04X}" if char else "a character"
        reason = str(exc.reason).split("/", 1)[-1].replace("precis_", "").replace("_", " ")
        raise InvalidValue(
            f"{attribute} contains {code} at position {exc.start + 1}, which an identifier may not hold ({reason});"
            " remove control, invisible and unassigned characters (RFC 8266)."
        ) from None


def identity_key(value: str, *, case_exact: bool = False) -> str:
    """The one comparison form of an identifier; a value PRECIS refuses gets a key no valid value has."""
    try:
        return _enforce(value, case_exact)
    except ValueError:  # UnicodeEncodeError is a ValueError: refused values were stored before this rule
        return _REFUSED_KEY + (value if case_exact else value.casefold())


_IDENTIFIERS = {"User": ("userName", "externalId"), "Group": ("displayName", "externalId")}


def check_identifiers(data: Mapping[str, Any], resource_type: str, previous: Mapping[str, Any] | None = None) -> None:
    """Refuse identifiers that are no PRECIS nicknames; values unchanged since ``previous`` were accepted before."""
    for name in _IDENTIFIERS.get(resource_type, ()):
        value = data.get(name)
        if isinstance(value, str) and (previous is None or previous.get(name) != value):
            check_identifier(value, name)


def name_fold(name: str) -> str:
    """Accents and whitespace folded away, case folded: how `normalize` and `create` compare catalog names.

    The Table store keys its folded displayName index by it, so changing it changes those keys (check --repair)."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c) and not c.isspace()).casefold()
