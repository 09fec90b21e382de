"""RFC 7644 §3.4.2.2 filters: parse text to an AST and pick a store index; evaluation is in filter_match.

Hand-written tokenizer plus recursive descent (precedence not > and > or); Entra quirks are labelled where accepted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import TypeAlias, cast

from scim.errors import InvalidFilter
from scim.protocol.filter_ast import (
    MAX_CLAUSES,
    MAX_DEPTH,
    MAX_LENGTH,
    OPS,
    ORDERING,
    SUBSTRING,
    And,
    AttrPath,
    Compare,
    Expr,
    Not,
    Op,
    Or,
    Present,
    Value,
    ValuePath,
    definition_of,
    is_core,
)
from scim.protocol.text import has_surrogate

__all__ = ["clause_count", "leaves", "lookup_hint", "membership_hint", "names_groups", "parse_filter"]

_KEYWORDS = frozenset(("and", "or", "not"))  # reserved: never attribute names or bare values
_SPACE = frozenset(" \t\r\n")
_PUNCT = frozenset("()[]")
# Each pattern is a character class or a fixed sequence of them: linear time, no backtracking traps.
_WORD = re.compile(r'[^ \t\r\n()\[\]"]+')
_NAME = re.compile(r"\$?[A-Za-z][A-Za-z0-9_-]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")

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
                if has_surrogate(raw):
                    raise _error(i, "Unicode characters, not a lone UTF-16 surrogate escape", text[i : j + 1])
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
    __slots__ = ("brackets", "clauses", "depth", "i", "text", "tokens")

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0
        self.clauses = 0
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
            self.i = self.clauses = 0
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
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            at = self.tokens[self.i - 1][2]
            raise InvalidFilter(
                f"Invalid filter at position {at + 1}: a filter may hold at most {MAX_CLAUSES} comparisons"
                " (eq, pr, ... clauses); split the query."
            )
        token = self._peek()
        op = token[1].lower() if token is not None and token[0] == "word" else ""
        if op == "pr":
            self.i += 1
            return Present(path)
        if op not in OPS:
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
        if op in SUBSTRING and not isinstance(value, str):
            raise _error(token[2], f"a string value for '{op}'", token[1])
        if op in ORDERING and (isinstance(value, bool) or value is None):
            raise _error(token[2], f"a string, number or date for '{op}', not a boolean or null", token[1])
        definition = None if self.brackets else definition_of(path)
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


def leaves(expr: Expr) -> Iterator[Expr]:
    """The comparisons, ``pr`` tests and value paths under ``expr``'s and/or/not (value paths not entered)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, And | Or):
            stack += (node.left, node.right)
        elif isinstance(node, Not):
            stack.append(node.expr)
        else:
            yield node


def clause_count(expr: Expr) -> int:
    """Comparisons and ``pr`` tests in ``expr``, the unit of the filter budgets (MAX_CLAUSES)."""
    return sum(clause_count(node.filter) if isinstance(node, ValuePath) else 1 for node in leaves(expr))


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
            if name and (node.path.urn is None or is_core(node.path.urn)):
                if isinstance(value, int) and not isinstance(value, bool):
                    value = str(value)  # evaluation matches an unquoted number against its text, so may the index
                if isinstance(value, str):
                    found.setdefault(name, value)
    for name in ("id", "userName", "externalId", "displayName"):
        if name in found:
            return name, found[name]
    return None


def _is_attr(path: AttrPath, attribute: str) -> bool:
    return path.attr.lower() == attribute and (path.urn is None or is_core(path.urn))


def names_groups(expr: Expr) -> bool:
    """Whether the filter compares a User's ``groups`` (RFC 7643 §4.1.2), which only the memberships hold."""
    return any(
        _is_attr(node.path, "groups") for node in leaves(expr) if isinstance(node, Compare | Present | ValuePath)
    )


def membership_hint(expr: Expr, attribute: str = "groups") -> str | None:
    """The id a filter requires a membership of: a group the user belongs to (``groups eq``, ``groups.value eq`` or
    ``groups[value eq …]`` under and; a complex attribute without a sub-attribute means its value), or with
    ``attribute="members"`` a user the group holds."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, And):
            stack += (node.left, node.right)
        elif (
            isinstance(node, Compare)
            and _is_attr(node.path, attribute)
            and (node.path.sub or "value").lower() == "value"
        ):
            if node.op == "eq" and isinstance(node.value, str):
                return node.value
        elif isinstance(node, ValuePath) and _is_attr(node.path, attribute):
            inner = [node.filter]
            while inner:
                part = inner.pop()
                if isinstance(part, And):
                    inner += (part.left, part.right)
                elif (
                    isinstance(part, Compare)
                    and part.op == "eq"
                    and part.path.attr.lower() == "value"
                    and part.path.sub is None
                    and isinstance(part.value, str)
                ):
                    return part.value
    return None
