"""The attributes this service understands (RFC 7643 §4, §8.7.1), as plain data shared by every protocol module."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
SP_CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
# How every core schema's URN starts; lower case, since it is compared with folded names.
CORE_PREFIX = "urn:ietf:params:scim:schemas:core:2.0:"

AttrType = Literal["string", "boolean", "decimal", "integer", "dateTime", "reference", "complex"]
Mutability = Literal["readOnly", "readWrite", "immutable", "writeOnly"]
Returned = Literal["always", "never", "default", "request"]


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str
    type: AttrType = "string"
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: Mutability = "readWrite"
    returned: Returned = "default"
    uniqueness: Literal["none", "server", "global"] = "none"
    description: str = ""
    sub_attributes: tuple[Attribute, ...] = field(default_factory=tuple)
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()

    def sub(self, name: str) -> Attribute | None:
        """The sub-attribute called ``name``, compared case-insensitively (RFC 7643 §2.1)."""
        folded = name.lower()
        for attribute in self.sub_attributes:
            if attribute.name.lower() == folded:
                return attribute
        return None


def _s(name: str, **kw: object) -> Attribute:
    return Attribute(name, **kw)  # type: ignore[arg-type]


def _multi(name: str, description: str, *, types: tuple[str, ...] = (), extra: tuple[Attribute, ...] = ()) -> Attribute:
    subs = (
        _s("value", description=f"The {name} value."),
        _s("display", description="A human-readable name.", mutability="readWrite"),
        _s("type", description="A label for the value's function.", canonical_values=types),
        _s("primary", type="boolean", description="Whether this is the primary value."),
        *extra,
    )
    return Attribute(name, "complex", multi_valued=True, description=description, sub_attributes=subs)


_ADDRESS_SUBS = tuple(
    _s(n, description=f"The {n} part of the address.")
    for n in ("formatted", "streetAddress", "locality", "region", "postalCode", "country")
)

USER_ATTRIBUTES: tuple[Attribute, ...] = (
    _s("userName", required=True, uniqueness="server", description="Unique identifier for the user, e.g. the UPN."),
    Attribute(
        "name",
        "complex",
        description="The components of the user's name.",
        sub_attributes=tuple(
            _s(n, description=f"The {n} of the user.")
            for n in ("formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix")
        ),
    ),
    _s("displayName", description="The name of the user, suitable for display."),
    _s("nickName", description="The casual way to address the user."),
    _s("profileUrl", type="reference", reference_types=("external",), description="A URI of the user's profile."),
    _s("title", description="The user's title, such as Vice President."),
    _s("userType", description="The relationship between the organization and the user."),
    _s("preferredLanguage", description="The user's preferred language, e.g. en-US."),
    _s("locale", description="The user's default location for localisation."),
    _s("timezone", description="The user's time zone in IANA format."),
    _s("active", type="boolean", description="Whether the user may sign in; false is a soft delete."),
    _s("password", mutability="writeOnly", returned="never", description="Never stored or returned."),
    _multi("emails", "Email addresses for the user.", types=("work", "home", "other")),
    _multi("phoneNumbers", "Phone numbers for the user.", types=("work", "home", "mobile", "fax", "pager", "other")),
    _multi("ims", "Instant messaging addresses for the user."),
    _multi("photos", "URLs of photos of the user.", types=("photo", "thumbnail")),
    Attribute(
        "addresses",
        "complex",
        multi_valued=True,
        description="Physical mailing addresses for the user.",
        sub_attributes=(
            *_ADDRESS_SUBS,
            _s("type", canonical_values=("work", "home", "other"), description="The kind of address."),
            _s("primary", type="boolean", description="Whether this is the primary address."),
        ),
    ),
    _multi("entitlements", "Entitlements of the user; an alias of roles in this service (the senhasegura mapping)."),
    _multi("roles", "Application roles of the user; each value must exist in the directory's role catalog."),
    _multi("x509Certificates", "Certificates issued to the user."),
    Attribute(
        "groups",
        "complex",
        multi_valued=True,
        mutability="readOnly",
        description="Groups the user belongs to; change membership through Groups.",
        sub_attributes=(
            _s("value", case_exact=True, mutability="readOnly", description="The group's id."),
            _s(
                "$ref",
                type="reference",
                mutability="readOnly",
                reference_types=("Group",),
                description="The group's URI.",
            ),
            _s("display", mutability="readOnly", description="The group's displayName."),
            _s(
                "type",
                mutability="readOnly",
                canonical_values=("direct", "indirect"),
                description="How the user is a member.",
            ),
        ),
    ),
)

ENTERPRISE_ATTRIBUTES: tuple[Attribute, ...] = (
    _s("employeeNumber", description="A numeric or alphanumeric identifier assigned to the person."),
    _s("costCenter", description="The name of a cost center."),
    _s("organization", description="The name of an organization."),
    _s("division", description="The name of a division."),
    _s("department", description="The name of a department."),
    Attribute(
        "manager",
        "complex",
        description="The user's manager: the id of another user of this directory.",
        sub_attributes=(
            _s("value", case_exact=True, description="The id of the manager's User resource."),
            _s(
                "$ref",
                type="reference",
                reference_types=("User",),
                description="The URI of the manager's User resource.",
            ),
            _s("displayName", mutability="readOnly", description="The manager's displayName."),
        ),
    ),
)

GROUP_ATTRIBUTES: tuple[Attribute, ...] = (
    _s(
        "displayName",
        required=True,
        uniqueness="server",
        description="The group's name; it must match a user group of the directory.",
    ),
    Attribute(
        "members",
        "complex",
        multi_valued=True,
        description="The users in the group.",
        sub_attributes=(
            _s("value", case_exact=True, mutability="immutable", description="The id of the member's User resource."),
            _s(
                "$ref",
                type="reference",
                mutability="immutable",
                reference_types=("User",),
                description="The member's URI.",
            ),
            _s("display", mutability="readOnly", description="The member's displayName; not stored."),
            _s("type", mutability="immutable", canonical_values=("User",), description="The member's resource type."),
        ),
    ),
)

COMMON_ATTRIBUTES: tuple[Attribute, ...] = (
    _s(
        "id",
        case_exact=True,
        mutability="readOnly",
        returned="always",
        uniqueness="server",
        description="Service-assigned id.",
    ),
    # uniqueness "none": whether externalId is unique is a per-directory setting (README "externalId"), and
    # discovery is anonymous and directory-less, so it states the default.
    _s(
        "externalId",
        case_exact=True,
        description="The identifier the provisioning client assigned; unique only where the directory says so.",
    ),
)


def _index(attributes: tuple[Attribute, ...]) -> dict[str, Attribute]:
    return {a.name.lower(): a for a in (*COMMON_ATTRIBUTES, *attributes)}


USER_INDEX = _index(USER_ATTRIBUTES)
GROUP_INDEX = _index(GROUP_ATTRIBUTES)
ENTERPRISE_INDEX = {a.name.lower(): a for a in ENTERPRISE_ATTRIBUTES}


def attribute_index(resource_type: str) -> dict[str, Attribute]:
    """Top-level attributes of ``User`` or ``Group`` keyed by lower-cased name."""
    return USER_INDEX if resource_type == "User" else GROUP_INDEX
