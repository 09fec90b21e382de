"""`entra check`: every group and app role name Entra will send, judged as the endpoint will judge it.

The judgement is the service's own (scim.service.names.resolve under the directory's policy), so the check
cannot disagree with what Entra's provisioning log will show later.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

from scim.errors import InvalidValue
from scim.protocol.text import name_fold
from scim.service.names import broken_rule, closest, resolve


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # "group" or "role"
    name: str
    verdict: str  # "ok", "refused", "matched" (normalize folds it onto a catalog name) or "created"
    problem: str | None  # for refusals: "spaces", "accents", "case" or "missing"
    fix: str | None
    assigned: int  # assignments of it in Entra (for roles: users and groups holding the role)
    refusal: str | None = None  # the endpoint's own error detail, as Entra's provisioning log will show it

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _plain(name: str) -> str:
    """The name with accents and whitespace removed, case kept: a valid catalog name to suggest."""
    decomposed = unicodedata.normalize("NFKD", name)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c) and not c.isspace())
    return kept.encode("ascii", "ignore").decode() or name


def judge(kind: str, name: str, catalog: list[str], *, policy: str, directory: str, assigned: int = 0) -> Finding:
    """One name against the catalog; a refusal says what is wrong and the one command or rename that fixes it."""
    noun = "user group" if kind == "group" else "role"
    command = "group" if kind == "group" else "role"
    try:
        resolution = resolve(kind, name, catalog, policy)  # type: ignore[arg-type]
    except InvalidValue as exc:
        refusal = exc.detail
    else:
        if not resolution.exists:
            return Finding(kind, name, "created", None, None, assigned)
        verdict = "ok" if resolution.name == name else "matched"
        note = None if verdict == "ok" else f"accepted as {resolution.name!r} under the normalize policy"
        return Finding(kind, name, verdict, None, note, assigned)
    same_but_case = [c for c in catalog if c.casefold() == name.casefold()]
    rule = broken_rule(name)
    folded_match = [c for c in catalog if name_fold(c) == name_fold(name)]
    if same_but_case:
        problem, fix = "case", f"Rename it in Entra to {same_but_case[0]!r} (the catalog's exact spelling)."
    elif rule:
        problem = "spaces" if "spaces" in rule else "accents"
        if folded_match:
            fix = f"Rename it in Entra to {folded_match[0]!r}, the catalog's {noun} it stands for."
        else:
            plain = _plain(name)
            fix = (
                f"Rename it in Entra to a name without spaces or accents, e.g. {plain!r}, and add that name: "
                f"`scimctl {command} add --directory {directory} {plain}`."
            )
    else:
        problem = "missing"
        hint = closest(name, catalog)
        fix = f"Add it: `scimctl {command} add --directory {directory} {name}`"
        fix += f", or rename it in Entra to {hint!r}." if hint else "."
    return Finding(kind, name, "refused", problem, fix, assigned, refusal)


def assigned_names(
    assignments: list[dict[str, Any]], app_roles: list[dict[str, Any]]
) -> tuple[dict[str, int], dict[str, int]]:
    """({group name: assignments}, {role value: assignments}) from appRoleAssignedTo and the app's roles.

    Roles with no value (the template's default `User` access) send nothing, so they are not judged.
    """
    by_id = {str(r.get("id")): r for r in app_roles}
    groups: dict[str, int] = {}
    roles: dict[str, int] = {
        str(r["value"]): 0 for r in app_roles if r.get("value") and r.get("isEnabled", True) is not False
    }
    for a in assignments:
        if a.get("principalType") == "Group" and a.get("principalDisplayName"):
            name = str(a["principalDisplayName"])
            groups[name] = groups.get(name, 0) + 1
        role = by_id.get(str(a.get("appRoleId")))
        if role is not None and role.get("value") and str(role["value"]) in roles:
            roles[str(role["value"])] += 1
    return groups, roles
