"""Framework-neutral HTTP edge: Request/Response, body parsing, the auth guard, and errors as SCIM responses.

Every response is made here (docs/architecture.md "Decisions and why"): SCIM JSON bodies,
content types, ETag and Location headers, and the error body for every failure.
"""

from __future__ import annotations

import json
import logging
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scim.errors import (
    InvalidSyntax,
    PayloadTooLarge,
    ScimError,
    StoreUnavailable,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
)
from scim.protocol.schema import ERROR_SCHEMA
from scim.protocol.text import may_hold_surrogate, refuse_surrogates

log = logging.getLogger("scim.http")

SCIM_JSON = "application/scim+json; charset=utf-8"
_JSON_TYPES = ("application/scim+json", "application/json")
MAX_JSON_DEPTH = 32
# No SCIM attribute here is a number this long; Python refuses 4,300 digits with a ValueError (CVE-2020-10735).
MAX_NUMBER_DIGITS = 100
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_INNERMOST = re.compile(rb"\[\]|\{\}")
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))


@dataclass(slots=True)
class Request:
    method: str
    path: str
    route_params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]  # names lower-cased
    body: bytes
    client_address: str

    def param(self, name: str) -> str | None:
        """A query parameter by case-insensitive name (Entra and the Postman suite vary the case)."""
        if name in self.query:
            return self.query[name]
        folded = name.lower()
        return next((v for k, v in self.query.items() if k.lower() == folded), None)


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def scim_response(status: int, doc: Any, *, version: str | None = None, location: str | None = None) -> Response:
    try:
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        # A lone surrogate stored before bodies were checked for them: escaped, so the directory stays readable.
        body = json.dumps(doc, separators=(",", ":")).encode()
    return scim_body(status, body, version=version, location=location)


def scim_body(status: int, body: bytes, *, version: str | None = None, location: str | None = None) -> Response:
    """A SCIM response around a body already serialised (a large group's, written without a dict tree)."""
    headers = {"Content-Type": SCIM_JSON}
    if version:
        headers["ETag"] = version
    if location:
        headers["Location"] = location
    return Response(status, body, headers)


def no_content(*, version: str | None = None) -> Response:
    return Response(204, b"", {"ETag": version} if version else {})


def json_response(status: int, doc: Any, headers: Mapping[str, str] | None = None) -> Response:
    """Plain JSON (the token endpoint and health); never cached, since it may carry a token."""
    base = {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", "Pragma": "no-cache"}
    return Response(status, json.dumps(doc, separators=(",", ":")).encode(), {**base, **(headers or {})})


def error_response(error: ScimError) -> Response:
    """RFC 7644 §3.12 error body; ``status`` is a string there."""
    doc: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(error.status), "detail": error.detail}
    if error.scim_type:
        doc["scimType"] = error.scim_type
    response = scim_response(error.status, doc)
    response.headers.update(error.headers)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="scim"'
    return response


def unexpected_error(exc: BaseException) -> Response:
    """A bug or an unmapped fault: the trace goes to the server log under a reference the caller can quote."""
    if isinstance(exc, StoreUnavailable):
        log.warning("storage unavailable: %s", type(exc).__name__)
        return error_response(Unavailable())
    reference = uuid.uuid4().hex[:12]
    log.error("unhandled error, reference %s", reference, exc_info=exc)
    return error_response(
        ScimError(f"Internal error; quote reference {reference} to the service operator.").with_status(500)
    )


def read_json(request: Request, max_bytes: int) -> Any:
    """The request body as JSON, after the size and content-type checks; SCIM errors say what to fix."""
    if len(request.body) > max_bytes:
        raise PayloadTooLarge(f"The body is {len(request.body)} bytes; the limit is {max_bytes}.")
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type and content_type not in _JSON_TYPES:
        raise UnsupportedMediaType(f"Content-Type {content_type!r} is not accepted; send application/scim+json.")
    if not request.body.strip():
        raise InvalidSyntax("The request body is empty; send a JSON object.")
    try:
        doc = json.loads(request.body, parse_constant=_reject_constant, parse_int=_int, parse_float=_float)
    except UnicodeDecodeError:
        raise InvalidSyntax("The body is not UTF-8 encoded JSON.") from None
    except json.JSONDecodeError as exc:
        raise InvalidSyntax(f"The body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.") from None
    except RecursionError:
        raise InvalidSyntax(f"The body nests deeper than {MAX_JSON_DEPTH} levels.") from None
    if _too_deep(request.body, doc):
        raise InvalidSyntax(f"The body nests deeper than {MAX_JSON_DEPTH} levels.")
    if may_hold_surrogate(request.body):
        refuse_surrogates(doc)  # one check for every string of every body: POST, PUT and PATCH values alike
    return doc


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise InvalidSyntax(f"The body holds a number of {len(text)} digits; the limit is {MAX_NUMBER_DIGITS}.")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidSyntax(f"The body holds the number {text[:20]!r}, which is out of range for a JSON number.")
    return value


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; RFC 8259 §6 does not.
    raise InvalidSyntax(f"The body is not valid JSON: {name} is not a JSON number.")


def _too_deep(body: bytes, doc: Any) -> bool:
    """Whether containers nest past the limit, judged on the bytes: a walk of every node cost half of a
    10,000-member PATCH (bench/bench_hostile.py). Each pass deletes the innermost pairs, one level at a time."""
    if json.detect_encoding(body) != "utf-8":
        return _depth(doc) > MAX_JSON_DEPTH  # UTF-16/32 bodies (RFC 8259 §8.1 allows none; json reads them)
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    for _ in range(MAX_JSON_DEPTH - 1):  # a scalar inside the deepest container is one level more
        if not brackets:
            return False
        brackets = _INNERMOST.sub(b"", brackets)
    return bool(brackets)


def _depth(doc: Any) -> int:
    stack, deepest = [(doc, 1)], 0
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            break
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return deepest


def bearer_token(request: Request) -> str:
    """The token from ``Authorization: Bearer``; Unauthorized names what is wrong with the header."""
    header = request.headers.get("authorization", "")
    if not header:
        raise Unauthorized("Send Authorization: Bearer <token>; get a token from the token endpoint.")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("The Authorization header must use the Bearer scheme.")
    return token.strip()
