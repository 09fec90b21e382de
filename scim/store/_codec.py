"""Table Storage keys and entity encoding for TableStore: pure functions, no I/O.

Layout of ``{prefix}resources`` (one partition per directory and kind, so a resource and its index
entities commit in one entity-group transaction):

``u|<dir>``  ``id|<id>`` user, ``un|<sha256(caseless_key(userName))>``, ``ux|<sha256(exact_key(externalId))>``
``g|<dir>``  ``id|<id>`` group, ``dn|<sha256(caseless_key(displayName))>``, ``nf|<sha256(name_fold(displayName))>``
             (the folds: scim.protocol.text; ``nf|`` also folds accents and whitespace, for name policies),
             ``m|<group>|<member>`` membership and ``r|<member>|<group>`` its reverse entry,
             ``dl|<group>`` while a deleted group's memberships are still being removed

``{prefix}admin`` holds ``directory``/``client`` rows and ``role|<dir>`` partitions.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from scim.errors import InvalidValue
from scim.model import Resource
from scim.protocol.text import name_fold
from scim.store._common import FOLDED_NAME, caseless_key, exact_key

# Azure limits (learn.microsoft.com "Understanding the Table service data model").
MAX_ID_KEY = 400  # an encoded id; two of them plus separators still fit a membership row key
MAX_CHUNK = 32_000  # characters per string property (64 KiB of UTF-16, kept below 32,767)
MAX_PROPERTIES = 252
MAX_ENTITY_BYTES = 1024 * 1024
BATCH = 100  # operations per entity-group transaction
PAIRS = 50  # membership + reverse entry pairs per transaction

_SAFE = re.compile(r"[A-Za-z0-9._-]+")


def enc(value: str) -> str:
    """Injective key-safe form: plain when only [A-Za-z0-9._-], else '~' + base64url(UTF-8).

    Keys may not hold / \\ # ? or control characters, and % + ' misbehave in URLs.
    """
    if _SAFE.fullmatch(value):
        return value
    return "~" + base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def digest(value: str) -> str:
    """Fixed-length key part for an index value of any length or alphabet."""
    return hashlib.sha256(value.encode()).hexdigest()


def user_pk(directory: str) -> str:
    return f"u|{enc(directory)}"


def group_pk(directory: str) -> str:
    return f"g|{enc(directory)}"


def id_rk(resource_id: str) -> str:
    return f"id|{enc(resource_id)}"


def id_fits(resource_id: str) -> bool:
    """Whether an id can be a key at all; a longer id names nothing that is stored."""
    return len(enc(resource_id)) <= MAX_ID_KEY


def require_id(resource_id: str, what: str) -> None:
    if not resource_id or not id_fits(resource_id):
        raise InvalidValue(f"The {what} id is empty or too long to store.")


ID_LOW, ID_HIGH = "id|", "id}"  # '}' follows '|': the range holds exactly the 'id|' row keys


def user_name_rk(user_name: str) -> str:
    return f"un|{digest(caseless_key(user_name))}"


def external_id_rk(external_id: str) -> str:
    return f"ux|{digest(exact_key(external_id))}"


def display_name_rk(display_name: str) -> str:
    return f"dn|{digest(caseless_key(display_name))}"


def folded_name_rk(display_name: str) -> str:
    return f"nf|{digest(name_fold(display_name))}"


def member_rk(group_id: str, member_id: str) -> str:
    return f"m|{enc(group_id)}|{enc(member_id)}"


def reverse_rk(member_id: str, group_id: str) -> str:
    return f"r|{enc(member_id)}|{enc(group_id)}"


def deleting_rk(group_id: str) -> str:
    return f"dl|{enc(group_id)}"


def members_range(group_id: str) -> tuple[str, str]:
    return f"m|{enc(group_id)}|", f"m|{enc(group_id)}}}"


def reverse_range(member_id: str) -> tuple[str, str]:
    return f"r|{enc(member_id)}|", f"r|{enc(member_id)}}}"


def str_attr(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    return value if isinstance(value, str) else None


def user_index_rks(data: Mapping[str, Any], *, unique_external_id: bool = True) -> dict[str, str]:
    """attribute -> row key of the index entities a user's data needs (externalId only where it is unique)."""
    keys: dict[str, str] = {}
    if (name := str_attr(data, "userName")) is not None:
        keys["userName"] = user_name_rk(name)
    if unique_external_id and (external := str_attr(data, "externalId")) is not None:
        keys["externalId"] = external_id_rk(external)
    return keys


def group_index_rks(data: Mapping[str, Any]) -> dict[str, str]:
    """displayName ignoring case (uniqueness, filters) and ignoring case, accents and whitespace (name policies)."""
    name = str_attr(data, "displayName")
    return {"displayName": display_name_rk(name), FOLDED_NAME: folded_name_rk(name)} if name is not None else {}


def _string_size(value: str) -> int:
    return 4 + len(value.encode("utf-16-le", errors="surrogatepass"))


def entity_size(entity: Mapping[str, Any]) -> int:
    """Bytes Azure counts for an entity (the formula in the Table service data model docs)."""
    size = 4
    for name, value in entity.items():
        if name in ("PartitionKey", "RowKey"):
            size += 2 * len(str(value))
            continue
        size += 8 + 2 * len(name)
        size += _string_size(value) if isinstance(value, str) else 8
    return size


def split_utf16(text: str, limit: int) -> list[str]:
    """Cut text into pieces of at most ``limit`` UTF-16 units (Azure's measure), never inside a character."""
    if len(text) * 2 == len(text.encode("utf-16-le", errors="surrogatepass")):
        return [text[i : i + limit] for i in range(0, len(text), limit)] or [""]
    parts: list[str] = []
    start = units = 0
    for position, char in enumerate(text):
        width = 2 if ord(char) > 0xFFFF else 1
        if units + width > limit:
            parts.append(text[start:position])
            start, units = position, 0
        units += width
    parts.append(text[start:])
    return parts


def resource_entity(pk: str, resource: Resource, *, created: str | None = None) -> dict[str, Any]:
    """A user or group entity: the data as JSON split over d0, d1, ... (each ≤ 32,000 UTF-16 units)."""
    text = json.dumps(resource.data, ensure_ascii=False, separators=(",", ":"))
    parts = split_utf16(text, MAX_CHUNK)
    entity: dict[str, Any] = {
        "PartitionKey": pk,
        "RowKey": id_rk(resource.id),
        "Id": resource.id,
        "Created": created if created is not None else resource.created,
        "LastModified": resource.last_modified,
        "Parts": len(parts),
    }
    entity.update({f"d{i}": part for i, part in enumerate(parts)})
    size = entity_size(entity)
    if len(entity) > MAX_PROPERTIES or size > MAX_ENTITY_BYTES:
        raise InvalidValue(f"The resource is too large to store ({size // 1024} KiB; the limit is 1 MiB).")
    return entity


def resource_from(entity: Mapping[str, Any], etag: str) -> Resource:
    """The Resource an entity holds, versioned by its ETag."""
    text = "".join(str(entity.get(f"d{i}", "")) for i in range(int(entity.get("Parts", 1))))
    data = json.loads(text) if text else {}
    return Resource(
        id=str(entity["Id"]),
        data=data,
        created=str(entity.get("Created", "")),
        last_modified=str(entity.get("LastModified", "")),
        version=etag,
    )


def index_entity(pk: str, rk: str, resource_id: str) -> dict[str, Any]:
    return {"PartitionKey": pk, "RowKey": rk, "Id": resource_id}


def member_entities(
    pk: str, group_id: str, member_id: str, display: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The membership entity and its reverse entry; both always travel in the same transaction.

    The reverse entry also carries the group's displayName (``Display``), so a user's ``groups`` attribute
    (RFC 7643 §4.1.2) is one range query; an entry written before it existed has none."""
    props = {"Group": group_id, "Member": member_id}
    reverse = {"PartitionKey": pk, "RowKey": reverse_rk(member_id, group_id), **props}
    if display is not None:
        reverse["Display"] = display
    return {"PartitionKey": pk, "RowKey": member_rk(group_id, member_id), **props}, reverse
