"""Errors that know their SCIM meaning (RFC 7644 §3.12); the HTTP edge turns them into responses."""

from __future__ import annotations


class ScimError(Exception):
    """Base of every error a client may see: a status, an optional scimType and a detail."""

    status: int = 400
    scim_type: str | None = None
    default_detail: str = "The request could not be processed."

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None) -> None:
        self.detail = detail or self.default_detail
        self.headers = headers or {}
        super().__init__(self.detail)

    def with_status(self, status: int) -> ScimError:
        """The same error with another status, for the few statuses that have no class of their own."""
        self.status = status
        return self


class InvalidSyntax(ScimError):
    scim_type = "invalidSyntax"
    default_detail = "The request body is not a valid SCIM message."


class InvalidFilter(ScimError):
    scim_type = "invalidFilter"
    default_detail = "The filter is malformed or uses an unsupported operator."


class InvalidPath(ScimError):
    scim_type = "invalidPath"
    default_detail = "The PATCH path is malformed or names an unknown attribute."


class NoTarget(ScimError):
    scim_type = "noTarget"
    default_detail = "The PATCH path matched no value."


class InvalidValue(ScimError):
    scim_type = "invalidValue"
    default_detail = "A value is missing, has the wrong type or breaks a rule."


class NameRefused(InvalidValue):
    """A group or role name that matches no catalog entry; on-call counts these by reason and value."""

    def __init__(self, detail: str, *, kind: str, value: str, closest: str | None, rule_broken: bool) -> None:
        super().__init__(detail)
        self.kind = kind
        self.value = value
        self.closest = closest
        # unknown_group, unknown_role, group_name_rule, role_name_rule: what the health record counts.
        self.reason = f"{kind}_name_rule" if rule_broken else f"unknown_{kind}"


class Mutability(ScimError):
    scim_type = "mutability"
    default_detail = "The attribute cannot be modified."


class TooMany(ScimError):
    scim_type = "tooMany"
    default_detail = "The request asks for more results than the service returns at once."


class InvalidCursor(ScimError):
    scim_type = "invalidCursor"  # RFC 9865 §2.1
    default_detail = (
        "The cursor is not one this service issued for this query, directory and client. Send cursor= (empty) to"
        " start, then each response's nextCursor with the same filter, attributes, sortBy, sortOrder and count."
    )


class ExpiredCursor(ScimError):
    scim_type = "expiredCursor"  # RFC 9865 §2.1
    default_detail = "The cursor has expired; start the walk again with cursor= (empty)."


class InvalidCount(ScimError):
    scim_type = "invalidCount"  # RFC 9865 §2.1
    default_detail = "count must be the one the cursor walk started with."


class Uniqueness(ScimError):
    status = 409
    scim_type = "uniqueness"
    default_detail = "A resource with the same unique attribute already exists."


class Unauthorized(ScimError):
    status = 401
    default_detail = "A valid bearer token is required."


class Forbidden(ScimError):
    status = 403
    default_detail = "The caller is not allowed to do this."


class NotFound(ScimError):
    status = 404
    default_detail = "The resource does not exist."


class MethodNotAllowed(ScimError):
    status = 405
    default_detail = "The method is not supported on this endpoint."


class PreconditionFailed(ScimError):
    status = 412
    default_detail = "The resource changed since the version named in If-Match."


class PayloadTooLarge(ScimError):
    status = 413
    default_detail = "The request body is larger than the service accepts."


class UnsupportedMediaType(ScimError):
    status = 415
    default_detail = "Send application/scim+json or application/json."


class NotImplementedHere(ScimError):
    status = 501
    default_detail = "The service does not implement this endpoint."


class Unavailable(ScimError):
    status = 503
    default_detail = "The directory store is temporarily unavailable; retry after the delay in Retry-After."

    def __init__(self, detail: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class Conflict(Exception):
    """Raised by a store when a unique key is taken; the service turns it into Uniqueness."""

    def __init__(self, attribute: str) -> None:
        self.attribute = attribute
        super().__init__(attribute)


class VersionMismatch(Exception):
    """Raised by a store when a conditional write finds another version."""


class StoreUnavailable(Exception):
    """Raised by a store on throttling, timeouts, 5xx or a refused connection."""


class Unfinished(Exception):
    """Raised by a store when a delete ran out of its time budget after removing the resource; repeating the
    call continues where it stopped (the service answers 503 with Retry-After)."""
