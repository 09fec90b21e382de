"""The Store contract (scim/store/base.py) as a suite: tests/store/test_contract.py subclasses it once per store."""

from __future__ import annotations

from typing import Any

import pytest

from scim.errors import Conflict, VersionMismatch
from scim.model import Client, Directory, Federation, Lookup, MemberChange, Resource, Role
from scim.store.base import Store
from scim.store.check import check_directory

D = "contoso"
CREATED = "2024-01-01T00:00:00Z"


def user(uid: str, user_name: str, **extra: Any) -> Resource:
    return Resource(id=uid, data={"userName": user_name, **extra}, created=CREATED, last_modified="c")


def group(gid: str, display_name: str, **extra: Any) -> Resource:
    return Resource(id=gid, data={"displayName": display_name, **extra}, created=CREATED, last_modified="c")


async def lookup_users(store: Store, attribute: str, value: str, directory: str = D) -> list[str]:
    page = await store.query_users(
        directory,
        lookup=Lookup(attribute, value),  # type: ignore[arg-type]
        match=None,
        start_index=1,
        count=100,
    )
    return [u.id for u in page.resources]


async def members_of(store: Store, gid: str, directory: str = D) -> list[str] | None:
    found = await store.get_group(directory, gid, with_members=True)
    assert found is not None
    return found.members


class StoreContract:
    """Every Store promise, on the store a subclass's ``store`` fixture yields."""

    user_groups_round_trips = 0  # storage round trips one user_groups() call costs

    @pytest.fixture
    def store(self) -> Store:
        raise NotImplementedError("a subclass provides the store under test")

    def forget_reads(self, store: Store) -> None:
        """Make ``store`` act as another instance that has read nothing yet (stores without a read cache: no-op)."""

    # Users ------------------------------------------------------------------------------------------
    async def test_create_get_replace_delete_user(self, store: Store) -> None:
        created = await store.create_user(D, user("u1", "ann@x.org", name={"givenName": "Ann"}))
        assert created.version and created.data["name"] == {"givenName": "Ann"}
        got = await store.get_user(D, "u1")
        assert got is not None and got.data == created.data and got.version == created.version
        assert got.created == "2024-01-01T00:00:00Z" and got.members is None

        replaced = await store.replace_user(
            D, Resource("u1", {"userName": "ann@x.org", "title": "Eng"}, "ignored", "m2"), expected_version=got.version
        )
        assert replaced is not None and replaced.version != got.version
        assert replaced.created == "2024-01-01T00:00:00Z", "meta.created never changes (RFC 7643 §3.1)"
        again = await store.get_user(D, "u1")
        assert again is not None and again.data == {"userName": "ann@x.org", "title": "Eng"}
        assert again.last_modified == "m2" and again.version == replaced.version

        assert await store.delete_user(D, "u1") is True
        assert await store.get_user(D, "u1") is None
        assert await store.delete_user(D, "u1") is False
        assert await store.replace_user(D, user("u1", "x"), expected_version=None) is None

    async def test_missing_and_odd_ids_are_not_found(self, store: Store) -> None:
        for odd in ["nope", "a/b#c?d", "ç ü", "x" * 2000, ""]:
            assert await store.get_user(D, odd) is None
            assert await store.get_group(D, odd, with_members=True) is None
            assert await store.delete_group(D, odd) is False

    async def test_ids_with_key_forbidden_characters_round_trip(self, store: Store) -> None:
        odd = "we/ird#id?\\%+'é"
        await store.create_user(D, user(odd, "odd"))
        got = await store.get_user(D, odd)
        assert got is not None and got.id == odd
        assert await lookup_users(store, "userName", "ODD") == [odd]

    async def test_results_and_inputs_are_copies(self, store: Store) -> None:
        given = user("u1", "ann", emails=[{"value": "a@x.org"}])
        created = await store.create_user(D, given)
        given.data["emails"].append({"value": "mutated@x.org"})
        created.data["emails"].append({"value": "mutated@x.org"})
        got = await store.get_user(D, "u1")
        assert got is not None and got.data["emails"] == [{"value": "a@x.org"}]
        got.data["userName"] = "changed"
        page = await store.query_users(D, lookup=None, match=None, start_index=1, count=10)
        assert page.resources[0].data["userName"] == "ann"

    async def test_user_name_is_unique_case_folded(self, store: Store) -> None:
        await store.create_user(D, user("u1", "Ann.Lee@X.org"))
        with pytest.raises(Conflict) as error:
            await store.create_user(D, user("u2", "ann.lee@x.ORG"))
        assert error.value.attribute == "userName"
        # German sharp s folds to "ss" (str.casefold), as RFC 7643 caseExact=false comparisons should.
        await store.create_user(D, user("u3", "Straße"))
        with pytest.raises(Conflict):
            await store.create_user(D, user("u4", "STRASSE"))
        assert await store.get_user(D, "u2") is None, "a failed create leaves nothing behind"
        assert await lookup_users(store, "userName", "ANN.LEE@x.org") == ["u1"]

    async def test_external_id_is_unique_and_case_exact(self, store: Store) -> None:
        await store.create_user(D, user("u1", "a", externalId="E-1"))
        with pytest.raises(Conflict) as error:
            await store.create_user(D, user("u2", "b", externalId="E-1"))
        assert error.value.attribute == "externalId"
        await store.create_user(D, user("u3", "c", externalId="e-1"))
        assert await lookup_users(store, "externalId", "E-1") == ["u1"]
        assert await lookup_users(store, "externalId", "e-1") == ["u3"]
        assert await lookup_users(store, "externalId", "E-2") == []
        assert await store.get_user(D, "u2") is None
        assert await lookup_users(store, "userName", "b") == [], "no orphan index entry from the failed create"

    async def test_duplicate_id_is_a_conflict(self, store: Store) -> None:
        await store.create_user(D, user("u1", "a"))
        with pytest.raises(Conflict) as error:
            await store.create_user(D, user("u1", "b"))
        assert error.value.attribute == "id"
        assert await lookup_users(store, "userName", "b") == []

    async def test_rename_moves_the_index(self, store: Store) -> None:
        first = await store.create_user(D, user("u1", "old", externalId="x1"))
        await store.replace_user(D, user("u1", "New", externalId="x2"), expected_version=first.version)
        assert await lookup_users(store, "userName", "old") == []
        assert await lookup_users(store, "userName", "new") == ["u1"]
        assert await lookup_users(store, "externalId", "x1") == []
        assert await lookup_users(store, "externalId", "x2") == ["u1"]
        await store.create_user(D, user("u2", "OLD", externalId="x1"))  # the old keys are free again
        with pytest.raises(Conflict):
            await store.create_user(D, user("u3", "new"))

    async def test_case_only_rename_and_dropping_external_id(self, store: Store) -> None:
        first = await store.create_user(D, user("u1", "ann", externalId="x1"))
        await store.replace_user(D, user("u1", "ANN"), expected_version=first.version)
        assert await lookup_users(store, "userName", "Ann") == ["u1"]
        assert await lookup_users(store, "externalId", "x1") == []
        await store.create_user(D, user("u2", "bob", externalId="x1"))

    async def test_rename_into_a_taken_name_changes_nothing(self, store: Store) -> None:
        await store.create_user(D, user("u1", "ann"))
        bob = await store.create_user(D, user("u2", "bob", externalId="b"))
        with pytest.raises(Conflict) as error:
            await store.replace_user(D, user("u2", "ANN"), expected_version=bob.version)
        assert error.value.attribute == "userName"
        with pytest.raises(Conflict):
            await store.replace_user(D, user("u1", "ann", externalId="b"), expected_version=None)
        got = await store.get_user(D, "u2")
        assert got is not None and got.data["userName"] == "bob" and got.version == bob.version
        assert await lookup_users(store, "userName", "bob") == ["u2"]

    async def test_replace_with_a_stale_version_is_refused(self, store: Store) -> None:
        first = await store.create_user(D, user("u1", "ann"))
        second = await store.replace_user(D, user("u1", "ann", title="a"), expected_version=first.version)
        assert second is not None
        with pytest.raises(VersionMismatch):
            await store.replace_user(D, user("u1", "zed", title="b"), expected_version=first.version)
        got = await store.get_user(D, "u1")
        assert got is not None and got.data == {"userName": "ann", "title": "a"}
        assert await lookup_users(store, "userName", "zed") == []

    async def test_lookup_by_every_indexed_attribute(self, store: Store) -> None:
        await store.create_user(D, user("u1", "ann", externalId="e1", displayName="Ann Lee"))
        await store.create_user(D, user("u2", "bob", displayName="ann lee"))
        assert await lookup_users(store, "id", "u1") == ["u1"]
        assert await lookup_users(store, "id", "u9") == []
        assert await lookup_users(store, "userName", "ANN") == ["u1"]
        assert await lookup_users(store, "externalId", "e1") == ["u1"]
        assert await lookup_users(store, "displayName", "ANN LEE") == ["u1", "u2"]
        await store.create_group(D, group("g1", "Admins", externalId="ext-g"), [])
        for attribute, value in [("id", "g1"), ("displayName", "admins"), ("externalId", "ext-g")]:
            page = await store.query_groups(
                D,
                lookup=Lookup(attribute, value),  # type: ignore[arg-type]
                match=None,
                start_index=1,
                count=10,
                with_members=False,
            )
            assert [g.id for g in page.resources] == ["g1"], attribute

    async def test_query_match_paging_and_order(self, store: Store) -> None:
        for n in [5, 3, 9, 1, 7, 2, 8]:
            await store.create_user(D, user(f"u{n}", f"name{n}", active=n % 2 == 1))
        everyone = await store.query_users(D, lookup=None, match=None, start_index=1, count=100)
        assert [u.id for u in everyone.resources] == ["u1", "u2", "u3", "u5", "u7", "u8", "u9"]
        assert everyone.total == 7

        def odd(r: Resource) -> bool:
            return r.data.get("active") is True

        page = await store.query_users(D, lookup=None, match=odd, start_index=2, count=2)
        assert [u.id for u in page.resources] == ["u3", "u5"] and page.total == 5
        last = await store.query_users(D, lookup=None, match=odd, start_index=5, count=10)
        assert [u.id for u in last.resources] == ["u9"] and last.total == 5
        beyond = await store.query_users(D, lookup=None, match=odd, start_index=6, count=10)
        assert beyond.resources == [] and beyond.total == 5
        counted = await store.query_users(D, lookup=None, match=None, start_index=0, count=0)
        assert counted.resources == [] and counted.total == 7
        zero = await store.query_users(D, lookup=None, match=None, start_index=0, count=1)
        assert [u.id for u in zero.resources] == ["u1"], "startIndex < 1 is read as 1 (RFC 7644 §3.4.2.4)"
        narrowed = await store.query_users(D, lookup=Lookup("userName", "NAME3"), match=odd, start_index=1, count=5)
        assert [u.id for u in narrowed.resources] == ["u3"]
        none = await store.query_users(D, lookup=Lookup("userName", "name2"), match=odd, start_index=1, count=5)
        assert none.resources == [] and none.total == 0

    async def test_existing_user_ids(self, store: Store) -> None:
        for n in range(20):
            await store.create_user(D, user(f"u{n:02}", f"n{n}"))
        asked = [f"u{n:02}" for n in range(0, 40, 2)] + ["u00", "x/y", "z" * 900]
        assert await store.existing_user_ids(D, asked) == {f"u{n:02}" for n in range(0, 20, 2)}
        assert await store.existing_user_ids(D, []) == set()
        assert await store.existing_user_ids("other", ["u01"]) == set()

    # Groups -----------------------------------------------------------------------------------------
    async def test_groups_with_members(self, store: Store) -> None:
        for n in range(3):
            await store.create_user(D, user(f"u{n}", f"n{n}"))
        created = await store.create_group(D, group("g1", "Admins"), ["u2", "u0", "u2"])
        assert created.members == ["u0", "u2"] and created.version
        assert await members_of(store, "g1") == ["u0", "u2"]
        bare = await store.get_group(D, "g1", with_members=False)
        assert bare is not None and bare.members is None and bare.data == {"displayName": "Admins"}
        assert bare.version == created.version
        with pytest.raises(Conflict) as error:
            await store.create_group(D, group("g2", "ADMINS"), ["u1"])
        assert error.value.attribute == "displayName"
        assert await store.get_group(D, "g2", with_members=True) is None
        page = await store.query_groups(D, lookup=None, match=None, start_index=1, count=10, with_members=True)
        assert [(g.id, g.members) for g in page.resources] == [("g1", ["u0", "u2"])]
        page = await store.query_groups(D, lookup=None, match=None, start_index=1, count=10, with_members=False)
        assert page.resources[0].members is None and page.total == 1

    async def test_update_group_members(self, store: Store) -> None:
        created = await store.create_group(D, group("g1", "Ops"), ["a", "b"])
        v1 = await store.update_group(
            D, "g1", data=None, last_modified="m1", members=MemberChange(add=["c", "a"]), expected_version=None
        )
        assert v1 is not None and v1.version != created.version and v1.last_modified == "m1"
        assert v1.data == {"displayName": "Ops"}
        assert await members_of(store, "g1") == ["a", "b", "c"]
        v2 = await store.update_group(
            D,
            "g1",
            data=None,
            last_modified="m2",
            members=MemberChange(remove=["a", "zz"]),
            expected_version=v1.version,
        )
        assert v2 is not None and v2.version != v1.version
        assert await members_of(store, "g1") == ["b", "c"]
        v3 = await store.update_group(
            D,
            "g1",
            data=None,
            last_modified="m3",
            members=MemberChange(add=["d"], remove_all=True),
            expected_version=v2.version,
        )
        assert v3 is not None
        assert await members_of(store, "g1") == ["d"]
        v4 = await store.update_group(
            D, "g1", data=None, last_modified="m4", members=MemberChange(), expected_version=v3.version
        )
        assert v4 is not None and v4.version != v3.version, "a new version even when nothing but meta changed"
        got = await store.get_group(D, "g1", with_members=False)
        assert got is not None and got.version == v4.version and got.last_modified == "m4"
        assert got.created == "2024-01-01T00:00:00Z"

    async def test_update_group_data_and_rename(self, store: Store) -> None:
        first = await store.create_group(D, group("g1", "Ops"), ["a"])
        await store.create_group(D, group("g2", "Dev"), [])
        with pytest.raises(Conflict) as error:
            await store.update_group(
                D, "g1", data={"displayName": "DEV"}, last_modified="m", members=MemberChange(), expected_version=None
            )
        assert error.value.attribute == "displayName"
        renamed = await store.update_group(
            D,
            "g1",
            data={"displayName": "Platform", "externalId": "p"},
            last_modified="m1",
            members=MemberChange(add=["b"]),
            expected_version=first.version,
        )
        assert renamed is not None and renamed.data == {"displayName": "Platform", "externalId": "p"}
        assert await members_of(store, "g1") == ["a", "b"]
        await store.create_group(D, group("g3", "ops"), [])  # the old name is free again
        with pytest.raises(Conflict):
            await store.create_group(D, group("g4", "PLATFORM"), [])

    async def test_update_group_version_mismatch_and_missing(self, store: Store) -> None:
        first = await store.create_group(D, group("g1", "Ops"), ["a"])
        change = MemberChange(add=["b"])
        await store.update_group(D, "g1", data=None, last_modified="m", members=change, expected_version=None)
        with pytest.raises(VersionMismatch):
            await store.update_group(
                D, "g1", data=None, last_modified="m", members=MemberChange(add=["c"]), expected_version=first.version
            )
        assert await members_of(store, "g1") == ["a", "b"], "a refused update writes no membership"
        missing = await store.update_group(
            D, "nope", data=None, last_modified="m", members=MemberChange(add=["c"]), expected_version=None
        )
        assert missing is None

    async def test_delete_user_removes_memberships(self, store: Store) -> None:
        await store.create_user(D, user("u1", "ann"))
        await store.create_user(D, user("u2", "bob"))
        await store.create_group(D, group("g1", "A"), ["u1", "u2"])
        await store.create_group(D, group("g2", "B"), ["u1"])
        assert await store.delete_user(D, "u1") is True
        assert await members_of(store, "g1") == ["u2"]
        assert await members_of(store, "g2") == []
        await store.create_user(D, user("u1", "ann"))  # the same id again starts with no memberships
        assert await members_of(store, "g2") == []

    async def test_get_users_reads_the_given_ids_in_order_and_skips_absent_ones(self, store: Store) -> None:
        for uid, name in (("u1", "ann"), ("u2", "bob"), ("u3", "cy")):
            await store.create_user(D, user(uid, name))
        found = await store.get_users(D, ["u3", "nobody", "u1", "x" * 2000])
        assert [(u.id, u.data["userName"]) for u in found] == [("u3", "cy"), ("u1", "ann")]
        assert await store.get_users(D, []) == [] and await store.get_users("other", ["u1"]) == []

    async def test_a_delete_at_another_version_removes_nothing(self, store: Store) -> None:
        """RFC 7644 §3.14: a DELETE with a stale If-Match leaves the resource, its index entries and memberships."""
        ann = await store.create_user(D, user("u1", "ann"))
        crew = await store.create_group(D, group("g1", "Crew"), ["u1"])
        with pytest.raises(VersionMismatch):
            await store.delete_user(D, "u1", expected_version='W/"stale"')
        with pytest.raises(VersionMismatch):
            await store.delete_group(D, "g1", expected_version='W/"stale"')
        assert await lookup_users(store, "userName", "ann") == ["u1"]
        assert await members_of(store, "g1") == ["u1"]
        assert await store.delete_group(D, "g1", expected_version=crew.version) is True
        assert await store.delete_user(D, "u1", expected_version=ann.version) is True
        assert await store.get_user(D, "u1") is None and await store.get_group(D, "g1", with_members=False) is None

    async def test_delete_group(self, store: Store) -> None:
        await store.create_group(D, group("g1", "A"), ["u1", "u2"])
        assert await store.delete_group(D, "g1") is True
        assert await store.get_group(D, "g1", with_members=True) is None
        assert await store.delete_group(D, "g1") is False
        recreated = await store.create_group(D, group("g1", "a"), [])
        assert recreated.members == []
        assert await members_of(store, "g1") == [], "no membership survives its group"

    async def test_directory_isolation(self, store: Store) -> None:
        await store.create_user("A", user("u1", "ann", externalId="e"))
        await store.create_user("B", user("u2", "ANN", externalId="e"))  # same names, other directory: allowed
        await store.create_group("A", group("g1", "Admins"), ["u1"])
        await store.create_group("B", group("g2", "admins"), ["u2"])
        assert await store.get_user("B", "u1") is None
        assert await lookup_users(store, "userName", "ann", "A") == ["u1"]
        assert await lookup_users(store, "userName", "ann", "B") == ["u2"]
        everyone = await store.query_users("B", lookup=None, match=None, start_index=1, count=10)
        assert [u.id for u in everyone.resources] == ["u2"]
        groups = await store.query_groups("A", lookup=None, match=None, start_index=1, count=10, with_members=True)
        assert [(g.id, g.members) for g in groups.resources] == [("g1", ["u1"])]
        assert await store.get_group("B", "g1", with_members=False) is None
        assert await store.delete_user("B", "u1") is False
        assert await members_of(store, "g1", "A") == ["u1"]
        assert await store.existing_user_ids("A", ["u1", "u2"]) == {"u1"}

    # Catalog, directories and clients ---------------------------------------------------------------
    async def test_roles(self, store: Store) -> None:
        await store.put_role(D, Role("Writer", "Can write"))
        await store.put_role(D, Role("Admin"))
        await store.put_role(D, Role("Writer", "Writes"))
        await store.put_role("other", Role("Other/Role#1"))
        assert await store.list_roles(D) == [Role("Admin"), Role("Writer", "Writes")]
        assert await store.list_roles("other") == [Role("Other/Role#1")]
        assert await store.delete_role(D, "Admin") is True
        assert await store.delete_role(D, "Admin") is False
        assert await store.list_roles(D) == [Role("Writer", "Writes")]

    async def test_directories(self, store: Store) -> None:
        assert await store.get_directory("d1") is None
        await store.put_directory(Directory("d2", name_policy="create", role_mode="multiple"))
        await store.put_directory(Directory("d1"))
        await store.put_directory(Directory("d1", name_policy="normalize"))
        assert await store.get_directory("d1") == Directory("d1", name_policy="normalize")
        assert [d.id for d in await store.list_directories()] == ["d1", "d2"]
        listed = await store.list_directories()
        listed[0].name_policy = "strict"
        assert await store.get_directory("d1") == Directory("d1", name_policy="normalize")
        await store.put_directory(Directory("d3", unique_external_id=True))
        assert await store.get_directory("d3") == Directory("d3", unique_external_id=True)

    async def test_clients(self, store: Store) -> None:
        client = Client("c2", "d1", networks=["10.0.0.0/8", "192.168.1.1/32"], created="2024-01-01T00:00:00Z")
        await store.put_client(client)
        await store.put_client(Client("c1", "d2", disabled=True))
        client.networks.append("mutated")
        got = await store.get_client("c2")
        assert got == Client("c2", "d1", networks=["10.0.0.0/8", "192.168.1.1/32"], created="2024-01-01T00:00:00Z")
        assert [c.id for c in await store.list_clients()] == ["c1", "c2"]
        assert (await store.list_clients())[0].disabled is True
        assert await store.delete_client("c1") is True
        assert await store.delete_client("c1") is False
        assert await store.get_client("c1") is None

    async def test_federated_clients_keep_their_federation(self, store: Store) -> None:
        federation = Federation(
            "72f988bf-86f1-41af-91ab-2d7cd011db47", "api://app", "object-id", "https://issuer.example"
        )
        await store.put_client(Client("c3", "d1", federation=federation))
        got = await store.get_client("c3")
        assert got is not None and got.federation == federation
        assert [c.federation for c in await store.list_clients()] == [federation]

    async def test_clients_pinned_to_a_tenant_keep_it(self, store: Store) -> None:
        await store.put_client(Client("c4", "d1", entra_issued_tenant="72f988bf-86f1-41af-91ab-2d7cd011db47"))
        got = await store.get_client("c4")
        assert got is not None and got.entra_issued_tenant == "72f988bf-86f1-41af-91ab-2d7cd011db47"
        await store.put_client(Client("c5", "d1"))
        assert [c.entra_issued_tenant for c in await store.list_clients()] == [got.entra_issued_tenant, ""]

    # The User groups attribute and externalId shared per directory -----------------------------------------------
    async def test_user_groups_lists_direct_groups_with_names(self, store: Store) -> None:
        for uid in ("u1", "u2", "u3", "~odd/id"):
            await store.create_user(D, user(uid, f"{uid}@x.org"))
        await store.create_group(D, group("g2", "Finance"), ["u1", "u2"])
        await store.create_group(D, group("g1", "Audit"), ["u1", "~odd/id"])
        await store.create_group("other", group("g9", "Elsewhere"), ["u1"])  # another directory's u1
        found = await store.user_groups(D, ["u1", "u2", "u3", "~odd/id", "nobody"])
        assert found == {
            "u1": [("g1", "Audit"), ("g2", "Finance")],
            "u2": [("g2", "Finance")],
            "u3": [],
            "~odd/id": [("g1", "Audit")],
            "nobody": [],
        }
        assert await store.user_groups(D, []) == {}

    async def test_user_groups_follow_member_changes_renames_and_deletes(self, store: Store) -> None:
        for uid in ("u1", "u2"):
            await store.create_user(D, user(uid, f"{uid}@x.org"))
        await store.create_group(D, group("g1", "Audit"), ["u1"])
        await store.update_group(
            D,
            "g1",
            data=None,
            last_modified="m",
            members=MemberChange(add=["u2"], remove=["u1"]),
            expected_version=None,
        )
        assert await store.user_groups(D, ["u1", "u2"]) == {"u1": [], "u2": [("g1", "Audit")]}
        renamed = {"displayName": "Auditors"}
        await store.update_group(
            D, "g1", data=renamed, last_modified="m", members=MemberChange(), expected_version=None
        )
        assert await store.user_groups(D, ["u2"]) == {"u2": [("g1", "Auditors")]}
        await store.delete_group(D, "g1")
        assert await store.user_groups(D, ["u2"]) == {"u2": []}

    async def test_user_groups_costs_one_round_trip(self, store: Store) -> None:
        for i in range(5):
            await store.create_user(D, user(f"u{i}", f"u{i}@x.org"))
        await store.create_group(D, group("g1", "Audit"), [f"u{i}" for i in range(5)])
        before = store.round_trips  # type: ignore[attr-defined]
        found = await store.user_groups(D, [f"u{i}" for i in range(5)])
        assert all(groups == [("g1", "Audit")] for groups in found.values())
        assert store.round_trips - before == self.user_groups_round_trips  # type: ignore[attr-defined]

    async def test_shared_external_id_is_neither_indexed_nor_unique(self, store: Store) -> None:
        await store.put_directory(Directory(D))  # the default: shared; check reads the setting from here
        await store.create_user(D, user("u1", "a@x.org", externalId="same"), unique_external_id=False)
        await store.create_user(D, user("u2", "b@x.org", externalId="same"), unique_external_id=False)
        moved = Resource("u2", {"userName": "b@x.org", "externalId": "other"}, CREATED, "m")
        assert await store.replace_user(D, moved, expected_version=None, unique_external_id=False) is not None
        back = Resource("u2", {"userName": "b@x.org", "externalId": "same"}, CREATED, "m")
        assert await store.replace_user(D, back, expected_version=None, unique_external_id=False) is not None
        assert await store.delete_user(D, "u1")
        assert (await check_directory(store, D, repair=False)).consistent
        # A directory that makes it unique starts empty (AdminService refuses the switch once users exist).
        await store.create_user("fresh", user("u3", "c@x.org", externalId="same"))
        with pytest.raises(Conflict):
            await store.create_user("fresh", user("u4", "d@x.org", externalId="same"))

    async def test_user_groups_names_groups_whose_entries_carry_no_display(self, store: Store) -> None:
        """A member change that reads no group (another instance, no If-Match) writes no Display; the name shows."""
        await store.create_user(D, user("u1", "a@x.org"))
        await store.create_group(D, group("g1", "Audit"), [])
        self.forget_reads(store)  # as another instance that never read the group
        change = MemberChange(add=["u1"])
        await store.update_group(D, "g1", data=None, last_modified="m", members=change, expected_version=None)
        assert await store.user_groups(D, ["u1"]) == {"u1": [("g1", "Audit")]}
