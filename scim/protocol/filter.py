"""RFC 7644 §3.4.2.2 filters: parse text to an AST, evaluate it against SCIM JSON, and pick a store index.

Hand-written tokenizer plus recursive descent (precedence not > and > or); Entra quirks are labelled where accepted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal, TypeAlias, cast

from scim.errors import InvalidFilter
from scim.protocol.schema import ENTERPRISE_INDEX, ENTERPRISE_SCHEMA, GROUP_INDEX, USER_INDEX, Attribute

MAX_LENGTH = 4096
MAX_DEPTH = 32

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

_OPS: frozenset[str] = frozenset(("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"))
_ORDERING = frozenset(("gt", "ge", "lt", "le"))
_SUBSTRING = frozenset(("co", "sw", "ew"))
_KEYWORDS = frozenset(("and", "or", "not"))  # reserved: never attribute names or bare values
_SPACE = frozenset(" \t\r\n")
_PUNCT = frozenset("()[]")
# Each pattern is a character class or a fixed sequence of them: linear time, no backtracking traps.
_WORD = re.compile(r'[^ \t\r\n()\[\]"]+')
_NAME = re.compile(r"\$?[A-Za-z][A-Za-z0-9_-]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_CORE_PREFIX = "urn:ietf:params:scim:schemas:core:2.0:"

Token: TypeAlias = tuple[str, str, int]  # (kind: "(" ")" "[" "]" "str" "word", text, 0-based offset)


def _error(pos: int, expected: str, found: str | None) -> InvalidFilter:
    shown = "the end of the filter" if found is None else repr(found if len(found) <= 40 else found[:40] + "…")
    return InvalidFilter(f"Invalid filter at position {pos + 1}: expected {expected}, found {shown}.")


def _tokenize(text: str) -> list[Token]:
    """Split ``text`` into punctuation, decoded JSON strings and words (operators, paths, bare values)."""
    tokens: list[Token] = []
    append, word = tokens.append, _WORD.match
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == " " or c in _SPACE:
            i += 1
        elif c == '"':
            j = text.find('"', i + 1)
            while j > 0 and text[j - 1] == "\\":  # skip a quote escaped by an odd number of backslashes
                k = j - 1
                while text[k - 1] == "\\":
                    k -= 1
                if (j - k) % 2 == 0:
                    break
                j = text.find('"', j + 1)
            if j < 0:
                raise _error(n, f"a closing '\"' for the string opened at position {i + 1}", None)
            raw = text[i + 1 : j]
            if "\\" in raw:
                try:
                    raw = json.loads(text[i : j + 1])
                except ValueError:
                    raise _error(i, "a JSON string with valid escapes", text[i : j + 1]) from None
            append(("str", raw, i))
            i = j + 1
        elif c in _PUNCT:
            append((c, c, i))
            i += 1
        else:
            m = word(text, i)
            end = m.end() if m else i + 1
            append(("word", text[i:end], i))
            i = end
    return tokens


@lru_cache(maxsize=256)
def _split_path(word: str) -> AttrPath | None:
    """Split ``[urn:]attr[.sub]`` (None when malformed): the last ``:`` ends the URN, which may hold dots (``2.0``)."""
    urn: str | None = None
    rest = word
    colon = word.rfind(":")
    if colon >= 0:
        urn, rest = word[:colon], word[colon + 1 :]
        if ":" not in urn:
            return None
    attr, dot, sub = rest.partition(".")
    if not _NAME.fullmatch(attr) or (dot and not _NAME.fullmatch(sub)):
        return None
    return AttrPath(urn, attr, sub if dot else None)


def _attr_path(word: str, pos: int) -> AttrPath:
    path = _split_path(word)
    if path is None:
        raise _error(pos, "an attribute path such as userName, name.givenName or urn:…:User:department", word)
    return path


def _literal(token: Token) -> Value:
    kind, text, pos = token
    if kind == "str":
        return text
    if kind != "word":
        raise _error(pos, "a value (a quoted string, number, true, false or null)", text)
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "null":
        return None
    if low in _KEYWORDS:
        raise _error(pos, "a value (a quoted string, number, true, false or null)", text)
    if _NUMBER.fullmatch(text):
        try:
            return float(text) if "." in text or "e" in low else int(text)
        except ValueError:
            raise _error(pos, "a number Python can represent", text) from None
    # Entra quirk: legacy docs send bare words (`externalId eq jyoung`) and the Postman suite bare dates.
    return text


class _Parser:
    __slots__ = ("brackets", "depth", "i", "text", "tokens")

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0
        self.brackets = False

    def _peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _fail(self, expected: str) -> InvalidFilter:
        token = self._peek()
        return _error(len(self.text), expected, None) if token is None else _error(token[2], expected, token[1])

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token is not None and token[0] == "word" and token[1].lower() == word:
            self.i += 1
            return True
        return False

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            token = self.tokens[self.i - 1]
            where = f"Invalid filter at position {token[2] + 1}"
            raise InvalidFilter(f"{where}: nesting (parentheses, not, [ ]) is limited to {MAX_DEPTH} levels.")

    def parse(self) -> Expr:
        tokens = self.tokens
        if not tokens:
            raise _error(0, "a filter expression", None)
        first = tokens[0]
        if (
            len(tokens) == 3
            and first[0] == tokens[1][0] == "word"
            and first[1][0] != "."
            and first[1].lower() not in _KEYWORDS
        ):
            # Fast path for Entra's match query (`userName eq "…"`, one per user): the same calls the descent makes.
            self.i = 1
            expr = self._condition(_attr_path(first[1], first[2]))
            if self.i == 3:
                return expr
            self.i = 0
        expr = self._or()
        if self.i < len(self.tokens):
            raise self._fail("'and', 'or' or the end of the filter")
        return expr

    def _or(self) -> Expr:
        left = self._and()
        while self._keyword("or"):
            left = Or(left, self._and())
        return left

    def _and(self) -> Expr:
        left = self._unary()
        while self._keyword("and"):
            left = And(left, self._unary())
        return left

    def _close(self, kind: str) -> None:
        token = self._peek()
        if token is None or token[0] != kind:
            raise self._fail(f"'{kind}'")
        self.i += 1
        self.depth -= 1

    def _unary(self) -> Expr:
        token = self._peek()
        if token is None:
            raise self._fail("an attribute path, '(' or 'not'")
        if token[0] == "(":
            self.i += 1
            self._enter()
            expr = self._or()
            self._close(")")
            return expr
        if token[0] == "word" and token[1].lower() == "not":
            # RFC 7644 writes `not (filter)`; a bare `not attrExp` is accepted too and binds tighter than and.
            self.i += 1
            self._enter()
            inner = self._unary()
            self.depth -= 1
            return Not(inner)
        return self._term()

    def _term(self) -> Expr:
        token = self._peek()
        if token is None or token[0] != "word" or token[1][0] == "." or token[1].lower() in _KEYWORDS:
            raise self._fail("an attribute path, '(' or 'not'")
        self.i += 1
        path = _attr_path(token[1], token[2])
        nxt = self._peek()
        if nxt is None or nxt[0] != "[":
            return self._condition(path)
        if self.brackets:
            raise self._fail("a comparison (value filters cannot nest, RFC 7644 §3.4.2.2 valFilter)")
        if path.sub is not None:
            raise _error(token[2], "'[' after an attribute without a sub-attribute", token[1])
        self.i += 1
        self._enter()
        self.brackets = True
        inner = self._or()
        self.brackets = False
        self._close("]")
        nxt = self._peek()
        if nxt is not None and nxt[0] == "word" and nxt[1][0] == ".":
            # Entra quirk: `emails[type eq "work"].value eq "x"` compares a sub-attribute of the filtered element.
            self.i += 1
            if not _NAME.fullmatch(nxt[1][1:]):
                raise _error(nxt[2], "a sub-attribute name after ']'", nxt[1])
            inner = And(inner, self._condition(AttrPath(None, nxt[1][1:], None)))
        return ValuePath(path, inner)

    def _condition(self, path: AttrPath) -> Expr:
        token = self._peek()
        op = token[1].lower() if token is not None and token[0] == "word" else ""
        if op == "pr":
            self.i += 1
            return Present(path)
        if op not in _OPS:
            raise self._fail("an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)")
        self.i += 1
        value_token = self._peek()
        if value_token is None:
            raise self._fail("a value (a quoted string, number, true, false or null)")
        value = _literal(value_token)
        self.i += 1
        if op not in ("eq", "ne"):
            self._check_types(path, cast(Token, token), value, value_token)
        return Compare(path, cast(Op, op), value)

    def _check_types(self, path: AttrPath, op_token: Token, value: Value, token: Token) -> None:
        """RFC 7644 §3.4.2.2: co/sw/ew take strings; gt/ge/lt/le reject booleans (and null has no order)."""
        op = op_token[1].lower()
        if op in _SUBSTRING and not isinstance(value, str):
            raise _error(token[2], f"a string value for '{op}'", token[1])
        if op in _ORDERING and (isinstance(value, bool) or value is None):
            raise _error(token[2], f"a string, number or date for '{op}', not a boolean or null", token[1])
        definition = None if self.brackets else _definition(path)
        if definition is not None and definition.type == "boolean":
            raise _error(op_token[2], f"eq, ne or pr for the boolean attribute '{path.attr}'", op_token[1])


@lru_cache(maxsize=1024)
def _parse_cached(text: str) -> Expr:
    return _Parser(text).parse()


def parse_filter(text: str) -> Expr:
    """Parse a URL-decoded filter; InvalidFilter names the 1-based position and what was expected."""
    if not isinstance(text, str):
        raise InvalidFilter("The filter must be a string.")
    if len(text) > MAX_LENGTH:
        raise InvalidFilter(f"The filter is {len(text)} characters long; the limit is {MAX_LENGTH}.")
    return _parse_cached(text)


# Evaluation ----------------------------------------------------------------------------------------------

_MISSING: Any = object()
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


def _is_core(urn: str) -> bool:
    return urn.lower().startswith(_CORE_PREFIX)


def _definition(path: AttrPath, parent: Attribute | None = None) -> Attribute | None:
    """The schema definition of ``path`` (the innermost name), or None when the schema does not know it."""
    if parent is not None:
        found = parent.sub(path.attr)
    elif path.urn is None or _is_core(path.urn):
        found = _TOP.get(path.attr.lower()) or (None if path.urn else ENTERPRISE_INDEX.get(path.attr.lower()))
    else:
        found = _EXTENSIONS.get(path.urn.lower(), {}).get(path.attr.lower())
    if found is not None and path.sub is not None:
        return found.sub(path.sub)
    return found


def _get(obj: Mapping[str, Any], name: str) -> Any:
    """``obj[name]`` with the case-insensitive key match of RFC 7643 §2.1."""
    if name in obj:
        return obj[name]
    folded = name.lower()
    for key, value in obj.items():
        if isinstance(key, str) and key.lower() == folded:
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
    if path.urn is not None and not _is_core(path.urn):
        container = _get(obj, path.urn)
        if not isinstance(container, Mapping):
            return []
    raw = _get(container, path.attr)
    if raw is _MISSING and path.urn is None:
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
        if op in _ORDERING or op in _SUBSTRING:
            raise InvalidFilter(f"Invalid filter: '{op}' cannot be applied to a boolean attribute.")
        a, b = _as_bool(have), _as_bool(want)
        return None if a is None or b is None else (a, b)
    if isinstance(have, str) and isinstance(want, str):
        if dates is not False and op not in _SUBSTRING:
            da, db = _as_datetime(have), _as_datetime(want)
            if da is not None and db is not None:
                return da, db
            if dates:
                return None
        return (have, want) if exact else (have.casefold(), want.casefold())
    if op in _SUBSTRING and isinstance(have, int | float):
        raise InvalidFilter(f"Invalid filter: '{op}' applies to strings, not numbers.")
    if isinstance(have, int | float) and isinstance(want, int | float):
        return have, want
    if isinstance(have, str) and isinstance(want, int) and op in ("eq", "ne"):
        return have, str(want)  # an unquoted numeric id (`externalId eq 12345`) matches its text
    return None


def _compare(node: Compare, obj: Mapping[str, Any], parent: Attribute | None) -> bool:
    definition = _definition(node.path, parent)
    name = (node.path.sub or node.path.attr).lower()
    exact = name == "$ref" or (definition is not None and definition.case_exact)
    dates = None if definition is None else definition.type == "dateTime"
    op, want = node.op, node.value
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
    definition = _definition(expr.path, parent)
    for element in _values(expr.path, obj):
        # A bare scalar element (a member id stored as a string) is treated as {"value": element}.
        item = element if isinstance(element, Mapping) else {"value": element}
        if _eval(expr.filter, item, definition):
            return True
    return False


def matches(expr: Expr, resource: Mapping[str, Any]) -> bool:
    """Whether ``resource`` (a whole resource, or one element of a multi-valued attribute) satisfies ``expr``."""
    return _eval(expr, resource, None)


_HINTS = {"id": "id", "username": "userName", "externalid": "externalId", "displayname": "displayName"}


def lookup_hint(expr: Expr) -> tuple[str, str] | None:
    """An indexed ``eq`` the filter requires, as (attribute, value); id wins, then userName, externalId, displayName."""
    found: dict[str, str] = {}
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, And):
            stack += (node.left, node.right)
        elif isinstance(node, Compare) and node.op == "eq" and node.path.sub is None:
            name = _HINTS.get(node.path.attr.lower())
            value = node.value
            if name and (node.path.urn is None or _is_core(node.path.urn)):
                if isinstance(value, int) and not isinstance(value, bool):
                    value = str(value)  # evaluation matches an unquoted number against its text, so may the index
                if isinstance(value, str):
                    found.setdefault(name, value)
    for name in ("id", "userName", "externalId", "displayName"):
        if name in found:
            return name, found[name]
    return None
