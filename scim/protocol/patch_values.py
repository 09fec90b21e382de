"""Values for PATCH: booleans, strings, complex values, roles, manager, and a group's member changes.

Kept apart from patch.py so the operation engine stays readable; every Entra value shape is accepted
here and named after the section of docs/reference/entra-wire.md that documents it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from scim.errors import InvalidPath, InvalidValue, Mutability
from scim.model import MemberChange
from scim.protocol.path import PatchPath, filter_ids
from scim.protocol.schema import Attribute

OpName = Literal["add", "replace", "remove"]

# Values per operation (README "Hostile input"): a multi-valued attribute other than members takes at most MAX_VALUES,
# as on POST (resources.py); members take MAX_MEMBER_VALUES, the same bound as a whole PATCH's member changes.
MAX_VALUES = 100
MAX_MEMBER_VALUES = 10_000
MAX_STRING = 8192  # the same limit as POST/PUT (resources.py)


def normalize_roles(value: Any, name: str = "roles") -> list[dict[str, Any]]:
    """Roles as {"value"?, "display"?, "type"?, "primary"?} from any Entra shape (§4); POST and PUT use it too.

    A role may lack its value for a while: the SCIM Validator and the Logic App build the primary role field by
    field (``roles[primary eq "True"].display`` before ``.value``), so a partial role is kept as sent."""
    items = value if isinstance(value, list) else [] if value is None else [value]
    if len(items) > MAX_VALUES:
        raise InvalidValue(f"{name} takes at most {MAX_VALUES} values; got {len(items)}.")
    roles = [role for role in (_role(item, name) for item in items) if role]
    one_primary(roles, name)
    return roles


def one_role_per_value(roles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per role value; a duplicate's primary flag survives on the kept entry. POST, PUT and PATCH use it.

    A role still without a value (built field by field) is kept apart until its value arrives."""
    kept: dict[Any, dict[str, Any]] = {}
    for role in roles:
        first = kept.setdefault(role.get("value", id(role)), role)
        if first is not role and role.get("primary") is True:
            first["primary"] = True
    return list(kept.values())


def _role(item: Any, name: str = "roles") -> dict[str, Any]:
    if isinstance(item, str):
        item = _role_json(item) if item.lstrip().startswith("{") else {"value": item}
    if not isinstance(item, dict):
        raise InvalidValue(f'Each {name} value must be an object with a "value"; got {kind(item)}.')
    fields = {k.lower(): v for k, v in item.items() if isinstance(k, str)}
    inner = fields.get("value")
    if isinstance(inner, str) and inner.lstrip().startswith("{"):
        # Entra quirk (§4.1, §4.2): PATCH sends {"value": "{\"id\":…,\"value\":\"25\",\"displayName\":…}"}.
        # The role is the JSON's own "value"; without one there is no role (never the JSON text itself).
        outer = {k: v for k, v in fields.items() if k != "value"}
        inside = {k.lower(): v for k, v in _role_json(inner).items() if isinstance(k, str)}
        if inside.get("value") is None:
            raise InvalidValue(f'A {name} value sent as JSON needs a non-empty "value": the app role\'s Value (§4).')
        fields = {**outer, **inside}
    value = fields.get("value")
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)  # a numeric app-role Value inside the JSON string still names the role
    role: dict[str, Any] = {}
    if value is not None:
        if not isinstance(value, str) or not value.strip():
            raise InvalidValue(f'Each {name} "value" must be the app role\'s Value, a non-empty string (§4).')
        role["value"] = value
    # "display" in the assertive form (§4.3), "displayName" in the stringified one (§4.1); the Entra
    # assignment "id" is not the role and is dropped.
    display = fields.get("display") if fields.get("display") is not None else fields.get("displayname")
    for key, given in (("display", display), ("type", fields.get("type"))):
        if given is not None:
            role[key] = string(given, f"{name}.{key}")
    if fields.get("primary") is not None:
        role["primary"] = boolean(fields["primary"], f"{name}.primary")
    return role


def _role_json(text: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise InvalidValue('A role sent as a JSON string must hold an object such as {"value": "Admin"}.')
    return parsed


def check_echoed(key: str, value: Any, resource_type: str, resource_id: str | None) -> None:
    """An echoed read-only value (RFC 7644 §3.5.1: ignored). ``id`` must still be this resource's own: another
    one is a client writing to the wrong resource, 400 mutability. ``meta`` and ``schemas`` belong to the
    service and are ignored whatever they hold (forged request meta: docs/reference/entra-wire.md §2.4 item 9)."""
    if key.lower() == "id" and resource_id is not None and value != resource_id:
        raise Mutability(f"id is read-only: this {resource_type} is {resource_id!r}; send that id or none.")


def one_primary(values: list[dict[str, Any]], name: str) -> None:
    """RFC 7643 §2.4: "primary" is true on at most one value of a multi-valued attribute."""
    if sum(1 for v in values if v.get("primary") is True) > 1:
        raise InvalidValue(f"At most one of the {name} values may be primary.")


def boolean(value: Any, label: str) -> bool:
    """A JSON boolean, or Entra's "True"/"False" string (docs/reference/entra-wire.md §1.3, §2.4 item 2)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidValue(f"{label} must be true or false; got {show(value)}.")


def scalar(attribute: Attribute, value: Any, label: str) -> Any:
    """A simple value checked against its attribute's type."""
    if attribute.type == "boolean":
        return boolean(value, label)
    return string(value, label)


def string(value: Any, label: str) -> str:
    """A string attribute's value; numbers are taken as their text."""
    # A number is taken as its text, as POST/PUT do (resources.py), so both paths store the same value.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidValue(f"{label} must be a string; got {kind(value)}.")
    text = str(value)
    if len(text) > MAX_STRING:
        raise InvalidValue(f"{label} is {len(text)} characters long; the limit is {MAX_STRING}.")
    return text


def element(attribute: Attribute, value: Any, label: str) -> dict[str, Any]:
    """One complex value with canonical sub-attribute names; a null sub-attribute stays None (= remove it)."""
    if not isinstance(value, dict):
        raise InvalidValue(f"{label} values must be objects; got {kind(value)}.")
    out: dict[str, Any] = {}
    for key, item in value.items():
        sub = attribute.sub(key) if isinstance(key, str) else None
        if sub is None:
            names = ", ".join(s.name for s in attribute.sub_attributes)
            raise InvalidValue(f"{label} has no sub-attribute {show(key)}; it has {names}.")
        if sub.mutability != "readOnly":  # RFC 7643 §7: read-only sub-attributes in a request are ignored
            out[sub.name] = None if item is None else scalar(sub, item, f"{label}.{sub.name}")
    return out


def manager_id(value: Any) -> str | None:
    """The manager id in any shape Entra sends (§1.2e); None when the value means "no manager"."""
    if isinstance(value, list):  # S1 "Example 5": [{"$ref": …, "value": id}]
        if len(value) > 1:
            raise InvalidValue(f"manager takes one value; got {len(value)}.")
        value = value[0] if value else None
    if isinstance(value, dict):  # the SCIM Validator's {"value": id} (S15)
        value = get_ci(value, "value")
    if value is None or value == "":
        return None  # the Logic App's manager removal is Replace with "" (S11)
    if not isinstance(value, str):
        raise InvalidValue(f'manager must be a user id or {{"value": "<user id>"}}; got {kind(value)}.')
    return value


def member_ids(value: Any) -> list[str]:
    """Ids from [{"value": id, "$ref": null}], bare id strings (Postman "Group tests with garbage") or one object."""
    items = value if isinstance(value, list) else [value]
    if len(items) > MAX_MEMBER_VALUES:
        raise InvalidValue(f"members takes at most {MAX_MEMBER_VALUES} values per operation; got {len(items)}.")
    ids: list[str] = []
    for item in items:
        member = get_ci(item, "value") if isinstance(item, dict) else item
        if not isinstance(member, str) or not member.strip():
            raise InvalidValue(f'Each member must be {{"value": "<user id>"}} or an id string; got {kind(member)}.')
        ids.append(member)
    return ids


@dataclass(slots=True)
class MemberOps:
    """A group's member changes while a PATCH runs: ordered sets, so 10,000 ids cost linear time."""

    add: dict[str, None] = field(default_factory=dict)
    remove: dict[str, None] = field(default_factory=dict)
    remove_all: bool = False

    def change(self) -> MemberChange:
        """The store's view; add and remove are disjoint, so their order of application does not matter."""
        return MemberChange(list(self.add), list(self.remove), self.remove_all)

    def apply(self, op: OpName, path: PatchPath, value: Any) -> None:
        """One operation on ``members``: add, remove (listed, filtered or all) or replace."""
        if path.value_filter is not None:
            if op != "remove":
                raise InvalidPath('To add members use path "members" with a value list; a filter selects removals.')
            self._remove(filter_ids(path.value_filter))  # aadOptscim062020 form (§1.6)
        elif op == "remove":
            if value is None:
                self._clear()  # only a remove without any value empties the group (§1.6)
            else:
                self._remove(member_ids(value))  # Entra quirk: the legacy form names the members (§1.6 "Danger")
        elif op == "add":
            if value is None:
                raise InvalidValue('An add to members needs a value: [{"value": "<user id>"}].')
            self._add(member_ids(value))
        else:
            self._clear()  # replace = the listed members only (RFC 7644 §3.5.2.3)
            if value is not None:
                self._add(member_ids(value))

    def _add(self, ids: list[str]) -> None:
        for member in ids:
            self.remove.pop(member, None)
            self.add[member] = None

    def _remove(self, ids: list[str]) -> None:
        for member in ids:
            self.add.pop(member, None)
            if not self.remove_all:
                self.remove[member] = None

    def _clear(self) -> None:
        self.add.clear()
        self.remove.clear()
        self.remove_all = True


def get_ci(mapping: Mapping[str, Any], name: str) -> Any:
    """``mapping[name]`` matching the key case-insensitively (RFC 7643 §2.1), None when absent."""
    if name in mapping:
        return mapping[name]
    folded = name.lower()
    return next((v for k, v in mapping.items() if isinstance(k, str) and k.lower() == folded), None)


def kind(value: Any) -> str:
    """A JSON type name for error details (values themselves may be personal data)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def show(value: Any) -> str:
    """A short rendering of a small token (an op name, a boolean-ish string) for error details."""
    if isinstance(value, str) and len(value) <= 20:
        return repr(value)
    return kind(value)


def clone(value: Any) -> Any:
    """A deep copy of JSON-shaped data, several times faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value
