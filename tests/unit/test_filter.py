"""RFC 7644 §3.4.2.2 filters as Entra, Microsoft's Postman suite and the RFC write them."""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import unquote_plus

import pytest

from scim.errors import InvalidFilter
from scim.protocol.filter import lookup_hint, parse_filter
from scim.protocol.filter_ast import (
    MAX_CLAUSES,
    MAX_DEPTH,
    MAX_LENGTH,
    And,
    AttrPath,
    Compare,
    Expr,
    Not,
    Op,
    Or,
    Present,
    ValuePath,
)
from scim.protocol.filter_match import matches
from scim.protocol.schema import ENTERPRISE_SCHEMA, USER_SCHEMA

CUSTOM = "urn:example:params:scim:schemas:extension:acme:1.0:User"


def p(attr: str, sub: str | None = None, urn: str | None = None) -> AttrPath:
    return AttrPath(urn, attr, sub)


# Accepted filters -----------------------------------------------------------------------------------------

# The query strings exactly as PostmanCollection.json sends them; the HTTP layer URL-decodes before parsing.
POSTMAN_QUERIES = {
    "DisplayName+eq+%22BobIsAmazing%22": Compare(p("DisplayName"), "eq", "BobIsAmazing"),
    "meta.Created gt 2015-10-10T14:38:21.8617979-07:00": Compare(
        p("meta", "Created"), "gt", "2015-10-10T14:38:21.8617979-07:00"
    ),
    "name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)": And(
        Compare(p("name", "FamilyName"), "eq", "Employee"),
        Or(Compare(p("emails", "Value"), "co", "example.com"), Compare(p("emails", "Value"), "co", "example.org")),
    ),
    "userName sw O": Compare(p("userName"), "sw", "O"),
}

ENTRA_FILTERS = {
    'userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"': Compare(
        p("userName"), "eq", "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
    ),
    # Observed wire form, then decoded (docs/reference/entra-wire.md §1.1).
    unquote_plus("userName+eq+%22cf4d78e8-cc4f-4d5d-b8b9-183561c0104a%22"): Compare(
        p("userName"), "eq", "cf4d78e8-cc4f-4d5d-b8b9-183561c0104a"
    ),
    unquote_plus("userName%20eq%20%22x%22"): Compare(p("userName"), "eq", "x"),
    "externalId eq jyoung": Compare(p("externalId"), "eq", "jyoung"),
    'externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"': Compare(
        p("externalId"), "eq", "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    ),
    'emails[type eq "work"].value eq "user@contoso.com"': ValuePath(
        p("emails"), And(Compare(p("type"), "eq", "work"), Compare(p("value"), "eq", "user@contoso.com"))
    ),
    "id eq 5d48a0a8e9f04aa38008 and manager eq 7cca31655d49f3640a494224": And(
        Compare(p("id"), "eq", "5d48a0a8e9f04aa38008"), Compare(p("manager"), "eq", "7cca31655d49f3640a494224")
    ),
    'displayName eq "displayName"': Compare(p("displayName"), "eq", "displayName"),
    'members[value eq "2819c223-7f76-453a-919d-413861904646"]': ValuePath(
        p("members"), Compare(p("value"), "eq", "2819c223-7f76-453a-919d-413861904646")
    ),
    'manager[value eq "26118915-6090-4610-87e4-49d8ca9f808d"]': ValuePath(
        p("manager"), Compare(p("value"), "eq", "26118915-6090-4610-87e4-49d8ca9f808d")
    ),
    'emails[type eq "work"]': ValuePath(p("emails"), Compare(p("type"), "eq", "work")),
    'roles[primary eq "True"]': ValuePath(p("roles"), Compare(p("primary"), "eq", "True")),
    f"{ENTERPRISE_SCHEMA}:department eq Sales": Compare(p("department", urn=ENTERPRISE_SCHEMA), "eq", "Sales"),
    f'{ENTERPRISE_SCHEMA}:manager.value eq "m1"': Compare(p("manager", "value", ENTERPRISE_SCHEMA), "eq", "m1"),
    f"{CUSTOM}:badge.level ge 3": Compare(p("badge", "level", CUSTOM), "ge", 3),
    # Case-insensitive operators, keywords and literals (RFC 7644 §3.4.2.2; Validator "different case" tests).
    'DisplayName EQ "x"': Compare(p("DisplayName"), "eq", "x"),
    'userName Eq "x" AND active eQ TRUE': And(Compare(p("userName"), "eq", "x"), Compare(p("active"), "eq", True)),
    "title Pr oR nickName eq NULL": Or(Present(p("title")), Compare(p("nickName"), "eq", None)),
    'NOT (userName eq "x")': Not(Compare(p("userName"), "eq", "x")),
}

RFC_FILTERS = {
    'userName eq "bjensen"': Compare(p("userName"), "eq", "bjensen"),
    'name.familyName co "O\'Malley"': Compare(p("name", "familyName"), "co", "O'Malley"),
    'userName sw "J"': Compare(p("userName"), "sw", "J"),
    f'{USER_SCHEMA}:userName sw "J"': Compare(p("userName", urn=USER_SCHEMA), "sw", "J"),
    "title pr": Present(p("title")),
    'meta.lastModified gt "2011-05-13T04:42:34Z"': Compare(p("meta", "lastModified"), "gt", "2011-05-13T04:42:34Z"),
    'meta.lastModified ge "2011-05-13T04:42:34Z"': Compare(p("meta", "lastModified"), "ge", "2011-05-13T04:42:34Z"),
    'meta.lastModified lt "2011-05-13T04:42:34Z"': Compare(p("meta", "lastModified"), "lt", "2011-05-13T04:42:34Z"),
    'meta.lastModified le "2011-05-13T04:42:34Z"': Compare(p("meta", "lastModified"), "le", "2011-05-13T04:42:34Z"),
    'title pr and userType eq "Employee"': And(Present(p("title")), Compare(p("userType"), "eq", "Employee")),
    'title pr or userType eq "Intern"': Or(Present(p("title")), Compare(p("userType"), "eq", "Intern")),
    f'schemas eq "{ENTERPRISE_SCHEMA}"': Compare(p("schemas"), "eq", ENTERPRISE_SCHEMA),
    'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")': And(
        Compare(p("userType"), "eq", "Employee"),
        Or(Compare(p("emails"), "co", "example.com"), Compare(p("emails", "value"), "co", "example.org")),
    ),
    'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")': And(
        Compare(p("userType"), "ne", "Employee"),
        Not(Or(Compare(p("emails"), "co", "example.com"), Compare(p("emails", "value"), "co", "example.org"))),
    ),
    'userType eq "Employee" and (emails.type eq "work")': And(
        Compare(p("userType"), "eq", "Employee"), Compare(p("emails", "type"), "eq", "work")
    ),
    'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]': And(
        Compare(p("userType"), "eq", "Employee"),
        ValuePath(p("emails"), And(Compare(p("type"), "eq", "work"), Compare(p("value"), "co", "@example.com"))),
    ),
    'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]': Or(
        ValuePath(p("emails"), And(Compare(p("type"), "eq", "work"), Compare(p("value"), "co", "@example.com"))),
        ValuePath(p("ims"), And(Compare(p("type"), "eq", "xmpp"), Compare(p("value"), "co", "@foo.com"))),
    ),
}

GRAMMAR_FILTERS = {
    # Precedence: not > and > or; and/or associate to the left.
    "a pr or b pr and c pr": Or(Present(p("a")), And(Present(p("b")), Present(p("c")))),
    "a pr and b pr or c pr": Or(And(Present(p("a")), Present(p("b"))), Present(p("c"))),
    "not a pr and b pr": And(Not(Present(p("a"))), Present(p("b"))),
    "a pr or b pr or c pr": Or(Or(Present(p("a")), Present(p("b"))), Present(p("c"))),
    "(a pr or b pr) and c pr": And(Or(Present(p("a")), Present(p("b"))), Present(p("c"))),
    "not(a pr)": Not(Present(p("a"))),
    "not a pr": Not(Present(p("a"))),  # three tokens, like Entra's query, but not a comparison
    "not not (a pr)": Not(Not(Present(p("a")))),
    ' \t( ( a eq "x" ) )\n': Compare(p("a"), "eq", "x"),
    # Values: JSON escapes, numbers, literals.
    r'a eq "q\"uote\\back\u00e9\n"': Compare(p("a"), "eq", 'q"uote\\backé\n'),
    'a eq "(not) [and] or"': Compare(p("a"), "eq", "(not) [and] or"),
    'a eq ""': Compare(p("a"), "eq", ""),
    "a eq 0": Compare(p("a"), "eq", 0),
    "a gt -12": Compare(p("a"), "gt", -12),
    "a lt 1.5e3": Compare(p("a"), "lt", 1500.0),
    "a eq false": Compare(p("a"), "eq", False),
    "a ne null": Compare(p("a"), "ne", None),
    "a eq 007": Compare(p("a"), "eq", "007"),  # not a JSON number: a legacy bare word
    'members[$ref ew "/Users/1"]': ValuePath(p("members"), Compare(p("$ref"), "ew", "/Users/1")),
    'emails[type eq "work"].value pr': ValuePath(
        p("emails"), And(Compare(p("type"), "eq", "work"), Present(p("value")))
    ),
    f'{ENTERPRISE_SCHEMA}:manager[value eq "m"]': ValuePath(
        p("manager", urn=ENTERPRISE_SCHEMA), Compare(p("value"), "eq", "m")
    ),
    'emails[not (type eq "work")]': ValuePath(p("emails"), Not(Compare(p("type"), "eq", "work"))),
}

ACCEPTED = {
    **{unquote_plus(k): v for k, v in POSTMAN_QUERIES.items()},
    **ENTRA_FILTERS,
    **RFC_FILTERS,
    **GRAMMAR_FILTERS,
}


@pytest.mark.parametrize(("text", "expected"), ACCEPTED.items(), ids=list(ACCEPTED))
def test_accepted_filters_parse_to_the_expected_tree(text: str, expected: Expr) -> None:
    assert parse_filter(text) == expected


def test_parsed_filters_are_cached() -> None:
    text = 'userName eq "cached-shape"'
    assert parse_filter(text) is parse_filter(text)


# Evaluation -----------------------------------------------------------------------------------------------

MANAGER_ID = "26118915-6090-4610-87e4-49d8ca9f808d"
USER: dict[str, Any] = {
    "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
    "id": "48af03ac28ad4fb88478",
    "externalId": "0a21f0f2-8D2A",
    "userName": "Test_User_00aa",
    "displayName": "BobIsAmazing",
    "active": True,
    "title": "",
    "nickName": None,
    "name": {"familyName": "Employee", "givenName": "Bob"},
    "emails": [
        {"type": "work", "value": "bob@example.com", "primary": True},
        {"type": "home", "value": "bob@home.org", "primary": False},
    ],
    "roles": [{"value": "Admin", "primary": True}],
    "entitlements": [{"value": "Reader", "primary": "True"}],
    "phoneNumbers": [],
    "meta": {
        "resourceType": "User",
        "created": "2018-03-27T19:59:26.000Z",
        "lastModified": "2018-03-28T10:00:00Z",
        "version": 'W/"abc"',
    },
    ENTERPRISE_SCHEMA: {
        "department": "Sales",
        "employeeNumber": "701984",
        "manager": {"value": MANAGER_ID, "$ref": "../Users/Abc", "displayName": "John Smith"},
    },
    CUSTOM: {"badge": {"level": 3}, "tags": ["a", "B"], "flag": True},
}
GROUP: dict[str, Any] = {
    "id": "g1",
    "displayName": "Sales Team",
    "members": [{"value": "u1", "display": "Ann"}, {"value": "u2"}],
}

EVALUATIONS = [
    # Case rules: names always, values unless the attribute is caseExact (id, externalId, $ref, meta.version).
    ('userName eq "test_user_00AA"', USER, True),
    ('USERNAME Eq "Test_User_00aa"', USER, True),
    ('displayName eq "bobisamazing"', USER, True),
    ('DisplayName eq "BobIsAmazing"', USER, True),
    ('id eq "48af03ac28ad4fb88478"', USER, True),
    ('id eq "48AF03AC28AD4FB88478"', USER, False),
    ('externalId eq "0a21f0f2-8D2A"', USER, True),
    ('externalId eq "0a21f0f2-8d2a"', USER, False),
    ('externalId sw "0A21"', USER, False),
    ('meta.version eq "W/\\"abc\\""', USER, True),
    ('meta.version eq "W/\\"ABC\\""', USER, False),
    (f'{ENTERPRISE_SCHEMA}:manager.$ref eq "../Users/Abc"', USER, True),
    (f'{ENTERPRISE_SCHEMA}:manager.$ref eq "../users/abc"', USER, False),
    ('userName sw "TEST"', USER, True),
    ('userName ew "00AA"', USER, True),
    ('userName co "USER"', USER, True),
    ('userName co "nope"', USER, False),
    # Multi-valued attributes: any element; a complex value without a sub-attribute compares "value".
    ('emails.value co "home.org"', USER, True),
    ('emails.value co "example.org"', USER, False),
    ('emails co "example.com"', USER, True),
    ('emails.type eq "work"', USER, True),
    ('emails.type ne "work"', USER, True),
    ('schemas eq "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER"', USER, True),
    ('members eq "u2"', GROUP, True),
    ('members eq "u3"', GROUP, False),
    ('members[value eq "u1"]', GROUP, True),
    ('members[value eq "u3"]', GROUP, False),
    ('displayName eq "sales team"', GROUP, True),
    # Value paths: one element must satisfy the whole bracket (and the Entra `.value` comparison).
    ('emails[type eq "work"].value eq "BOB@example.com"', USER, True),
    ('emails[type eq "home"].value eq "bob@example.com"', USER, False),
    ('emails[type eq "work" and primary eq true]', USER, True),
    ('emails[type eq "home" and primary eq true]', USER, False),
    ('emails[type eq "work"].value pr', USER, True),
    ('emails[not (type eq "work")].value ew "home.org"', USER, True),
    ('emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]', USER, True),
    ('phoneNumbers[type eq "work"]', USER, False),
    ('name[givenName eq "bob"]', USER, True),
    # Booleans: JSON booleans or Entra's "True"/"False" strings on either side.
    ('roles[primary eq "True"]', USER, True),
    ('roles[primary eq "false"]', USER, False),
    ("entitlements[primary eq true]", USER, True),
    ("active eq true", USER, True),
    ('active eq "true"', USER, True),
    ("active eq false", USER, False),
    ("active ne false", USER, True),
    ('active eq "yes"', USER, False),
    # Extension URNs, unqualified extension names and the manager shapes Entra checks.
    (f'{USER_SCHEMA}:userName eq "test_user_00aa"', USER, True),
    (f'{ENTERPRISE_SCHEMA}:department eq "sales"', USER, True),
    (f"{ENTERPRISE_SCHEMA}:employeeNumber eq 701984", USER, True),
    (f'{ENTERPRISE_SCHEMA}:manager eq "{MANAGER_ID}"', USER, True),
    (f'{ENTERPRISE_SCHEMA}:manager.value eq "{MANAGER_ID}"', USER, True),
    # Manager and member references are ids, so they compare case-exactly like id (schema.py).
    (f'{ENTERPRISE_SCHEMA}:manager.value eq "{MANAGER_ID.upper()}"', USER, False),
    (f'{ENTERPRISE_SCHEMA}:manager.displayName sw "john"', USER, True),
    (f'{ENTERPRISE_SCHEMA.upper()}:DEPARTMENT eq "Sales"', USER, True),
    (f"id eq 48af03ac28ad4fb88478 and manager eq {MANAGER_ID}", USER, True),
    ('id eq 48af03ac28ad4fb88478 and manager eq "someone-else"', USER, False),
    (f'manager[value eq "{MANAGER_ID}"]', USER, True),
    ('department eq "Sales"', USER, True),
    (f"{CUSTOM}:badge.level gt 2", USER, True),
    (f"{CUSTOM}:badge.level eq 3.0", USER, True),
    (f"{CUSTOM}:badge.level lt 3", USER, False),
    (f'{CUSTOM}:tags eq "b"', USER, True),
    (f'{CUSTOM}:badge.level eq "3"', USER, False),
    # dateTime values compare as instants, whatever the offset or precision.
    ('meta.lastModified gt "2011-05-13T04:42:34Z"', USER, True),
    ('meta.lastModified lt "2011-05-13T04:42:34Z"', USER, False),
    ('meta.created eq "2018-03-27T19:59:26Z"', USER, True),
    ('meta.created lt "2018-03-27T12:59:26-07:00"', USER, False),
    ('meta.created le "2018-03-27T12:59:26-07:00"', USER, True),
    ('meta.created ge "2018-03-27T19:59:26"', USER, True),
    ("meta.Created gt 2015-10-10T14:38:21.8617979-07:00", USER, True),
    ("meta.Created gt 2018-03-27T12:59:26.0000001-07:00", USER, False),
    ('meta.created sw "2018-03"', USER, True),
    ('meta.lastModified gt "0"', USER, False),  # a dateTime attribute never matches a non-date
    ('meta.lastModified ne "0"', USER, True),
    (f'{CUSTOM}:since lt "2020-01-01"', {CUSTOM: {"since": "2019-12-31T23:00:00-02:00"}}, False),
    (f'{CUSTOM}:since lt "2020-01-01"', {CUSTOM: {"since": "2019-12-31T21:59:59-02:00"}}, True),
    (f'{CUSTOM}:code gt "0"', {CUSTOM: {"code": "A1"}}, True),  # unknown attribute, not a date: string order
    ('userName eq "2018-03-27T19:59:26Z"', {"userName": "2018-03-27T19:59:26.000Z"}, False),  # schema string
    # pr is false for missing, null, "" and [].
    ("title pr", USER, False),
    ("nickName pr", USER, False),
    ("phoneNumbers pr", USER, False),
    ("missing pr", USER, False),
    ("emails pr", USER, True),
    ("name.givenName pr", USER, True),
    ("not (title pr)", USER, True),
    # null, ne and missing attributes.
    ("nickName eq null", USER, True),
    ("missing eq null", USER, True),
    ("userName eq null", USER, False),
    ("userName ne null", USER, True),
    ('missing ne "x"', USER, True),
    ('missing eq "x"', USER, False),
    ('missing gt "x"', USER, False),
    ('title ne "x"', USER, True),
    ('userName ne "TEST_USER_00AA"', USER, False),
    # not, and, or with RFC precedence.
    ('not (userName eq "x")', USER, True),
    ('not userName eq "test_user_00aa" and active eq true', USER, False),
    ('displayName eq "BobIsAmazing" or userName eq "nope" and active eq false', USER, True),
    ('(displayName eq "BobIsAmazing" or userName eq "nope") and active eq false', USER, False),
    ("name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)", USER, True),
    ('userType eq "Employee" and (emails.type eq "work")', USER, False),
    # Postman's capitalised attribute and bare value.
    ('DisplayName eq "BobIsAmazing"', USER, True),
    ("userName sw O", USER, False),
    ("userName sw t", USER, True),
    # Elements of a multi-valued attribute, as the PATCH code evaluates value filters.
    ('type eq "work"', {"type": "Work", "value": "x"}, True),
    ('value eq "u1"', {"value": "u1"}, True),
    ('type eq "work" and primary eq true', {"type": "work", "primary": "True"}, True),
]


@pytest.mark.parametrize(("text", "resource", "expected"), EVALUATIONS, ids=[e[0] for e in EVALUATIONS])
def test_matches(text: str, resource: dict[str, Any], expected: bool) -> None:
    assert matches(parse_filter(text), resource) is expected


def test_bare_scalar_elements_are_compared_as_their_value() -> None:
    assert matches(parse_filter('members[value eq "u1"]'), {"members": ["u1", "u2"]})
    assert not matches(parse_filter('members[value eq "u3"]'), {"members": ["u1", "u2"]})


def test_a_long_and_chain_evaluates_without_deep_recursion() -> None:
    text = " and ".join(["id pr"] * (MAX_CLAUSES - 1)) + ' and userName eq "nope"'
    assert matches(parse_filter(text), USER) is False
    assert matches(parse_filter(text.replace(" and ", " or ")), USER) is True


@pytest.mark.parametrize("joiner", [" and ", " or "])
def test_a_filter_past_the_clause_budget_is_refused_naming_it(joiner: str) -> None:
    """511 `pr or` clauses took 2.2 s over a directory; each clause costs a pass over every candidate."""
    text = joiner.join(["userName pr"] * (MAX_CLAUSES + 1))
    assert len(text) <= MAX_LENGTH
    with pytest.raises(InvalidFilter, match=f"at most {MAX_CLAUSES} comparisons"):
        parse_filter(text)
    with pytest.raises(InvalidFilter, match=f"at most {MAX_CLAUSES} comparisons"):
        parse_filter(" or ".join(['members[value eq "x"]'] * (MAX_CLAUSES + 1)))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (f"{CUSTOM}:flag gt 1", "'gt' cannot be applied to a boolean"),
        (f'{CUSTOM}:flag co "t"', "'co' cannot be applied to a boolean"),
        (f'{CUSTOM}:badge.level co "3"', "'co' applies to strings, not numbers"),
        ('emails[primary sw "t"]', "'sw' cannot be applied to a boolean"),
    ],
)
def test_operators_that_do_not_fit_the_stored_type_are_invalid(text: str, fragment: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        matches(parse_filter(text), USER)
    assert fragment in caught.value.detail


# Rejected filters -----------------------------------------------------------------------------------------

REJECTED = [
    ("", "position 1: expected a filter expression, found the end of the filter"),
    ("   ", "expected a filter expression"),
    ("userName", "position 9: expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)"),
    ("userName eq", "position 12: expected a value"),
    ('userName xx "x"', "position 10: expected an operator"),
    ('userName eq "x" foo', "position 17: expected 'and', 'or' or the end of the filter, found 'foo'"),
    ('userName eq "x")', "position 16: expected 'and', 'or' or the end of the filter, found ')'"),
    ('(userName eq "x"', "expected ')', found the end of the filter"),
    ('userName eq "x" and', "expected an attribute path, '(' or 'not', found the end of the filter"),
    ('userName eq "x" or or a pr', "position 20: expected an attribute path"),
    ("not", "expected an attribute path, '(' or 'not'"),
    ("a pr and", "position 9: expected an attribute path, '(' or 'not', found the end of the filter"),
    ("a pr b", "position 6: expected 'and', 'or' or the end of the filter, found 'b'"),
    ('and eq "x"', "position 1: expected an attribute path, '(' or 'not', found 'and'"),
    ("()", "position 2: expected an attribute path, '(' or 'not', found ')'"),
    ("[a pr]", "position 1: expected an attribute path"),
    ("userName eq and", "position 13: expected a value"),
    ("userName eq (x)", "expected a value"),
    ('emails[type eq "work"', "expected ']', found the end of the filter"),
    ('emails[type eq "work"]]', "expected 'and', 'or' or the end of the filter, found ']'"),
    ('emails[type[value eq "x"] eq "y"]', "value filters cannot nest"),
    ('name.givenName[value eq "x"]', "'[' after an attribute without a sub-attribute"),
    ('emails[type eq "work"].value', "expected an operator"),
    ('emails[type eq "work"]. eq "x"', "a sub-attribute name after ']'"),
    ('emails[type eq "work"].a.b eq "x"', "a sub-attribute name after ']'"),
    ('.value eq "x"', "position 1: expected an attribute path"),
    ('userName eq "abc', "a closing '\"' for the string opened at position 13"),
    ('userName eq "abc\\"', "a closing '\"'"),
    ('userName eq "\\x"', "a JSON string with valid escapes"),
    ('userName eq "\\u12"', "a JSON string with valid escapes"),
    ('a.b.c eq "x"', "expected an attribute path"),
    ('1abc eq "x"', "expected an attribute path"),
    ('emails:value eq "x"', "expected an attribute path"),
    (f'{ENTERPRISE_SCHEMA}:manager.value.x eq "x"', "expected an attribute path"),
    ('user*Name eq "x"', "expected an attribute path"),
    ("userName co 1", "expected a string value for 'co'"),
    ("userName sw true", "expected a string value for 'sw'"),
    ("userName ew null", "expected a string value for 'ew'"),
    ("userName gt true", "not a boolean or null"),
    ("userName lt NULL", "not a boolean or null"),
    ("active gt 1", "position 8: expected eq, ne or pr for the boolean attribute 'active', found 'gt'"),
    ('emails.primary co "t"', "for the boolean attribute"),
    ("(" * (MAX_DEPTH + 1) + "a pr" + ")" * (MAX_DEPTH + 1), f"limited to {MAX_DEPTH} levels"),
    ("not " * (MAX_DEPTH + 1) + "a pr", f"limited to {MAX_DEPTH} levels"),
    ("a eq " + '"' + "x" * MAX_LENGTH + '"', f"the limit is {MAX_LENGTH}"),
]


@pytest.mark.parametrize(("text", "fragment"), REJECTED, ids=[r[0][:60] for r in REJECTED])
def test_rejected_filters_say_where_and_what_was_expected(text: str, fragment: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        parse_filter(text)
    assert fragment in caught.value.detail
    assert caught.value.status == 400
    assert caught.value.scim_type == "invalidFilter"


def test_limits_are_inclusive() -> None:
    nested = "(" * MAX_DEPTH + "a pr" + ")" * MAX_DEPTH
    assert parse_filter(nested) == Present(p("a"))
    longest = "a eq " + '"' + "x" * (MAX_LENGTH - 7) + '"'
    assert len(longest) == MAX_LENGTH
    assert parse_filter(longest) == Compare(p("a"), "eq", "x" * (MAX_LENGTH - 7))


def test_a_non_string_filter_is_invalid() -> None:
    with pytest.raises(InvalidFilter, match="must be a string"):
        parse_filter(None)  # type: ignore[arg-type]


# Index hints ----------------------------------------------------------------------------------------------

HINTS: list[tuple[str, tuple[str, str] | None]] = [
    ('userName eq "x"', ("userName", "x")),
    ('USERNAME EQ "X"', ("userName", "X")),
    ("externalId eq jyoung", ("externalId", "jyoung")),
    ("externalId eq 12345", ("externalId", "12345")),
    ('displayName eq "Sales"', ("displayName", "Sales")),
    ('id eq "a" and manager eq "m"', ("id", "a")),
    ('manager eq "m" and id eq "a"', ("id", "a")),
    ('userName eq "u" and id eq "i"', ("id", "i")),
    ('active eq true and userName eq "x"', ("userName", "x")),
    ('displayName eq "d" and (externalId eq "e" and userName eq "u")', ("userName", "u")),
    (f'{USER_SCHEMA}:userName eq "x"', ("userName", "x")),
    ('urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "g"', ("displayName", "g")),
    (f'{ENTERPRISE_SCHEMA}:userName eq "x"', None),
    ('userName ne "x"', None),
    ('userName eq "x" or id eq "y"', None),
    ('not (userName eq "x")', None),
    ('emails[type eq "work"].value eq "x"', None),
    ('name.userName eq "x"', None),
    ("userName eq true", None),
    ("userName eq null", None),
    ("userName eq 1.5", None),
    ("userName pr", None),
    ('title eq "x"', None),
]


@pytest.mark.parametrize(("text", "expected"), HINTS, ids=[h[0] for h in HINTS])
def test_lookup_hint(text: str, expected: tuple[str, str] | None) -> None:
    assert lookup_hint(parse_filter(text)) == expected


# Property-style fuzzing -----------------------------------------------------------------------------------

_PIECES = [
    "userName", "emails", "name.givenName", "meta.created", "active", "members", ENTERPRISE_SCHEMA + ":manager",
    "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "and", "or", "not", "AND", "Or", "NOT",
    "(", ")", "[", "]", "].value", '"x"', '"a\\"b"', '"\\u00e9"', '"\\q"', '"', "\\", "true", "False", "null",
    "1", "-2.5e3", "007", "2015-10-10T14:38:21Z", ".", ":", "$ref", "é", "\x00", "\t", " ", "  ",
]  # fmt: skip


def _check(text: str) -> None:
    """Parsing and evaluating arbitrary text either works or raises InvalidFilter, never anything else."""
    try:
        expr = parse_filter(text)
    except InvalidFilter:
        return
    result = None
    try:
        result = matches(expr, USER)
    except InvalidFilter:
        return
    assert isinstance(result, bool)
    hint = lookup_hint(expr)
    assert hint is None or all(isinstance(part, str) for part in hint)


def test_fuzz_random_characters_only_raise_invalid_filter() -> None:
    rng = random.Random(7644)
    alphabet = 'abcdeqnotrpsw ()[]".:\\-_$0129eE+\t\n\u00e9\u2028'
    for _ in range(3000):
        _check("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))))


def test_fuzz_random_token_soup_only_raises_invalid_filter() -> None:
    rng = random.Random(7643)
    for _ in range(4000):
        _check(" ".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 12))))


def test_fuzz_mutated_valid_filters_only_raise_invalid_filter() -> None:
    rng = random.Random(2119)
    seeds = list(ACCEPTED)
    for _ in range(4000):
        chars = list(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            where = rng.randrange(len(chars) + 1)
            action = rng.random()
            if action < 0.4 and where < len(chars):
                del chars[where]
            elif action < 0.8:
                chars.insert(where, rng.choice('()[]" \\.:aq'))
            else:
                chars[where:where] = chars[: rng.randint(0, 10)]
        _check("".join(chars))


def _render(expr: Expr, rng: random.Random) -> str:
    """Text for ``expr`` with only the parentheses precedence needs, in random letter case."""
    if isinstance(expr, Present | Compare):
        path = expr.path.attr + (f".{expr.path.sub}" if expr.path.sub else "")
        if isinstance(expr, Present):
            return f"{path} {rng.choice(['pr', 'PR', 'Pr'])}"
        value = expr.value
        shown = "null" if value is None else str(value).lower() if isinstance(value, bool) else repr(value)
        if isinstance(value, str):
            shown = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{path} {rng.choice([expr.op, expr.op.upper()])} {shown}"
    if isinstance(expr, Not):
        return f"not ({_render(expr.expr, rng)})"
    if isinstance(expr, ValuePath):
        return f"{expr.path.attr}[{_render(expr.filter, rng)}]"
    left, right = _render(expr.left, rng), _render(expr.right, rng)
    if isinstance(expr, And):
        left = f"({left})" if isinstance(expr.left, Or) else left
        right = f"({right})" if isinstance(expr.right, And | Or) else right
        return f"{left} {rng.choice(['and', 'AND'])} {right}"
    right = f"({right})" if isinstance(expr.right, Or) else right
    return f"{left} {rng.choice(['or', 'Or'])} {right}"


def _random_expr(rng: random.Random, depth: int, in_brackets: bool = False) -> Expr:
    choice = rng.randrange(6 if depth > 0 else 2)
    path = AttrPath(None, rng.choice(["userName", "title", "emails", "x-y_1"]), rng.choice([None, "value"]))
    if choice == 0:
        return Present(path)
    if choice == 1:
        ops: list[Op] = ["eq", "ne", "gt", "ge", "lt", "le", "co", "sw", "ew"]
        op = rng.choice(ops)
        values: list[Any] = ['q"\\é', "", "plain", 3, -1.25]
        if op in ("eq", "ne"):
            values += [True, False, None]
        value = rng.choice([v for v in values if isinstance(v, str)] if op in ("co", "sw", "ew") else values)
        return Compare(path, op, value)
    if choice == 2:
        return And(_random_expr(rng, depth - 1, in_brackets), _random_expr(rng, depth - 1, in_brackets))
    if choice == 3:
        return Or(_random_expr(rng, depth - 1, in_brackets), _random_expr(rng, depth - 1, in_brackets))
    if choice == 4 or in_brackets:
        return Not(_random_expr(rng, depth - 1, in_brackets))
    return ValuePath(AttrPath(None, "emails", None), _random_expr(rng, depth - 1, True))


def test_rendered_random_trees_parse_back_to_themselves() -> None:
    rng = random.Random(3422)
    for _ in range(1500):
        expr = _random_expr(rng, 4)
        text = _render(expr, rng)
        assert parse_filter(text) == expr, text
