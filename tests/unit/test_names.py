"""Name refusals say only what is true and offer a fix that works (README "Group names and roles")."""

from __future__ import annotations

import pytest

from scim.errors import InvalidValue
from scim.service.names import resolve


def refused(kind: str, name: str, catalog: list[str], policy: str = "strict") -> str:
    with pytest.raises(InvalidValue) as info:
        resolve(kind, name, catalog, policy)  # type: ignore[arg-type]
    return str(info.value.detail)


def test_an_unrelated_name_gets_no_closest_suggestion() -> None:
    detail = refused("group", "Marketing", ["FinanceTeam", "HumanResources"])
    assert "closest" not in detail
    assert "scimctl group add" in detail


def test_a_typo_still_gets_the_close_name() -> None:
    assert "The closest existing user group is 'FinanceTeam'." in refused("group", "FinanceTeem", ["FinanceTeam"])


def test_the_spaces_and_accents_rule_is_named_only_when_broken() -> None:
    plain = refused("role", "Auditor", ["Admin"])
    assert "no spaces" not in plain and "accents" not in plain and "naming rule" not in plain
    spaced = refused("role", "Super Admin", ["SuperAdmin"])
    assert "naming rule (it contains spaces)" in spaced


def test_a_name_with_spaces_points_to_the_normalize_policy_not_to_a_refused_scimctl_add() -> None:
    linked = refused("group", "Finance Team", ["FinanceTeam"])
    assert "policy to normalize" in linked and "scimctl directory set-policy" in linked
    assert "add it" not in linked  # scimctl refuses names with spaces: no dead end
    # No catalog entry folds to it: the admin adds the plain form and turns normalize on.
    unknown = refused("group", "Sales Team", ["FinanceTeam"])
    assert "add 'SalesTeam' (scimctl group add)" in unknown and "policy to normalize" in unknown
    assert "closest" not in unknown
    accented = refused("role", "Administração", ["Administracao"])
    assert "Rename it in Entra to 'Administracao'" in accented and "normalize" in accented


def test_under_normalize_the_fix_is_the_plain_name_to_add() -> None:
    detail = refused("group", "Sales Team", ["FinanceTeam"], "normalize")
    assert "even ignoring case, spaces and accents" in detail
    assert "add 'SalesTeam' (scimctl group add)" in detail
    assert "set-policy" not in detail  # the policy is already normalize
