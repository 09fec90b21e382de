"""`scimctl entra check`: the names Entra will send, judged against the catalog before provisioning."""

from __future__ import annotations

from tests.doubles.graph import GraphDouble
from tests.support.scimctl import Cli


def _set_up(cli: Cli, graph: GraphDouble, *, roles: list[str], policy: str = "strict") -> str:
    cli("directory", "create", "contoso", "--policy", policy)
    for role in roles:
        cli("role", "add", "--directory", "contoso", role)
    for group in ("FinanceTeam", "Operacoes", "PAM-Operators"):
        cli("group", "add", "--directory", "contoso", group)
    sp_id: str = cli("entra", "setup", "--directory", "contoso")["service_principal_id"]
    return sp_id


def _add_role_in_entra(graph: GraphDouble, sp_id: str, value: str) -> None:
    """An admin adds an app role by hand in the portal (what check exists to catch)."""
    sp = graph.service_principals[sp_id]
    role = {"allowedMemberTypes": ["User"], "description": value, "displayName": value, "isEnabled": True,
            "id": f"00000000-0000-4000-8000-{len(sp['appRoles']):012d}", "origin": "Application",
            "value": value}  # fmt: skip
    sp["appRoles"] = [*sp["appRoles"], role]


def test_matching_names_pass(cli: Cli, graph: GraphDouble) -> None:
    sp_id = _set_up(cli, graph, roles=["Auditor", "Operator"])
    alice = graph.add_user("alice@contoso.test", "Alice")
    graph.assign(sp_id, alice, "Auditor")
    for name in ("FinanceTeam", "PAM-Operators"):
        graph.assign(sp_id, graph.add_group(name), "Operator")
    report = cli("entra", "check", "--directory", "contoso")
    assert report["refused"] == 0 and report["policy"] == "strict"
    verdicts = {(n["kind"], n["name"]): (n["verdict"], n["assigned"]) for n in report["names"]}
    assert verdicts == {
        ("group", "FinanceTeam"): ("ok", 1), ("group", "PAM-Operators"): ("ok", 1),
        ("role", "Auditor"): ("ok", 1), ("role", "Operator"): ("ok", 2),
    }  # fmt: skip
    assert "All 4 names Entra will send match directory 'contoso' (strict policy)." in cli.text(
        "entra", "check", "--directory", "contoso"
    )
    # The assignments came over more than one page: the check followed @odata.nextLink.
    assert any(s.query.get("$skiptoken") for s in graph.seen if s.path.endswith("/appRoleAssignedTo"))


def test_every_name_that_will_be_refused_is_listed_with_its_fix(cli: Cli, graph: GraphDouble) -> None:
    sp_id = _set_up(cli, graph, roles=["Auditor"])
    for name in ("Finance Team", "Operações", "financeteam", "Treasury"):
        graph.assign(sp_id, graph.add_group(name))
    _add_role_in_entra(graph, sp_id, "auditor")
    _add_role_in_entra(graph, sp_id, "Help Desk")
    report = cli("entra", "check", "--directory", "contoso", code=1)
    found = {n["name"]: n for n in report["names"]}
    assert report["refused"] == 6
    assert (found["Finance Team"]["problem"], found["Finance Team"]["fix"]) == (
        "spaces", "Rename it in Entra to 'FinanceTeam', the catalog's user group it stands for.",
    )  # fmt: skip
    assert (found["Operações"]["problem"], found["Operações"]["fix"]) == (
        "accents", "Rename it in Entra to 'Operacoes', the catalog's user group it stands for.",
    )  # fmt: skip
    assert found["financeteam"]["problem"] == "case" and "'FinanceTeam'" in found["financeteam"]["fix"]
    assert found["auditor"]["problem"] == "case" and "'Auditor'" in found["auditor"]["fix"]
    assert found["Treasury"]["problem"] == "missing"
    assert found["Treasury"]["refusal"].startswith("The user group 'Treasury' was refused")  # the service's words
    assert found["Treasury"]["fix"].startswith("Add it: `scimctl group add --directory contoso Treasury`")
    assert found["Help Desk"]["problem"] == "spaces"
    assert "`scimctl role add --directory contoso HelpDesk`" in found["Help Desk"]["fix"]
    assert found["Auditor"]["verdict"] == "ok"
    text = cli.text("entra", "check", "--directory", "contoso", code=1)
    assert "[REFUSED] group 'Finance Team' (spaces), 1 assignment(s): Rename it in Entra to 'FinanceTeam'" in text
    assert "6 of 7 names will be refused; fix them before provisioning." in text


def test_normalize_policy_accepts_folded_names_and_still_refuses_unknown_ones(cli: Cli, graph: GraphDouble) -> None:
    sp_id = _set_up(cli, graph, roles=["Auditor"], policy="normalize")
    for name in ("Finance Team", "Operações", "Treasury"):
        graph.assign(sp_id, graph.add_group(name))
    report = cli("entra", "check", "--directory", "contoso", code=1)
    found = {n["name"]: n for n in report["names"]}
    assert found["Finance Team"]["verdict"] == "matched"
    assert found["Finance Team"]["fix"] == "accepted as 'FinanceTeam' under the normalize policy"
    assert found["Operações"]["verdict"] == "matched"
    assert found["Treasury"]["verdict"] == "refused" and report["refused"] == 1


def test_check_needs_the_app_to_exist(cli: Cli, graph: GraphDouble) -> None:
    cli("directory", "create", "contoso")
    cli("entra", "check", "--directory", "contoso", code=1)
    assert "no enterprise application is named 'SCIM contoso'" in cli.err
