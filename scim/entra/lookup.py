"""Finding the provisioning application, its job and the users or groups an admin names."""

from __future__ import annotations

from typing import Any

from scim.entra.graph import Graph, GraphError
from scim.model import GUID

JOB_TEMPLATE = "scim"


def default_app_name(directory: str) -> str:
    return f"SCIM {directory}"


def _quote(value: str) -> str:
    """An OData string literal: single quotes doubled (OData URL conventions §5.1.1.6.1)."""
    return "'" + value.replace("'", "''") + "'"


def find_service_principal(graph: Graph, name: str) -> dict[str, Any] | None:
    """The service principal with exactly this display name; two of them is an error the admin must settle."""
    found = graph.list("/servicePrincipals", params={"$filter": f"displayName eq {_quote(name)}"})
    found = [sp for sp in found if sp.get("displayName") == name]
    if len(found) > 1:
        ids = ", ".join(str(sp.get("id")) for sp in found)
        raise GraphError(
            "GET", "/servicePrincipals", 409, "AmbiguousName",
            f"{len(found)} enterprise applications are named {name!r} ({ids}); rename one or pass another --app-name",
        )  # fmt: skip
    return found[0] if found else None


def require_service_principal(graph: Graph, name: str) -> dict[str, Any]:
    sp = find_service_principal(graph, name)
    if sp is None:
        raise GraphError(
            "GET", "/servicePrincipals", 404, "NotFound",
            f"no enterprise application is named {name!r}; run `scimctl entra setup` or pass --app-name",
        )  # fmt: skip
    return sp


def scim_job(graph: Graph, sp_id: str) -> dict[str, Any] | None:
    jobs = graph.list(f"/servicePrincipals/{sp_id}/synchronization/jobs", eventual=True)
    for job in jobs:
        if job.get("templateId") == JOB_TEMPLATE:
            return dict(job)
    return None


def require_job(graph: Graph, sp_id: str, name: str) -> dict[str, Any]:
    job = scim_job(graph, sp_id)
    if job is None:
        raise GraphError(
            "GET", "synchronization/jobs", 404, "NoJob",
            f"{name!r} has no provisioning job yet; run `scimctl entra setup`",
        )  # fmt: skip
    return job


def find_subject(graph: Graph, who: str) -> tuple[str, str, str]:
    """(object id, "User" or "Group", display name) for an object id, a userPrincipalName or a group name."""
    if GUID.fullmatch(who.lower()):
        for kind, path in (("User", "/users/"), ("Group", "/groups/")):
            try:
                found = graph.get(path + who, params={"$select": "id,displayName"})
            except GraphError as exc:
                if exc.status == 404:
                    continue
                raise
            return str(found["id"]), kind, str(found.get("displayName") or who)
        raise GraphError("GET", "/users", 404, "NotFound", f"no user or group has the object id {who}")
    if "@" in who:
        user = graph.get(f"/users/{who}", params={"$select": "id,displayName,userPrincipalName"})
        return str(user["id"]), "User", str(user.get("userPrincipalName") or who)
    groups = graph.list("/groups", params={"$filter": f"displayName eq {_quote(who)}", "$select": "id,displayName"})
    if len(groups) != 1:
        problem = "no group" if not groups else f"{len(groups)} groups"
        raise GraphError(
            "GET", "/groups", 404, "NotFound",
            f"{problem} named {who!r} in Entra; give a userPrincipalName, a group name or an object id",
        )  # fmt: skip
    return str(groups[0]["id"]), "Group", str(groups[0].get("displayName") or who)
