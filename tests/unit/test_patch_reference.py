"""PATCH engine: every PATCH body of the Entra reference and of Microsoft's Postman collection, verbatim; none
mutates its input."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from scim.model import MemberChange
from tests.support.patch import ADMIN, ENT, GROUP, USER, WORK, envelope, run, user

# Every PATCH body Microsoft documents (docs/reference/entra-wire.md §1.2), verbatim -----------------------------

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

# Microsoft's Postman collection (docs/reference/entra-wire.md §6.2): every body with "Operations", verbatim but
# for trailing blanks.
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
