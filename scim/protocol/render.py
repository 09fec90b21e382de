"""Resource → SCIM JSON: schemas, meta, members, and the attributes/excludedAttributes projection (RFC 7644 §3.9)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

from scim.errors import InvalidValue
from scim.model import Resource
from scim.protocol.schema import ENTERPRISE_SCHEMA, GROUP_SCHEMA, LIST_RESPONSE, USER_SCHEMA

# RFC 7643 §7 "returned: always" plus what every Entra response needs (docs/reference/entra-wire.md §1.0).
_ALWAYS = frozenset({"id", "schemas", "meta"})
# Paths per attributes/excludedAttributes parameter: projecting costs paths times attributes per resource. The schemas
# hold about 60 attribute paths; Entra sends one (`excludedAttributes=members`, `attributes=id`).
MAX_PROJECTION_PATHS = 100


# Attributes the service owns: stored data never overrides them, whatever an import or an older write left there.
_SERVICE_OWNED = frozenset({"id", "meta", "schemas", "groups", "members", "password"})


def stored_attributes(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The stored attributes a resource is rendered with, and what was left out and why (``scimctl check``).

    A value of a shape no SCIM write stores (an extension that is no object, a manager without a string id) is
    left out rather than failing the whole list it appears in."""
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    for key, value in data.items():
        if key.lower() in _SERVICE_OWNED:
            dropped.append(f"{key} (the service's own attribute)")
        elif key.startswith("urn:") and not isinstance(value, dict):
            dropped.append(f"{key} (an extension must be an object, not {type(value).__name__})")
        else:
            kept[key] = value
    extension = kept.get(ENTERPRISE_SCHEMA)
    if extension is not None and "manager" in extension:
        manager = extension["manager"]
        if not isinstance(manager, dict) or not isinstance(manager.get("value"), str):
            kept[ENTERPRISE_SCHEMA] = {k: v for k, v in extension.items() if k != "manager"}
            dropped.append(f"{ENTERPRISE_SCHEMA}:manager (must be an object with a string value)")
    return kept, dropped


def render_user(
    user: Resource, base_url: str, groups: list[tuple[str, str]] | None = None, *, manager_ref: bool = True
) -> dict[str, Any]:
    """A stored user as the SCIM User JSON Entra reads back; ``groups`` are (id, displayName) pairs.

    ``manager_ref`` False renders the manager as stored, without a ``$ref`` (it names no user)."""
    schemas = [USER_SCHEMA]
    doc: dict[str, Any] = {"schemas": schemas, "id": user.id}
    data, _ = stored_attributes(user.data)
    for key, value in data.items():
        if key.startswith("urn:"):
            schemas.append(key)
        doc[key] = value
    manager = data.get(ENTERPRISE_SCHEMA, {}).get("manager")
    if manager and manager_ref:
        # RFC 7643 §4.3: manager is returned as a complex value with its $ref.
        ref = {**manager, "$ref": f"{base_url}/Users/{manager['value']}"}
        doc[ENTERPRISE_SCHEMA] = {**doc[ENTERPRISE_SCHEMA], "manager": ref}
    if groups:
        # RFC 7643 §4.1.2: readOnly, direct memberships only (this service has no nested groups).
        doc["groups"] = [_group_ref(group_id, name, base_url) for group_id, name in groups]
    doc["meta"] = _meta("User", user, base_url)
    return doc


def render_group(group: Resource, base_url: str) -> dict[str, Any]:
    doc: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": group.id, **stored_attributes(group.data)[0]}
    if group.members is not None:
        doc["members"] = [{"value": m, "$ref": f"{base_url}/Users/{m}", "type": "User"} for m in group.members]
    doc["meta"] = _meta("Group", group, base_url)
    return doc


def group_json(group: Resource, base_url: str) -> bytes:
    """render_group's document as compact UTF-8 JSON, members written a thousand at a time.

    A 100,000-member group is about 12 MB of JSON; built as 100,000 dicts first and then dumped, it
    would take several times that. Here only the member ids and the growing body are held.
    """
    try:
        return _group_json(group, base_url)
    except UnicodeEncodeError:
        # A lone surrogate stored before bodies were checked for them: escaped, as scim_response does.
        return json.dumps(render_group(group, base_url), separators=(",", ":")).encode()


def _group_json(group: Resource, base_url: str) -> bytes:
    bare = Resource(group.id, group.data, group.created, group.last_modified, group.version)
    head = _dumps(render_group(bare, base_url) | {"meta": None})
    out = io.BytesIO()
    out.write(head[: head.rindex(',"meta":null}')].encode())
    out.write(b',"members":[')
    members = group.members or []
    for start in range(0, len(members), 1000):
        part = ",".join(
            f'{{"value":{_dumps(m)},"$ref":{_dumps(f"{base_url}/Users/{m}")},"type":"User"}}'
            for m in members[start : start + 1000]
        )
        out.write((b"," if start else b"") + part.encode())
    out.write(b'],"meta":' + _dumps(_meta("Group", group, base_url)).encode() + b"}")
    return out.getvalue()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _group_ref(group_id: str, name: str, base_url: str) -> dict[str, str]:
    ref = {"value": group_id, "$ref": f"{base_url}/Groups/{group_id}", "type": "direct"}
    if name:
        ref["display"] = name
    return ref


def _meta(resource_type: str, resource: Resource, base_url: str) -> dict[str, str]:
    return {
        "resourceType": resource_type,
        "created": resource.created,
        "lastModified": resource.last_modified,
        "location": f"{base_url}/{resource_type}s/{resource.id}",
        "version": resource.version,
    }


@dataclass(frozen=True, slots=True)
class Projection:
    """The parsed attributes/excludedAttributes query parameters."""

    include: tuple[tuple[str, ...], ...] = ()
    exclude: tuple[tuple[str, ...], ...] = ()

    @property
    def wants_members(self) -> bool:
        """False when the response would drop ``members`` anyway, so the store can skip reading them."""
        return self.wants("members")

    def wants(self, name: str) -> bool:
        """Whether the response keeps the top-level attribute ``name`` (lower case), so it is worth reading."""
        if self.include:
            return any(path[0] == name for path in self.include)
        return not any(path == (name,) for path in self.exclude)


def parse_projection(attributes: str | None, excluded: str | None) -> Projection:
    """Parse comma-separated attribute paths; value filters such as ``emails[type eq "work"]`` select the attribute."""
    return Projection(_paths(attributes), _paths(excluded))


def _paths(text: str | None) -> tuple[tuple[str, ...], ...]:
    if not text:
        return ()
    out: list[tuple[str, ...]] = []
    parts = _split(text)
    if len(parts) > MAX_PROJECTION_PATHS:
        raise InvalidValue(
            f"attributes and excludedAttributes take at most {MAX_PROJECTION_PATHS} paths each; got {len(parts)}."
        )
    for raw in parts:
        name = raw.strip()
        if not name:
            continue
        name = name.split("[", 1)[0]
        if name.lower().startswith("urn:"):
            urn, _, attr = name.rpartition(":")
            if not urn:
                raise InvalidValue(f"Attribute path {raw.strip()!r} is not valid")
            path: tuple[str, ...] = (urn.lower(), *attr.lower().split("."))
        else:
            path = tuple(part for part in name.lower().split(".") if part)
        if not path:
            raise InvalidValue(f"Attribute path {raw.strip()!r} is not valid")
        out.append(path)
    return tuple(out)


def _split(text: str) -> list[str]:
    # Commas inside a value filter's brackets do not separate paths.
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def project(doc: dict[str, Any], projection: Projection) -> dict[str, Any]:
    """Apply the projection to a rendered resource; names compare case-insensitively."""
    if not projection.include and not projection.exclude:
        return doc
    if projection.include:
        out: dict[str, Any] = {}
        for key, value in doc.items():
            folded = key.lower()
            if folded in _ALWAYS:
                out[key] = value
                continue
            subs = [p[1:] for p in projection.include if p[0] == folded]
            if not subs:
                continue
            if any(not s for s in subs) or not isinstance(value, dict):
                out[key] = value
            else:
                picked = {k: v for k, v in value.items() if any(s[0] == k.lower() for s in subs)}
                if picked:
                    out[key] = picked
        if ENTERPRISE_SCHEMA not in out and "schemas" in out:
            out["schemas"] = [s for s in out["schemas"] if s in (USER_SCHEMA, GROUP_SCHEMA) or s in out]
        return out
    out = dict(doc)
    for path in projection.exclude:
        for key in list(out):
            if key.lower() != path[0] or key.lower() in _ALWAYS:
                continue
            if len(path) == 1:
                del out[key]
            elif isinstance(out[key], dict):
                out[key] = {k: v for k, v in out[key].items() if k.lower() != path[1]}
    return out


def cursor_list_response(
    resources: list[dict[str, Any]], next_cursor: str | None, total: int | None, previous_cursor: str | None = None
) -> dict[str, Any]:
    """RFC 9865 §2 ListResponse: ``nextCursor`` on every page but the last, ``previousCursor`` where one is known;
    ``totalResults`` only where known."""
    doc: dict[str, Any] = {"schemas": [LIST_RESPONSE]}
    if total is not None:
        doc["totalResults"] = total
    doc |= {"itemsPerPage": len(resources), "Resources": resources}
    if next_cursor is not None:
        doc["nextCursor"] = next_cursor
    if previous_cursor is not None:
        doc["previousCursor"] = previous_cursor
    return doc


def list_response(resources: list[dict[str, Any]], total: int, start_index: int) -> dict[str, Any]:
    """RFC 7644 §3.4.2 ListResponse with 1-based ``startIndex``."""
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
