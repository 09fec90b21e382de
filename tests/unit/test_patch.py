"""PATCH engine: every PATCH body of the Entra reference and of Microsoft's Postman collection, then the rules."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from scim.errors import (
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    ScimError,
    TooMany,
)
from scim.protocol.patch import PatchResult, apply_patch, normalize_roles
from scim.protocol.schema import ENTERPRISE_SCHEMA, PATCH_OP
from scim.store.base import MemberChange

ENT = ENTERPRISE_SCHEMA

USER: dict[str, Any] = {
    "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "active": True,
    "displayName": "Before",
    "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
    "emails": [{"primary": True, "type": "work", "value": "old@testuser.com"}],
}
GROUP: dict[str, Any] = {"displayName": "displayName", "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"}


def user(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(USER)
    for name, value in changes.items():
        key = ENT if name == "ent" else name
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def envelope(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def run(data: dict[str, Any], body: Any, resource_type: str = "User", role_mode: str = "single") -> PatchResult:
    if isinstance(body, str):
        body = json.loads(body)
    return apply_patch(data, body, resource_type=resource_type, role_mode=role_mode)  # type: ignore[arg-type]


# Every PATCH body in the reference, copied verbatim from entra-provisioning.md ---------------------------------

REFERENCE_USER_CASES = [
    pytest.param(
        USER,
        """{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
            {
            "op": "Replace",
            "path": "emails[type eq \\"work\\"].value",
            "value": "updatedEmail@microsoft.com"
            },
            {
            "op": "Replace",
            "path": "name.familyName",
            "value": "updatedFamilyName"
            }
    ]
}""",
        "single",
        user(
            emails=[{"primary": True, "type": "work", "value": "updatedEmail@microsoft.com"}],
            name={"formatted": "givenName familyName", "familyName": "updatedFamilyName", "givenName": "givenName"},
        ),
        id="1.2a multi-valued plus sub-attribute",
    ),
    pytest.param(
        USER,
        r"""{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"userName","value":"5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}]}""",
        "single",
        user(userName="5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"),
        id="1.2b single-valued",
    ),
    pytest.param(
        USER,
        r"""{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
 {"op":"replace","path":"emails[type eq \"work\"].value","value":"lilian.graham@millszboncak.ca"},
 {"op":"replace","path":"phoneNumbers[type eq \"work\"].value","value":"07-272-0828"},
 {"op":"replace","path":"addresses[type eq \"work\"].streetAddress","value":"2809 Johns Walk"},
 {"op":"replace","path":"addresses[type eq \"work\"].locality","value":"KMYVNUJVVZWC"}]}""",
        "single",
        user(
            emails=[{"primary": True, "type": "work", "value": "lilian.graham@millszboncak.ca"}],
            phoneNumbers=[{"type": "work", "value": "07-272-0828"}],
            addresses=[{"type": "work", "streetAddress": "2809 Johns Walk", "locality": "KMYVNUJVVZWC"}],
        ),
        id="1.2c validator capture upserts phone and address",
    ),
    pytest.param(
        USER,
        r"""{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"manager","value":[{"$ref":"http://.../scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee","value":"00aa00aa-bb11-cc22-dd33-44ee44ee44ee"}]}]}""",
        "single",
        user(ent={"manager": {"value": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"}}),
        id="1.2e manager legacy array",
    ),
    pytest.param(
        USER,
        r"""{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}]}""",
        "single",
        user(ent={"manager": {"value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}}),
        id="1.2e manager plain string",
    ),
    pytest.param(
        USER,
        envelope(
            json.loads(
                r"""{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"AXTKDLNRKMKT"}}"""
            )
        ),
        "single",
        user(ent={"manager": {"value": "AXTKDLNRKMKT"}}),
        id="1.2e validator manager add",
    ),
    pytest.param(
        user(ent={"manager": {"value": "AXTKDLNRKMKT"}, "department": "D"}),
        envelope(
            json.loads(
                r"""{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"CBEQXYNPNAZS"}}"""
            )
        ),
        "single",
        user(ent={"manager": {"value": "CBEQXYNPNAZS"}, "department": "D"}),
        id="1.2e validator manager replace",
    ),
    pytest.param(
        user(ent={"manager": {"value": "CBEQXYNPNAZS"}}),
        r"""{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]}""",
        "single",
        USER,
        id="1.2e validator manager remove drops the empty extension",
    ),
    pytest.param(
        user(ent={"manager": {"value": "manager-id"}, "department": "D"}),
        envelope(json.loads(r"""{"op":"remove","path":"manager[value eq \"manager-id\"]"}""")),
        "single",
        user(ent={"department": "D"}),
        id="1.2e manager filter remove",
    ),
    pytest.param(
        user(ent={"manager": {"value": "someone-else"}}),
        envelope(json.loads(r"""{"op":"remove","path":"manager[value eq \"manager-id\"]"}""")),
        "single",
        user(ent={"manager": {"value": "someone-else"}}),
        id="1.2e manager filter remove of another manager is a no-op",
    ),
    pytest.param(
        user(ent={"manager": {"value": "m1"}}),
        envelope({"op": "Replace", "path": f"{ENT}:manager", "value": ""}),
        "single",
        USER,
        id="1.2e logic app replace with empty string",
    ),
    pytest.param(
        USER,
        r"""{"Operations":[{"op":"Replace","path":"active","value":false}],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}""",
        "single",
        user(active=False),
        id="1.3 disable with boolean",
    ),
    pytest.param(
        USER,
        r"""{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}""",
        "single",
        user(active=False),
        id="1.3 disable with string False",
    ),
    pytest.param(
        user(active=False),
        r"""{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"True"}]}""",
        "single",
        USER,
        id="1.3 re-enable with string True",
    ),
    pytest.param(
        USER,
        r"""{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
 {"op":"Replace","path":"displayName","value":"Pvlo"},
 {"op":"Replace","path":"emails[type eq \"work\"].value","value":"TestBcwqnm@test.microsoft.com"},
 {"op":"Replace","path":"name.givenName","value":"Gtfd"},
 {"op":"Replace","path":"name.familyName","value":"Pkqf"},
 {"op":"Replace","path":"externalId","value":"Eqpj"},
 {"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"Eqpj"}]}""",
        "single",
        user(
            displayName="Pvlo",
            emails=[{"primary": True, "type": "work", "value": "TestBcwqnm@test.microsoft.com"}],
            name={"formatted": "givenName familyName", "familyName": "Pkqf", "givenName": "Gtfd"},
            externalId="Eqpj",
            ent={"employeeNumber": "Eqpj"},
        ),
        id="2.3 multiple replace without the flag",
    ),
    pytest.param(
        USER,
        r"""{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
 {"op":"replace","path":"emails[type eq \"work\"].value","value":"TestMhvaes@test.microsoft.com"},
 {"op":"replace","value":{
   "displayName":"Bjfe",
   "name.givenName":"Kkom",
   "name.familyName":"Unua",
   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}}]}""",
        "single",
        user(
            displayName="Bjfe",
            emails=[{"primary": True, "type": "work", "value": "TestMhvaes@test.microsoft.com"}],
            name={"formatted": "givenName familyName", "familyName": "Unua", "givenName": "Kkom"},
            ent={"employeeNumber": "Aklq"},
        ),
        id="2.3 multiple replace with the flag (path-less dotted and URN keys)",
    ),
    pytest.param(
        USER,
        envelope(json.loads(r"""{"op":"Add","path":"nickName","value":"Babs"}""")),
        "single",
        user(nickName="Babs"),
        id="2.3 single-value Add",
    ),
    pytest.param(
        USER,
        envelope({"op": "add", "path": "nickName", "value": "Babs"}),
        "single",
        user(nickName="Babs"),
        id="2.3 single-value add",
    ),
    pytest.param(
        user(roles=[{"value": "Old", "primary": True}]),
        r"""{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"roles","value":[{"value":"{\"id\":\"06b07648-ecfe-589f-9d2f-6325724a46ee\",\"value\":\"25\",\"displayName\":\"Role1234\"}"}]}]}""",
        "single",
        user(roles=[{"value": "25", "display": "Role1234", "primary": True}]),
        id="4.1 SingleAppRoleAssignment stringified role",
    ),
    pytest.param(
        user(roles=[{"value": "User", "display": "User", "primary": False}]),
        r"""{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"roles","value":[
 {"value":"{\"id\":\"06b07648-ecfe-589f-9d2f-6325724a46ee\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"},
 {"value":"{\"id\":\"06b07648-ecfe-599f-9d2f-6325724a46ee\",\"value\":\"User\",\"displayName\":\"User\"}"}]}]}""",
        "multiple",
        user(roles=[{"value": "User", "display": "User", "primary": False}, {"value": "Admin", "display": "Admin"}]),
        id="4.2 AppRoleAssignmentsComplex appends without duplicates",
    ),
    pytest.param(
        user(roles=[{"value": "Admin", "primary": True}]),
        r"""{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"roles","value":[
 {"primary":false,"type":"WindowsAzureActiveDirectoryRole","display":"User","value":"User"},
 {"primary":false,"type":"WindowsAzureActiveDirectoryRole","display":"Test","value":"Test"}]}]}""",
        "single",
        user(
            roles=[
                {"value": "User", "display": "User", "type": "WindowsAzureActiveDirectoryRole", "primary": False},
                {"value": "Test", "display": "Test", "type": "WindowsAzureActiveDirectoryRole", "primary": False},
            ]
        ),
        id="4.3 AssertiveAppRoleAssignmentsComplex replaces the set",
    ),
]


@pytest.mark.parametrize(("data", "body", "role_mode", "expected"), REFERENCE_USER_CASES)
def test_reference_user_bodies(data: dict[str, Any], body: Any, role_mode: str, expected: dict[str, Any]) -> None:
    result = run(data, body, role_mode=role_mode)
    assert result.data == expected
    assert result.changed is (expected != data)
    assert not result.members


GROUP_CASES = [
    pytest.param(
        r"""{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"f648f8d5ea4e4cd38e9c"}]}]}""",
        GROUP,
        MemberChange(add=["f648f8d5ea4e4cd38e9c"]),
        id="1.6 add members",
    ),
    pytest.param(
        r"""{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"members","value":[{"$ref":null,"value":"f648f8d5ea4e4cd38e9c"}]}]}""",
        GROUP,
        MemberChange(remove=["f648f8d5ea4e4cd38e9c"]),
        id="1.6 legacy remove names only the listed member",
    ),
    pytest.param(
        r"""{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"7f4bc1a3-285e-48ae-8202-5accb43efb0e\"]"}]}""",  # noqa: E501 (verbatim)
        GROUP,
        MemberChange(remove=["7f4bc1a3-285e-48ae-8202-5accb43efb0e"]),
        id="1.6 flag remove with a filter",
    ),
    pytest.param(
        r"""{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"displayName","value":"1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}]}""",
        {**GROUP, "displayName": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"},
        MemberChange(),
        id="1.6 rename",
    ),
    pytest.param(
        envelope(json.loads(r"""{"op":"replace","value":{"externalId":"c3b97a69-…"}}""")),
        {**GROUP, "externalId": "c3b97a69-…"},
        MemberChange(),
        id="1.6 validator path-less group replace",
    ),
]

# Microsoft's Postman collection (reference §6.2): every body with "Operations", verbatim but for trailing blanks.
POSTMAN_ADD_MEMBER = """{
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "name": "addMember",
            "op": "add",
            "path": "members",
            "value": [
            \t{
            \t\t"displayName":"new User",
            \t\t"value":"{{id4}}"\t
            \t}
            \t]

        }
    ]
}"""
POSTMAN_GROUP_CASES = [
    pytest.param(POSTMAN_ADD_MEMBER, GROUP, MemberChange(add=["{{id4}}"]), id="postman add user4 to group1"),
    pytest.param(
        """{
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "remove",
            "path": "members[value eq \\"{{id4}}\\"]"
        }
    ]
}""",
        GROUP,
        MemberChange(remove=["{{id4}}"]),
        id="postman remove user4 from group1",
    ),
    pytest.param(
        """{
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "remove",
            "path": "members"
        }
    ]
}""",
        GROUP,
        MemberChange(remove_all=True),
        id="postman remove all users",
    ),
    pytest.param(
        """{
\t"id": "{{1stgroupid}}",
    "Operations": [
        {
         "op":"add",
         "path": "members",
         "value": "string id 1"
        }
    ],
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ]
}""",
        GROUP,
        MemberChange(add=["string id 1"]),
        id="postman garbage add member as a bare string",
    ),
]


@pytest.mark.parametrize(("body", "expected_data", "expected_members"), GROUP_CASES + POSTMAN_GROUP_CASES)
def test_group_bodies(body: Any, expected_data: dict[str, Any], expected_members: MemberChange) -> None:
    result = run(GROUP, body, "Group")
    assert result.data == expected_data
    assert result.members == expected_members
    assert result.changed


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            """{
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "replace",
            "path": "userName",
            "value": "ryan3"
        }
    ]
}""",
            user(userName="ryan3"),
            id="postman patch user1",
        ),
        pytest.param(
            """{ "schemas":
       ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
     "Operations":[
       {
        "op":"Replace",
        "path":"userName",
        "value":"newusername"
       }]
   }""",
            user(userName="newusername"),
            id="postman garbage new username",
        ),
        pytest.param(
            """{ "schemas":
       ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
     "Operations":[
       {
        "op":"Replace",
        "path":"active",
        "value": false
       }]
   }""",
            user(active=False),
            id="postman garbage active boolean",
        ),
    ],
)
def test_postman_user_bodies(body: str, expected: dict[str, Any]) -> None:
    assert run(USER, body).data == expected


# Envelope and operation syntax -------------------------------------------------------------------------------


def test_envelope_is_case_insensitive_and_ignores_other_schemas() -> None:
    body = {
        "SCHEMAS": ["http://schemas.microsoft.com/x", PATCH_OP.upper()],
        "OPERATIONS": [
            {"Op": "ADD", "Path": "NICKNAME", "Value": "Babs"},
            {"op": "rEpLaCe", "path": "title", "value": "T"},
        ],
    }
    assert run(USER, body).data == user(nickName="Babs", title="T")


# Booleans ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"), [(True, True), (False, False), ("True", True), ("false", False), ("TRUE", True)]
)
def test_boolean_strings(given: Any, stored: bool) -> None:
    assert (
        run(user(active=not stored), envelope({"op": "replace", "path": "active", "value": given})).data["active"]
        is stored
    )
    body = envelope({"op": "add", "path": "emails", "value": [{"value": "h@x", "type": "home", "primary": given}]})
    assert run(USER, body).data["emails"][-1]["primary"] is stored


# Multi-valued attributes --------------------------------------------------------------------------------------

WORK = {"primary": True, "type": "work", "value": "old@testuser.com"}


@pytest.mark.parametrize(
    ("start", "operation", "emails"),
    [
        pytest.param(
            [WORK],
            {"op": "add", "path": 'emails[type eq "home"].value', "value": "h@x"},
            [WORK, {"type": "home", "value": "h@x"}],
            id="upsert on add",
        ),
        pytest.param(
            [],
            {"op": "Add", "path": 'emails[type eq "work"].value', "value": "w@x"},
            [{"type": "work", "value": "w@x"}],
            id="upsert into an empty list",
        ),
        pytest.param(
            [WORK],
            {"op": "add", "path": 'emails[type eq "work" and primary eq true].value', "value": "n@x"},
            [{"primary": True, "type": "work", "value": "n@x"}],
            id="and filter selects",
        ),
        pytest.param(
            [WORK],
            {"op": "add", "path": 'emails[type eq "other"].Value', "value": "o@x"},
            [WORK, {"type": "other", "value": "o@x"}],
            id="capitalised sub-attribute",
        ),
        pytest.param(
            [WORK],
            {"op": "replace", "path": "emails", "value": [{"value": "n@x", "type": "home"}]},
            [{"value": "n@x", "type": "home"}],
            id="replace replaces the list",
        ),
        pytest.param(
            [WORK],
            {"op": "add", "path": "emails", "value": [{"value": "n@x", "type": "work"}]},
            [{"value": "n@x", "type": "work"}],
            id="add with an existing type replaces that value",
        ),
        pytest.param(
            [WORK],
            {"op": "add", "path": "emails", "value": {"value": "OLD@testuser.com", "type": "home"}},
            [WORK, {"value": "OLD@testuser.com", "type": "home"}],
            id="add one object appends",
        ),
        pytest.param(
            [WORK],
            {"op": "add", "path": "emails", "value": [{"value": "old@testuser.com", "display": "D"}]},
            [{**WORK, "display": "D"}],
            id="add with an existing value merges",
        ),
        pytest.param(
            [WORK],
            {"op": "add", "path": "emails", "value": [{"value": "h@x", "type": "home", "primary": "True"}]},
            [{**WORK, "primary": False}, {"value": "h@x", "type": "home", "primary": True}],
            id="a new primary clears the old one",
        ),
        pytest.param(
            [WORK, {"type": "home", "value": "h@x"}],
            {"op": "replace", "path": 'emails[type eq "home"].primary', "value": "true"},
            [{**WORK, "primary": False}, {"type": "home", "value": "h@x", "primary": True}],
            id="primary through a filter path clears the old one",
        ),
        pytest.param(
            [WORK],
            {"op": "replace", "path": 'emails[type eq "work"]', "value": {"value": "r@x"}},
            [{"type": "work", "value": "r@x"}],
            id="filter replace without sub keeps the filter's fields",
        ),
        pytest.param(
            [WORK],
            {"op": "add", "path": 'emails[type eq "work"]', "value": {"display": "D"}},
            [{**WORK, "display": "D"}],
            id="filter add without sub merges",
        ),
        pytest.param(
            [WORK, {"type": "home", "value": "h@x"}],
            {"op": "remove", "path": 'emails[type eq "work"]'},
            [{"type": "home", "value": "h@x"}],
            id="remove by filter",
        ),
        pytest.param(
            [WORK],
            {"op": "remove", "path": 'emails[type eq "work"].value'},
            None,
            id="removing the value removes the hollow element",
        ),
        pytest.param(
            [WORK],
            {"op": "remove", "path": 'emails[type eq "work"].primary'},
            [{"type": "work", "value": "old@testuser.com"}],
            id="remove a sub-attribute",
        ),
        pytest.param(
            [WORK],
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": None},
            None,
            id="null through a filter path removes",
        ),
        pytest.param([WORK], {"op": "remove", "path": 'emails[type eq "home"]'}, [WORK], id="remove with no match"),
        pytest.param(
            [WORK, {"type": "home", "value": "h@x"}],
            {"op": "remove", "path": "emails", "value": [{"value": "h@x"}]},
            [WORK],
            id="remove with a value list removes only those",
        ),
        pytest.param([WORK], {"op": "remove", "path": "emails"}, None, id="remove the attribute"),
        pytest.param([WORK], {"op": "replace", "path": "emails", "value": None}, None, id="replace with null"),
        pytest.param(
            [WORK],
            {"op": "replace", "path": "emails.display", "value": "D"},
            [{**WORK, "display": "D"}],
            id="sub-attribute without a filter targets every value",
        ),
    ],
)
def test_emails(start: list[dict[str, Any]], operation: dict[str, Any], emails: list[dict[str, Any]] | None) -> None:
    data = run(user(emails=start or None), envelope(operation)).data
    assert data.get("emails") == emails


def test_all_null_values_are_dropped() -> None:
    body = envelope(
        {"op": "add", "path": "emails", "value": [{"value": None, "type": None}, {"value": "h@x", "display": None}]}
    )
    assert run(USER, body).data["emails"] == [WORK, {"value": "h@x"}]


def test_addresses_upsert_and_remove_one_part() -> None:
    body = envelope(
        {"op": "Add", "path": 'addresses[type eq "work"].postalCode', "value": "98052"},
        {"op": "Add", "path": 'addresses[type eq "other"].Formatted', "value": "1 Way"},
        {"op": "Replace", "path": 'addresses[type eq "work"].country', "value": "US"},
        {"op": "Remove", "path": 'addresses[type eq "work"].postalCode'},
    )
    assert run(USER, body).data["addresses"] == [
        {"type": "work", "country": "US"},
        {"type": "other", "formatted": "1 Way"},
    ]


def test_phone_numbers_are_stored_as_sent() -> None:
    body = envelope({"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 (425) 555-0100"})
    assert run(USER, body).data["phoneNumbers"] == [{"type": "mobile", "value": "+1 (425) 555-0100"}]


# Path-less values ---------------------------------------------------------------------------------------------


def test_pathless_keys_of_every_form() -> None:
    body = envelope(
        {
            "op": "replace",
            "value": {
                "schemas": ["ignored"],
                "meta": {"resourceType": "ignored"},
                "userName": "u2",
                "name.givenName": "G",
                "Name": {"middleName": "M"},
                f"{ENT}:department": "Dept",
                ENT: {"costCenter": "CC", "manager": {"value": "m1", "$ref": None}},
                "urn:ietf:params:scim:schemas:core:2.0:User": {"title": "Boss"},
                "urn:ietf:params:scim:schemas:core:2.0:User:nickName": "N",
                'emails[type eq "home"].value': "h@x",
            },
        }
    )
    data = run(USER, body).data
    assert data["userName"] == "u2"
    assert data["name"] == {**USER["name"], "givenName": "G", "middleName": "M"}
    assert data[ENT] == {"department": "Dept", "costCenter": "CC", "manager": {"value": "m1"}}
    assert (data["title"], data["nickName"]) == ("Boss", "N")
    assert data["emails"] == [WORK, {"type": "home", "value": "h@x"}]
    assert "schemas" not in data and "meta" not in data
    assert set(data) == {*USER, "title", "nickName", ENT}  # never a path string as a key (§1.2c)


def test_pathless_add_appends_to_lists() -> None:
    body = envelope({"op": "add", "value": {"emails": [{"value": "h@x", "type": "home"}], "nickName": "B"}})
    assert run(USER, body).data == user(emails=[WORK, {"value": "h@x", "type": "home"}], nickName="B")


def test_path_naming_the_enterprise_schema() -> None:
    added = run(USER, envelope({"op": "add", "path": ENT, "value": {"department": "D", "division": "V"}})).data
    assert added[ENT] == {"department": "D", "division": "V"}
    assert run(added, envelope({"op": "remove", "path": ENT})).data == USER


def test_complex_name_merges_and_null_removes() -> None:
    merged = run(USER, envelope({"op": "replace", "path": "name", "value": {"givenName": "G", "formatted": None}})).data
    assert merged["name"] == {"familyName": "familyName", "givenName": "G"}
    assert "name" not in run(USER, envelope({"op": "replace", "path": "name", "value": None})).data
    assert "name" not in run(USER, envelope({"op": "remove", "path": "name"})).data
    emptied = run(user(name={"givenName": "g"}), envelope({"op": "remove", "path": "name.givenName"})).data
    assert "name" not in emptied
    unmatched = run(USER, envelope({"op": "remove", "path": 'name[givenName eq "nobody"].familyName'}))
    assert unmatched.changed is False
    matched = run(USER, envelope({"op": "remove", "path": 'name[givenName eq "GIVENNAME"].familyName'})).data
    assert matched["name"] == {"formatted": "givenName familyName", "givenName": "givenName"}


# Nulls, removes and custom extensions --------------------------------------------------------------------------


def test_null_and_remove_of_single_valued() -> None:
    assert "displayName" not in run(USER, envelope({"op": "replace", "path": "displayName", "value": None})).data
    assert "displayName" not in run(USER, envelope({"op": "add", "path": "displayName", "value": None})).data
    missing = run(USER, envelope({"op": "remove", "path": "nickName"}, {"op": "remove", "path": f"{ENT}:manager"}))
    assert missing.data == USER
    assert missing.changed is False


def test_custom_extension_attributes() -> None:
    urn = "urn:acme:params:scim:1.0:User"
    first = run(USER, envelope({"op": "add", "path": f"{urn}:badgeColor", "value": "red"})).data
    assert first[urn] == {"badgeColor": "red"}
    second = run(first, envelope({"op": "replace", "value": {urn.upper(): {"BADGECOLOR": "blue", "floor": 3}}})).data
    assert second[urn] == {"badgeColor": "blue", "floor": "3"}  # numbers as text, as POST stores them
    third = run(second, envelope({"op": "replace", "path": f"{urn}:floor", "value": None})).data
    assert third[urn] == {"badgeColor": "blue"}
    assert urn not in run(first, envelope({"op": "remove", "path": f"{urn}:badgeColor"})).data
    assert urn not in run(first, envelope({"op": "remove", "path": urn})).data


def test_password_is_never_stored() -> None:
    result = run(USER, envelope({"op": "replace", "path": "password", "value": "hunter2"}))
    assert "password" not in result.data
    assert result.changed is False


# Manager -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "manager"),
    [
        ({"op": "add", "path": "manager", "value": "id-1"}, {"value": "id-1"}),
        (
            {"op": "add", "path": "manager", "value": {"value": "id-1", "$ref": "https://x/Users/id-1"}},
            {"value": "id-1"},
        ),
        ({"op": "add", "path": "manager", "value": [{"value": "id-1", "$ref": None}]}, {"value": "id-1"}),
        ({"op": "replace", "path": f"{ENT}:manager.value", "value": "id-1"}, {"value": "id-1"}),
        ({"op": "replace", "path": f"{ENT}:manager.$ref", "value": "https://x"}, {"value": "old"}),
        ({"op": "replace", "path": 'manager[value eq "old"].value', "value": "id-1"}, {"value": "id-1"}),
        ({"op": "replace", "path": "manager", "value": {"value": ""}}, None),
        ({"op": "replace", "path": "manager", "value": []}, None),
        ({"op": "replace", "path": "manager", "value": None}, None),
        ({"op": "remove", "path": "manager"}, None),
        ({"op": "remove", "path": f"{ENT}:manager.value"}, None),
    ],
)
def test_manager_shapes(operation: dict[str, Any], manager: dict[str, str] | None) -> None:
    data = run(user(ent={"manager": {"value": "old"}, "department": "D"}), envelope(operation)).data
    assert data[ENT].get("manager") == manager


# Roles -------------------------------------------------------------------------------------------------------

ADMIN = {"value": "Admin", "display": "Admin", "primary": True}


@pytest.mark.parametrize(
    ("start", "operation", "mode", "roles"),
    [
        pytest.param(
            [ADMIN],
            {"op": "Add", "path": "roles", "value": [{"value": "User"}]},
            "single",
            [{"value": "User", "primary": True}],
            id="single: add sets the only role",
        ),
        pytest.param(
            [ADMIN],
            {"op": "Add", "path": "roles", "value": [{"value": "User"}]},
            "multiple",
            [ADMIN, {"value": "User"}],
            id="multiple: add appends",
        ),
        pytest.param(
            [ADMIN],
            {"op": "Add", "path": "roles", "value": [{"value": "User"}, {"value": "Admin"}]},
            "single",
            [ADMIN, {"value": "User"}],
            id="several roles append even in single mode",
        ),
        pytest.param(
            [ADMIN],
            {"op": "add", "path": "entitlements", "value": [{"value": "Ops"}]},
            "single",
            [ADMIN],
            id="entitlements are kept apart from roles",
        ),
        pytest.param(
            [],
            {"op": "add", "path": 'roles[primary eq "True"].display', "value": "Admins"},
            "single",
            [{"primary": True, "display": "Admins"}],
            id="a role's display before its value is a partial role",
        ),
        pytest.param(
            [],
            {"op": "add", "path": 'roles[primary eq "True"].value', "value": "Admin"},
            "single",
            [{"primary": True, "value": "Admin"}],
            id="primary role value creates the primary role",
        ),
        pytest.param(
            [ADMIN, {"value": "User"}],
            {"op": "replace", "path": 'roles[primary eq "True"].value', "value": "Ops"},
            "single",
            [{**ADMIN, "value": "Ops"}, {"value": "User"}],
            id="primary role value replaces its value",
        ),
        pytest.param(
            [ADMIN],
            {
                "op": "replace",
                "path": 'roles[primary eq "True"].value',
                "value": '{"id":"1","value":"25","displayName":"Role1234"}',
            },
            "single",
            [{"value": "25", "display": "Role1234", "primary": True}],
            id="primary role value as stringified JSON",
        ),
        pytest.param(
            [ADMIN, {"value": "User"}],
            {"op": "replace", "path": 'roles[primary eq "True"].value', "value": "User"},
            "single",
            [{**ADMIN, "value": "User"}],
            id="duplicate values collapse to one role",
        ),
        pytest.param(
            [ADMIN],
            {"op": "replace", "path": 'roles[primary eq "True"].display', "value": "Administrator"},
            "single",
            [{**ADMIN, "display": "Administrator"}],
            id="primary role display",
        ),
        pytest.param(
            [ADMIN, {"value": "User"}],
            {"op": "remove", "path": "roles", "value": [{"value": '{"id":"1","value":"User"}'}]},
            "multiple",
            [ADMIN],
            id="remove with a value list removes those roles",
        ),
        pytest.param(
            [ADMIN, {"value": "User"}],
            {"op": "remove", "path": 'roles[value eq "Admin"]'},
            "multiple",
            [{"value": "User"}],
            id="remove with a filter",
        ),
        pytest.param(
            [{"value": "User"}, ADMIN],
            {"op": "replace", "path": 'roles[primary eq "True"].value', "value": "User"},
            "single",
            [{"value": "User", "primary": True}],
            id="a duplicate's primary flag survives",
        ),
        pytest.param(
            [ADMIN],
            {"op": "replace", "path": 'roles[value eq "Admin"]', "value": {"value": "Ops", "displayName": "Operators"}},
            "multiple",
            [{"value": "Ops", "display": "Operators"}],
            id="filter replace of a whole role",
        ),
        pytest.param([ADMIN], {"op": "remove", "path": "roles"}, "multiple", None, id="remove all roles"),
        pytest.param(
            [ADMIN], {"op": "replace", "path": "roles", "value": []}, "multiple", None, id="replace with none"
        ),
        pytest.param(
            [ADMIN],
            {"op": "replace", "value": {"roles": [{"value": "Ops", "primary": "True"}]}},
            "single",
            [{"value": "Ops", "primary": True}],
            id="path-less roles replace",
        ),
    ],
)
def test_roles(
    start: list[dict[str, Any]], operation: dict[str, Any], mode: str, roles: list[dict[str, Any]] | None
) -> None:
    assert run(user(roles=start or None), envelope(operation), role_mode=mode).data.get("roles") == roles


def test_normalize_roles_shapes() -> None:
    assert normalize_roles(None) == []
    assert normalize_roles("Admin") == [{"value": "Admin"}]
    assert normalize_roles('{"id": "x", "value": 25, "displayName": "Role"}') == [{"value": "25", "display": "Role"}]
    assert normalize_roles(
        [
            {"value": "A", "displayName": "Alpha", "primary": "True", "type": "T", "id": "assignment", "$ref": None},
            {"Value": "B", "Display": "Beta", "displayName": "ignored", "primary": False},
        ]
    ) == [
        {"value": "A", "display": "Alpha", "type": "T", "primary": True},
        {"value": "B", "display": "Beta", "primary": False},
    ]


# Groups --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operations", "expected"),
    [
        pytest.param(
            [{"op": "add", "path": "members", "value": [{"value": "a"}, "b", {"value": "a"}]}],
            MemberChange(add=["a", "b"]),
            id="several per op, duplicates once",
        ),
        pytest.param(
            [{"op": "replace", "path": "members", "value": [{"value": "a"}]}],
            MemberChange(add=["a"], remove_all=True),
            id="replace empties then adds",
        ),
        pytest.param(
            [{"op": "replace", "path": "members", "value": None}], MemberChange(remove_all=True), id="replace with null"
        ),
        pytest.param(
            [{"op": "remove", "path": "members", "value": []}],
            MemberChange(),
            id="remove of an empty list removes nobody",
        ),
        pytest.param(
            [
                {"op": "add", "path": "members", "value": [{"value": "a"}]},
                {"op": "remove", "path": "members", "value": [{"value": "a"}]},
            ],
            MemberChange(remove=["a"]),
            id="add then remove",
        ),
        pytest.param(
            [
                {"op": "remove", "path": "members", "value": [{"value": "a"}]},
                {"op": "add", "path": "members", "value": [{"value": "a"}]},
            ],
            MemberChange(add=["a"]),
            id="remove then add",
        ),
        pytest.param(
            [
                {"op": "add", "path": "members", "value": ["a"]},
                {"op": "remove", "path": "members"},
                {"op": "add", "path": "members", "value": ["b"]},
            ],
            MemberChange(add=["b"], remove_all=True),
            id="remove all in the middle",
        ),
        pytest.param(
            [{"op": "remove", "path": 'members[value eq "a" or value eq "b"]'}],
            MemberChange(remove=["a", "b"]),
            id="filter with or",
        ),
        pytest.param(
            [{"op": "replace", "value": {"displayName": "G2", "members": [{"value": "a"}]}}],
            MemberChange(add=["a"], remove_all=True),
            id="path-less replace with members",
        ),
        pytest.param(
            [{"op": "add", "value": {"members": [{"value": "a", "$ref": None}]}}],
            MemberChange(add=["a"]),
            id="path-less add of members",
        ),
    ],
)
def test_member_changes(operations: list[dict[str, Any]], expected: MemberChange) -> None:
    result = run(GROUP, envelope(*operations), "Group")
    assert result.members == expected
    assert not set(result.members.add) & set(result.members.remove)


def test_ten_thousand_members_in_one_operation() -> None:
    ids = [f"m{i}" for i in range(10_000)]
    body = envelope(
        {"op": "add", "path": "members", "value": [{"value": i} for i in ids]},
        {"op": "remove", "path": "members", "value": ids[:5_000]},
    )
    assert run(GROUP, body, "Group").members == MemberChange(add=ids[5_000:], remove=ids[:5_000])


def test_group_pathless_replace_of_everything() -> None:
    body = envelope({"op": "replace", "value": {"displayName": "G2", "externalId": "e2", "members": []}})
    result = run(GROUP, body, "Group")
    assert result.data == {"displayName": "G2", "externalId": "e2"}
    assert result.members == MemberChange(remove_all=True)


# Changed flag and immutability of the input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "userName", "value": USER["userName"]},
        {"op": "Replace", "path": "active", "value": "True"},
        {"op": "add", "path": 'emails[type eq "work"].value', "value": "old@testuser.com"},
        {"op": "add", "path": "emails", "value": [WORK]},
        {"op": "remove", "path": "roles"},
        {"op": "remove", "path": 'emails[type eq "home"]'},
    ],
)
def test_unchanged(operation: dict[str, Any]) -> None:
    result = run(USER, envelope(operation))
    assert result.changed is False
    assert result.data == USER


ALL_BODIES = [p.values[1] for p in REFERENCE_USER_CASES] + [
    envelope({"op": "replace", "value": {"name.givenName": "G", ENT: {"manager": "m"}}}),
    envelope({"op": "remove", "path": 'emails[type eq "work"].value'}),
    envelope({"op": "add", "path": "emails", "value": [{"value": "h@x", "type": "home", "primary": True}]}),
    envelope({"op": "replace", "path": 'roles[primary eq "True"].value', "value": "X"}),
    envelope({"op": "replace", "path": "name", "value": {"givenName": "G"}}),
    envelope({"op": "add", "path": "urn:acme:1.0:User:x", "value": "new"}),
]


@pytest.mark.parametrize("body", ALL_BODIES)
def test_input_is_never_mutated(body: Any) -> None:
    data = user(roles=[dict(ADMIN)], ent={"manager": {"value": "m0"}, "department": "D"})
    data["urn:acme:1.0:User"] = {"x": "old"}
    snapshot = copy.deepcopy(data)
    frozen_body = copy.deepcopy(body)
    result = run(data, body)
    assert data == snapshot
    assert body == frozen_body
    # Nothing is shared: changing the result leaves the input alone.
    for value in result.data.values():
        if isinstance(value, dict):
            value.clear()
        elif isinstance(value, list):
            for item in value:
                item.clear()
    assert data == snapshot


# Errors ----------------------------------------------------------------------------------------------------------

BIG = [{"value": f"m{i}"} for i in range(10_001)]


@pytest.mark.parametrize(
    ("resource_type", "body", "error", "fragment"),
    [
        ("User", [], InvalidSyntax, "Send a PatchOp JSON object"),
        ("User", {"Operations": [{"op": "add", "path": "nickName", "value": "x"}]}, InvalidSyntax, PATCH_OP),
        (
            "User",
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "Operations": []},
            InvalidSyntax,
            PATCH_OP,
        ),
        ("User", {"schemas": [PATCH_OP]}, InvalidSyntax, "non-empty list"),
        ("User", {"schemas": [PATCH_OP], "Operations": []}, InvalidSyntax, "non-empty list"),
        ("User", {"schemas": [PATCH_OP], "Operations": {"op": "add"}}, InvalidSyntax, "non-empty list"),
        ("User", envelope(*[{"op": "remove", "path": "nickName"}] * 1001), TooMany, "at most 1000"),
        ("User", envelope("add"), InvalidSyntax, "must be an object"),
        ("User", envelope({"op": "copy", "path": "nickName"}), InvalidSyntax, "'copy'"),
        ("User", envelope({"path": "nickName", "value": "x"}), InvalidSyntax, '"op" must be'),
        ("User", envelope({"op": "remove"}), NoTarget, 'remove needs a "path"'),
        ("User", envelope({"op": "replace", "path": 5, "value": "x"}), InvalidPath, "must be a string"),
        (
            "User",
            envelope({"op": "replace", "path": "active", "value": "yes"}),
            InvalidValue,
            "active must be true or false; got 'yes'",
        ),
        (
            "User",
            envelope({"op": "replace", "path": "active", "value": 1}),
            InvalidValue,
            "active must be true or false; got a number",
        ),
        ("User", envelope({"op": "replace", "path": "nickname2", "value": "x"}), InvalidPath, "'nickname2'"),
        ("User", envelope({"op": "replace", "value": {"nickname2": "x"}}), InvalidPath, "'nickname2'"),
        (
            "User",
            envelope({"op": "replace", "path": "displayName", "value": {"a": 1}}),
            InvalidValue,
            "displayName must be a string; got an object",
        ),
        ("User", envelope({"op": "replace", "path": "userName", "value": "x" * 8193}), InvalidValue, "limit is 8192"),
        ("User", envelope({"op": "replace", "path": "id", "value": "x"}), Mutability, "id is read-only"),
        ("User", envelope({"op": "replace", "value": {"id": "x"}}), Mutability, "id is read-only"),
        ("User", envelope({"op": "replace", "path": "meta", "value": {}}), Mutability, "meta is read-only"),
        (
            "User",
            envelope({"op": "add", "path": "groups", "value": [{"value": "g"}]}),
            Mutability,
            "groups is read-only",
        ),
        (
            "User",
            envelope({"op": "add", "path": "members", "value": [{"value": "g"}]}),
            Mutability,
            "members is read-only",
        ),
        ("User", envelope({"op": "remove", "path": "userName"}), Mutability, "userName is required"),
        ("User", envelope({"op": "replace", "path": "userName", "value": None}), Mutability, "userName is required"),
        ("Group", envelope({"op": "remove", "path": "displayName"}), Mutability, "displayName is required"),
        (
            "User",
            envelope({"op": "replace", "path": f"{ENT}:manager.displayName", "value": "x"}),
            Mutability,
            "manager.displayName",
        ),
        (
            "User",
            envelope({"op": "remove", "path": "urn:ietf:params:scim:schemas:core:2.0:User"}),
            Mutability,
            "core schema",
        ),
        (
            "Group",
            envelope({"op": "replace", "path": 'members[value eq "a"].display', "value": "x"}),
            Mutability,
            "members.display",
        ),
        (
            "Group",
            envelope({"op": "add", "path": 'members[value eq "a"]', "value": [{"value": "a"}]}),
            InvalidPath,
            "To add members",
        ),
        ("Group", envelope({"op": "remove", "path": 'members[display eq "a"]'}), InvalidPath, "members filter"),
        ("Group", envelope({"op": "add", "path": "members"}), InvalidValue, "needs a value"),
        ("Group", envelope({"op": "add", "path": "members", "value": [{"value": ""}]}), InvalidValue, "Each member"),
        ("Group", envelope({"op": "add", "path": "members", "value": [{"display": "x"}]}), InvalidValue, "Each member"),
        ("Group", envelope({"op": "add", "path": "members", "value": BIG}), InvalidValue, "10000"),
        ("User", envelope({"op": "replace", "value": "x"}), InvalidValue, "need an object value"),
        ("User", envelope({"op": "replace", "value": {"": "x"}}), InvalidPath, "attribute name"),
        ("User", envelope({"op": "replace", "path": "nickName", "value": True}), InvalidValue, "got a boolean"),
        (
            "Group",
            envelope({"op": "replace", "path": ENT, "value": {"department": "x"}}),
            InvalidPath,
            "a Group does not",
        ),
        (
            "User",
            envelope({"op": "replace", "path": 'emails[type ne "work"].value', "value": "x"}),
            NoTarget,
            "cannot describe",
        ),
        (
            "User",
            envelope({"op": "add", "path": 'emails[type eq "a" or type eq "b"].value', "value": "x"}),
            NoTarget,
            "cannot describe",
        ),
        (
            "User",
            envelope({"op": "add", "path": 'emails[type eqq "a"].value', "value": "x"}),
            InvalidFilter,
            "position",
        ),
        (
            "User",
            envelope({"op": "add", "path": "emails", "value": [{"value": "x", "kind": "work"}]}),
            InvalidValue,
            "no sub-attribute 'kind'",
        ),
        ("User", envelope({"op": "add", "path": "emails", "value": ["x@y"]}), InvalidValue, "must be objects"),
        ("User", envelope({"op": "add", "path": "emails", "value": BIG}), InvalidValue, "at most 100 values"),
        (
            "User",
            envelope(
                {
                    "op": "replace",
                    "path": "emails",
                    "value": [{"value": "a", "primary": True}, {"value": "b", "primary": "True"}],
                }
            ),
            InvalidValue,
            "primary",
        ),
        ("User", envelope({"op": "add", "path": "roles", "value": [{"value": 7.5j}]}), InvalidValue, "non-empty"),
        (
            "User",
            envelope({"op": "add", "path": "roles", "value": [{"value": "{not json"}]}),
            InvalidValue,
            "JSON string",
        ),
        ("User", envelope({"op": "add", "path": "roles", "value": [7]}), InvalidValue, "got a number"),
        ("User", envelope({"op": "add", "path": "roles", "value": BIG}), InvalidValue, "at most 100 values"),
        (
            "User",
            envelope({"op": "add", "path": "manager", "value": [{"value": "a"}, {"value": "b"}]}),
            InvalidValue,
            "one value",
        ),
        ("User", envelope({"op": "add", "path": "manager", "value": 5}), InvalidValue, "manager must be"),
        (
            "User",
            envelope({"op": "add", "path": 'manager[value eq "nobody"].value', "value": "x"}),
            NoTarget,
            "manager",
        ),
        (
            "User",
            envelope({"op": "add", "path": 'name[givenName eq "nobody"].familyName', "value": "x"}),
            NoTarget,
            "name",
        ),
        (
            "User",
            envelope({"op": "add", "path": "urn:acme:1.0:User:x[a eq 1]", "value": "x"}),
            InvalidPath,
            "simple string",
        ),
        ("User", envelope({"op": "add", "path": "urn:acme:1.0:User:x.y", "value": "x"}), InvalidPath, "simple string"),
        (
            "User",
            envelope({"op": "add", "path": "urn:acme:1.0:User:x", "value": ["a"]}),
            InvalidValue,
            "x must be a string",
        ),
    ],
)
def test_errors(resource_type: str, body: Any, error: type[ScimError], fragment: str) -> None:
    with pytest.raises(error) as caught:
        run(USER if resource_type == "User" else GROUP, body, resource_type)
    assert caught.value.scim_type == error.scim_type
    assert fragment in caught.value.detail


def test_error_names_the_operation() -> None:
    body = envelope(
        {"op": "replace", "path": "nickName", "value": "ok"}, {"op": "replace", "path": "active", "value": "maybe"}
    )
    with pytest.raises(InvalidValue) as caught:
        run(USER, body)
    assert caught.value.detail.startswith("Operations[1]: active must be true or false")
    assert str(caught.value) == caught.value.detail


def test_error_details_do_not_echo_values() -> None:
    with pytest.raises(InvalidValue) as caught:
        run(USER, envelope({"op": "replace", "path": "displayName", "value": ["secret-ish@example.com"]}))
    assert "secret-ish" not in caught.value.detail


# Single role mode ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["roles", "entitlements"])
def test_single_mode_add_with_primary_false_is_kept_as_sent(name: str) -> None:
    """scim2-tester's check_add_attribute adds one value with "primary": false and reads it back (issue 21)."""
    current = user(**{name: [{"value": "Old", "primary": True}]})
    body = envelope({"op": "add", "path": name, "value": [{"value": "New", "primary": False}]})
    assert run(current, body, role_mode="single").data[name] == [
        {"value": "Old", "primary": True},
        {"value": "New", "primary": False},
    ]


@pytest.mark.parametrize("primary", [True, "True", None])
def test_single_mode_add_without_primary_false_sets_the_one_primary_role(primary: Any) -> None:
    """SingleAppRoleAssignment's shapes (no flag, or primary) replace the role (Entra quirk, §4.1)."""
    value: dict[str, Any] = {"value": "New"} | ({} if primary is None else {"primary": primary})
    body = envelope({"op": "add", "path": "roles", "value": [value]})
    current = user(roles=[{"value": "Old", "primary": True}])
    assert run(current, body, role_mode="single").data["roles"] == [{"value": "New", "primary": True}]
