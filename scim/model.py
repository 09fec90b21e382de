"""The plain data every layer shares: resources, pages, lookups, member changes, directories, roles, clients.

It lives apart from the Store protocol so the pure protocol layer can use these types without
importing anything of the store layer (docs/architecture.md "What may import what").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

NamePolicy = Literal["strict", "normalize", "create"]
RoleMode = Literal["single", "multiple"]
# docs/integration.md "Signed events": queue messages of schema v1, signed SETs to poll (RFC 8936), or both.
EventFormat = Literal["v1", "set", "both"]
IndexedAttribute = Literal["id", "userName", "externalId", "displayName"]
# The attributes a list can be ordered by (RFC 7644 §3.4.2.3); README "Paging and sorting".
SortAttribute = Literal["userName", "displayName", "externalId", "meta.created", "meta.lastModified"]
# A lowercase GUID: the shape of client ids, Entra tenant ids and Entra object ids (compare after lower()).
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Where a cursor page (RFC 9865) resumes: opaque to everyone but the store that made it.
Position = tuple[str, ...]


@dataclass(slots=True)
class Resource:
    """A stored User or Group: SCIM attributes in ``data`` (no id, meta, schemas or members)."""

    id: str
    data: dict[str, Any]
    created: str
    last_modified: str
    version: str = ""
    members: list[str] | None = None  # groups only, and only when asked for


@dataclass(slots=True)
class Page:
    resources: list[Resource]
    total: int


@dataclass(frozen=True, slots=True)
class Sort:
    attribute: SortAttribute
    descending: bool = False


@dataclass(slots=True)
class Slice:
    """One cursor page: resources in order and where the next page starts (None: this is the last page).

    ``starts[i]`` is a position whose page begins with ``resources[i]`` (None only for the first page's first),
    so a caller that returns fewer resources than the store found can still continue exactly after them."""

    resources: list[Resource]
    next: Position | None = None
    starts: list[Position | None] = field(default_factory=list)


@dataclass(slots=True)
class Lookup:
    """An equality the store can answer from an index: userName and displayName compare case-folded."""

    attribute: IndexedAttribute
    value: str


@dataclass(slots=True)
class MemberChange:
    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    remove_all: bool = False

    def __bool__(self) -> bool:
        return bool(self.add or self.remove or self.remove_all)


@dataclass(slots=True)
class Directory:
    id: str
    name_policy: NamePolicy = "strict"
    role_mode: RoleMode = "single"
    # README "externalId": shared by default (Entra maps mailNickname, which it does not keep unique).
    unique_external_id: bool = False
    event_values: bool = False  # change events carry changed attribute values (docs/integration.md)
    event_format: EventFormat = "v1"


@dataclass(frozen=True, slots=True)
class SetEntry:
    """A signed change event in a directory's SET log; ``key`` orders the log (the time it was appended)."""

    key: str
    jti: str
    token: str


@dataclass(slots=True)
class SetPosition:
    """Where a poll client stands in its directory's SET log: every SET up to ``after`` is acknowledged, and so
    are the ``acked`` jtis beyond it (RFC 8936 lets a client acknowledge in any order)."""

    after: str = ""
    acked: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Role:
    value: str
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class Federation:
    """Workload identity federation (RFC 7523): the Entra tenant whose signed assertion stands in for a secret.

    ``issuer`` empty means SCIM_ENTRA_ISSUER_TEMPLATE with the tenant substituted (docs/security.md §2.1)."""

    tenant: str
    audience: str
    subject: str
    issuer: str = ""


@dataclass(slots=True)
class Client:
    """A registered provider; its secret lives in the secret store, never here."""

    id: str
    directory: str
    networks: list[str] = field(default_factory=lambda: ["any"])
    disabled: bool = False
    created: str = ""
    federation: Federation | None = None  # set: the client may authenticate with an Entra client assertion
    read_only: bool = False  # an application reading the directory: GET and /.search only
    # Set: the client accepts Entra's own token (Secret Token left blank) from this tenant only (docs/security.md).
    entra_issued_tenant: str = ""
    # > 0: the scheduled rotation (`scimctl entra rotate-due`, the function app's timer) replaces the credential
    # Entra holds once it is this many days old or expires within that many days; 0: never (docs/security.md §6).
    auto_rotate_days: int = 0


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the client id from the token and the directory it writes into."""

    client_id: str
    directory: Directory
    read_only: bool = False  # a read-only client (docs/integration.md): GET and /.search only


Match = Callable[[Resource], bool]


def effective_roles(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The roles a user holds: its ``roles`` and its ``entitlements`` (the senhasegura mapping), one per value.

    Both attributes are kept as sent (RFC 7643 §4.1.2 defines them apart) and both name catalog roles; SCIM,
    scimctl, the export and the change feed all ask this one function which roles a user holds."""
    kept: dict[str, dict[str, Any]] = {}
    for name in ("roles", "entitlements"):
        held = data.get(name)
        for role in held if isinstance(held, list) else []:
            if isinstance(role, dict) and isinstance(role.get("value"), str) and role["value"]:
                kept.setdefault(role["value"], role)
    return list(kept.values())


def role_values(data: Mapping[str, Any]) -> list[str]:
    """The role values a user holds (effective_roles), sorted."""
    return sorted(role["value"] for role in effective_roles(data))
