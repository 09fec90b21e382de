"""Pieces every service module shares: the clock, ids, the caller's directory, and version retries."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from scim.errors import NotFound, PreconditionFailed, Unavailable, VersionMismatch
from scim.model import Resource

T = TypeVar("T")

# PATCH is read-modify-write with a conditional write; concurrent writers retry this often before giving up.
MAX_WRITE_ATTEMPTS = 8


def new_id() -> str:
    return str(uuid.uuid4())


def check_if_match(if_match: str | None, version: str) -> None:
    """RFC 7644 §3.14: a stale If-Match is 412; "*" matches any version."""
    if if_match is None or if_match.strip() == "*":
        return
    wanted = {tag.strip() for tag in if_match.split(",")}
    if version not in wanted:
        raise PreconditionFailed(
            f"The resource is at version {version}, not {if_match.strip()}; read it again and retry."
        )


async def with_retries(attempt: Callable[[], Awaitable[T]], *, conditional: bool) -> T:
    """Run a read-modify-write until its conditional write lands; with If-Match there is no retry."""
    for _ in range(MAX_WRITE_ATTEMPTS if not conditional else 1):
        try:
            return await attempt()
        except VersionMismatch:
            continue
    if conditional:
        raise PreconditionFailed("The resource changed since the version named in If-Match; read it again and retry.")
    raise Unavailable("The resource is being changed by other requests right now; retry the request.", retry_after=1)


async def expected_version(if_match: str | None, read: Callable[[], Awaitable[Resource]]) -> str | None:
    """The version a conditional DELETE must find: None without If-Match (or with "*"), else the current one
    once it matches If-Match (a stale one is 412 here, before anything is removed)."""
    if if_match is None or if_match.strip() == "*":
        return None
    current = await read()
    check_if_match(if_match, current.version)
    return current.version


async def conditional_delete(delete: Callable[[], Awaitable[bool]]) -> bool:
    """Run a store delete; a version that changed since If-Match was checked is 412, nothing removed."""
    try:
        return await delete()
    except VersionMismatch:
        raise PreconditionFailed(
            "The resource changed since the version named in If-Match; read it again and retry."
        ) from None


def not_found(resource_type: str, resource_id: str) -> NotFound:
    return NotFound(f"{resource_type} {resource_id!r} does not exist in this directory.")
