"""An HTTPS double of Microsoft Graph v1.0 and of the identity platform's token endpoints, for `scimctl entra`.

Real msal and requests talk to it over TLS (a certificate the tests make), so the sign-in flows, the token
cache, the retries and every Graph call run as they would against Entra. Each shape it serves names the
Graph or identity-platform reference page it follows. The identity pages are under
https://learn.microsoft.com/en-us/entra/identity-platform/, the Graph pages under
https://learn.microsoft.com/en-us/graph/api/ (source: microsoftgraph/microsoft-graph-docs-contrib,
api-reference/v1.0/api/<page>.md).

It runs its own event loop in a thread, because each scimctl command runs asyncio.run in the test's thread.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from aiohttp import web

from tests.doubles.graph_schema import default_schema
from tests.doubles.identity import IdentityPlatform
from tests.doubles.tls import serve_tls

NON_GALLERY = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621"
PAGE = 2  # small pages, so list calls must follow @odata.nextLink


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    retry_after: str | None
    times: int


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class Job:
    id: str
    schema: dict[str, Any]
    state: str = "Disabled"
    code: str = "NotConfigured"
    quarantine: dict[str, Any] | None = None
    last_execution: dict[str, Any] | None = None
    counts: list[dict[str, Any]] = field(default_factory=list)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """Graph's error body (https://learn.microsoft.com/en-us/graph/errors)."""
    body = {"error": {"code": code, "message": message,
                      "innerError": {"date": "2026-12-02T07:00:00", "request-id": str(uuid.uuid4())}}}  # fmt: skip
    return web.json_response(body, status=status, headers=headers)


class GraphDouble(IdentityPlatform):
    """Graph and the token endpoints on https://127.0.0.1:<port>; the tenant is a path segment as in Entra."""

    def __init__(self, tenant: str = "contoso.onmicrosoft.com") -> None:
        super().__init__(tenant)
        self.seen: list[Seen] = []
        self.sp_lag = 0  # how many 404s a new service principal answers before it is visible
        self.validation_error: tuple[int, str, str] | None = None  # every validateCredentials fails so
        self.inline_error: tuple[int, str, str] | None = None  # only the check of credentials given inline
        self.saved_error: tuple[int, str, str] | None = None  # only the check of the saved credentials
        self.connectivity: dict[str, dict[str, str]] = {}  # beta connectivityParameters as sent (lower-case keys)
        self.on_demand: dict[str, Any] = {"result": "Success", "details": {}}
        self.on_demand_steps: list[dict[str, Any]] = []
        self.on_demand_status: dict[str, Any] = {}
        self.logs: list[dict[str, Any]] = []
        self.logs_error: tuple[int, str, str] | None = None
        self.applications: dict[str, dict[str, Any]] = {}
        self.service_principals: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, list[Job]] = {}
        self.secrets: dict[str, dict[str, str]] = {}
        self.assignments: dict[str, list[dict[str, Any]]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}  # path -> body served without auth (SAML metadata of an SP)
        self._faults: deque[Fault] = deque()
        self._hidden: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # Test controls ----------------------------------------------------------------------------
    def fail(self, method: str, path: str, status: int, *, retry_after: str | None = None, times: int = 1) -> None:
        """Answer the next ``times`` requests matching ``method`` and the ``path`` regex with ``status``."""
        self._faults.append(Fault(method, re.compile(path), status, retry_after, times))

    def add_user(self, upn: str, name: str) -> str:
        oid = str(uuid.uuid4())
        self.users[oid] = {"id": oid, "displayName": name, "userPrincipalName": upn}
        return oid

    def add_group(self, name: str) -> str:
        oid = str(uuid.uuid4())
        self.groups[oid] = {"id": oid, "displayName": name}
        return oid

    def assign(self, sp_id: str, principal_id: str, role_value: str | None = None) -> None:
        """An appRoleAssignment of a user or group (approleassignment resource); None = default access."""
        sp = self.service_principals[sp_id]
        role_id = "00000000-0000-0000-0000-000000000000"
        if role_value is not None:
            role_id = next(r["id"] for r in self._app_of(sp)["appRoles"] if r.get("value") == role_value)
        principal = self.users.get(principal_id) or self.groups[principal_id]
        self.assignments.setdefault(sp_id, []).append({
            "id": secrets.token_urlsafe(16), "appRoleId": role_id, "createdDateTime": "2026-12-01T10:00:00Z",
            "principalDisplayName": principal["displayName"], "principalId": principal_id,
            "principalType": "User" if principal_id in self.users else "Group",
            "resourceDisplayName": sp["displayName"], "resourceId": sp_id,
        })  # fmt: skip

    def sp_named(self, name: str) -> dict[str, Any]:
        return next(sp for sp in self.service_principals.values() if sp["displayName"] == name)

    def job_of(self, sp_id: str) -> Job:
        return self.jobs[sp_id][0]

    def writes(self) -> list[tuple[str, str]]:
        """Graph requests that change something (validateCredentials changes nothing)."""
        reads = ("GET",)
        return [(s.method, s.path) for s in self.seen if s.method not in reads and "/oauth2/" not in s.path
                and not s.path.endswith("/validateCredentials")]  # fmt: skip

    def _app_of(self, sp: dict[str, Any]) -> dict[str, Any]:
        return next(a for a in self.applications.values() if a["appId"] == sp["appId"])

    # Server -----------------------------------------------------------------------------------
    def start(self, cert: Path, key: Path) -> str:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._serve(cert, key), self._loop).result(10)
        return self.url

    async def _serve(self, cert: Path, key: Path) -> str:
        self._runner, url = await serve_tls(self._handle, cert, key)
        return url

    def stop(self) -> None:
        if self._loop is None or self._runner is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(self._runner), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @staticmethod
    async def _shutdown(runner: web.AppRunner) -> None:
        server = runner.server
        for connection in list(server.connections if server else []):
            if connection.transport is not None:  # keep-alive TLS connections: no close_notify wait
                connection.transport.abort()
        await runner.cleanup()
        await asyncio.sleep(0.05)  # let the closed connections' transports finish closing before the loop stops

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        text = await request.text()
        query = dict(request.query)
        if request.content_type == "application/x-www-form-urlencoded":
            form = {k: v[0] for k, v in parse_qs(text).items()}
            self.seen.append(Seen(request.method, path, query, {k: v for k, v in form.items() if k == "grant_type"}))
            return self.identity(request, path, form)
        body = json.loads(text) if text else None
        self.seen.append(Seen(request.method, path, query, body))
        if path in self.files and request.method == "GET":  # a service provider's own site, not Graph
            return web.Response(body=self.files[path], content_type="application/samlmetadata+xml")
        if path.startswith(f"/{self.tenant}/"):
            return self.identity(request, path, {})
        for fault in list(self._faults):
            if fault.method == request.method and fault.path.search(path):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
                code = {429: "TooManyRequests", 401: "InvalidAuthenticationToken"}.get(
                    fault.status, "ServiceUnavailable"
                )
                return _error(fault.status, code, "Refused by the double.", headers)
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not self.accepts(auth[7:]):
            return _error(401, "InvalidAuthenticationToken", "Access token is empty or invalid.")
        beta = re.fullmatch(r"/beta/servicePrincipals/([^/]+)/synchronization/connectivityParameters", path)
        if beta and request.method == "PATCH":
            return self._connectivity(beta.group(1), body)
        if not path.startswith("/v1.0/"):
            return _error(400, "BadRequest", f"Only v1.0 (and beta connectivityParameters) is served here, not {path}.")
        return self._graph(request.method, path[len("/v1.0") :], query, body)

    def _connectivity(self, sp_id: str, body: Any) -> web.Response:
        """beta PATCH .../synchronization/connectivityParameters, the admin center's save: {"value": [{key, value}]}
        with lower-case keys, merged into what is saved (AzureAD/SCIMReferenceCode, Microsoft.SCIM.
        LogicAppValidationTemplate/StandardLogicApp/scim-onboarding.agent.md; Graph has no reference page)."""
        if sp_id not in self.service_principals:
            return _error(404, "Request_ResourceNotFound", f"Resource '{sp_id}' does not exist.")
        pairs = {pair["key"]: pair["value"] for pair in body["value"]}
        if "SyncAll" in pairs or "SyncNotificationSettings" in pairs:  # the notes: not connectivity parameters
            return _error(400, "BadRequest", "SyncAll is not a connectivity parameter.")
        self.connectivity.setdefault(sp_id, {}).update(pairs)
        saved = self.secrets.setdefault(sp_id, {})
        for key, value in pairs.items():  # the same values under the v1.0 secret key names
            saved[key[0].upper() + key[1:]] = value
        if pairs.get("authenticationType") == "OAuth2ClientCredentialsGrant":
            saved.pop("SecretToken", None)  # the notes: never both; a mode replaces the other's keys
        for job in self.jobs.get(sp_id, []):
            job.code = "NotRun" if job.code == "NotConfigured" else job.code
        return web.Response(status=204)

    # Graph ------------------------------------------------------------------------------------
    def _graph(self, method: str, path: str, query: dict[str, str], body: Any) -> web.Response:
        parts = path.strip("/").split("/")
        if method == "POST" and path == f"/applicationTemplates/{NON_GALLERY}/instantiate":
            return self._instantiate(body)
        if parts[0] == "servicePrincipals":
            return self._service_principals(method, parts[1:], query, body)
        if parts[0] == "applications":
            return self._applications(method, parts[1:], query, body)
        if path == "/auditLogs/provisioning" and method == "GET":
            return self._provisioning_logs(query)
        if parts[0] in ("users", "groups") and method == "GET":
            return self._directory_object(parts, query)
        return _error(400, "BadRequest", f"Unsupported {method} {path}")

    def _page(self, items: list[dict[str, Any]], query: dict[str, str], path: str) -> web.Response:
        """A collection page; beyond PAGE items, @odata.nextLink carries $skiptoken (Graph's paging page)."""
        start = int(query.get("$skiptoken", "0"))
        body: dict[str, Any] = {"@odata.context": f"{self.url}/v1.0/$metadata#{path.strip('/')}",
                                "value": items[start : start + PAGE]}  # fmt: skip
        if start + PAGE < len(items):
            rest = {k: v for k, v in query.items() if k != "$skiptoken"} | {"$skiptoken": str(start + PAGE)}
            body["@odata.nextLink"] = f"{self.url}/v1.0{path}?{urlencode(rest)}"
        return web.json_response(body)

    @staticmethod
    def _eq(query: dict[str, str], name: str) -> str | None:
        match = re.fullmatch(rf"{name} eq '((?:[^']|'')*)'", query.get("$filter", ""))
        return match.group(1).replace("''", "'") if match else None

    def _instantiate(self, body: dict[str, Any]) -> web.Response:
        """applicationtemplate-instantiate.md: 201 with the application and its service principal."""
        app_id, app_oid, sp_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
        # The template's roles: User (value null) and msiam_access (application-proxy-configure-api.md).
        roles = [
            {"allowedMemberTypes": ["User"], "description": "User", "displayName": "User",
             "id": "18d14569-c3bd-439b-9a66-3a2aee01d14f", "isEnabled": True, "origin": "Application", "value": None},
            {"allowedMemberTypes": ["User"], "description": "msiam_access", "displayName": "msiam_access",
             "id": "b9632174-c057-4f7e-951b-be3adc52bfe6", "isEnabled": True, "origin": "Application", "value": None},
        ]  # fmt: skip
        name = body["displayName"]
        app = {"id": app_oid, "appId": app_id, "displayName": name, "appRoles": roles, "identifierUris": [],
               "web": {"homePageUrl": None, "redirectUris": []}}  # fmt: skip
        sp = {"id": sp_id, "appId": app_id, "displayName": name, "applicationTemplateId": NON_GALLERY,
              "servicePrincipalType": "Application", "appRoles": roles, "keyCredentials": [],
              "preferredSingleSignOnMode": None, "preferredTokenSigningKeyThumbprint": None}  # fmt: skip
        self.applications[app_oid] = app
        self.service_principals[sp_id] = sp
        self._hidden[sp_id] = self.sp_lag
        return web.json_response({"@odata.context": f"{self.url}/v1.0/$metadata#microsoft.graph."
                                  "applicationServicePrincipal", "application": app, "servicePrincipal": sp},
                                 status=201)  # fmt: skip

    def _applications(self, method: str, parts: list[str], query: dict[str, str], body: Any) -> web.Response:
        if method == "GET" and not parts:  # application-list.md with $filter=appId eq '...'
            app_id = self._eq(query, "appId")
            return self._page([a for a in self.applications.values() if a["appId"] == app_id], query, "/applications")
        if method == "PATCH" and len(parts) == 1 and parts[0] in self.applications:  # application-update.md: 204
            app = self.applications[parts[0]]
            app.update(body)  # top-level properties replace (application-update.md)
            for sp in self.service_principals.values():  # the service principal mirrors the app's roles
                if sp["appId"] == app["appId"]:
                    sp["appRoles"] = app["appRoles"]
            return web.Response(status=204)
        return _error(404, "Request_ResourceNotFound", f"Resource '{'/'.join(parts)}' does not exist.")

    def _service_principals(self, method: str, parts: list[str], query: dict[str, str], body: Any) -> web.Response:
        if not parts and method == "GET":  # serviceprincipal-list.md with $filter=displayName eq '...'
            name = self._eq(query, "displayName")
            found = [sp for sp in self.service_principals.values() if sp["displayName"] == name]
            return self._page(found, query, "/servicePrincipals")
        sp_id = parts[0]
        if sp_id not in self.service_principals or self._hidden.get(sp_id, 0) > 0:
            if sp_id in self._hidden:
                self._hidden[sp_id] -= 1
            # serviceprincipal-get.md on an id not (yet) replicated: Graph's 404 error body.
            return _error(404, "Request_ResourceNotFound",
                          f"Resource '{sp_id}' does not exist or one of its queried reference-property objects "
                          "are not present.")  # fmt: skip
        rest = parts[1:]
        sp = self.service_principals[sp_id]
        if not rest and method == "GET":  # serviceprincipal-get.md
            return web.json_response(sp)
        if not rest and method == "PATCH":  # serviceprincipal-update.md: 204
            sp.update(body)
            return web.Response(status=204)
        if rest == ["addTokenSigningCertificate"] and method == "POST":
            # serviceprincipal-addtokensigningcertificate.md: 200 with a selfSignedCertificate (no private key).
            thumbprint = secrets.token_hex(20).upper()
            key = {"customKeyIdentifier": thumbprint, "displayName": body["displayName"],
                   "keyId": str(uuid.uuid4()), "endDateTime": body["endDateTime"],
                   "startDateTime": "2026-12-02T07:00:00Z", "thumbprint": thumbprint, "type": "AsymmetricX509Cert",
                   "usage": "Verify", "key": "MIIC..."}  # fmt: skip
            sp["keyCredentials"] = [*sp["keyCredentials"], key]
            context = f"{self.url}/v1.0/$metadata#microsoft.graph.selfSignedCertificate"
            return web.json_response({"@odata.context": context, **key})
        if rest == ["appRoleAssignedTo"] and method == "GET":  # serviceprincipal-list-approleassignedto.md
            return self._page(self.assignments.get(sp_id, []), query, f"/servicePrincipals/{sp_id}/appRoleAssignedTo")
        if rest[:1] == ["synchronization"]:
            return self._synchronization(method, sp_id, rest[1:], query, body)
        return _error(400, "BadRequest", f"Unsupported {method} {'/'.join(parts)}")

    def _synchronization(
        self, method: str, sp_id: str, rest: list[str], query: dict[str, str], body: Any
    ) -> web.Response:
        jobs = self.jobs.setdefault(sp_id, [])
        if rest == ["templates"] and method == "GET":  # synchronization-synchronization-list-templates.md
            template = {"id": "scim", "applicationId": self.service_principals[sp_id]["appId"], "default": True,
                        "description": "SCIM provisioning", "discoverable": True, "factoryTag": "scim",
                        "metadata": [], "schema": None}  # fmt: skip
            return self._page([template], query, f"/servicePrincipals/{sp_id}/synchronization/templates")
        if rest == ["secrets"] and method == "PUT":  # synchronization-serviceprincipal-put-synchronization.md: 204
            self.secrets[sp_id] = {pair["key"]: pair["value"] for pair in body["value"]}
            for each in jobs:
                each.code = "NotRun" if each.code == "NotConfigured" else each.code
            return web.Response(status=204)
        if rest == ["jobs"] and method == "GET":  # synchronization-synchronization-list-jobs.md
            return self._page([self._job(j) for j in jobs], query, f"/servicePrincipals/{sp_id}/synchronization/jobs")
        if rest == ["jobs"] and method == "POST":  # synchronization-synchronization-post-jobs.md: 201, Disabled
            if body.get("templateId") != "scim":
                return _error(400, "BadRequest", f"Template {body.get('templateId')!r} is not offered.")
            created = Job(f"scim.{uuid.uuid4().hex}.{uuid.uuid4()}", default_schema())
            jobs.append(created)
            return web.json_response(self._job(created), status=201)
        job = next((j for j in jobs if rest[1:2] == [j.id]), None) if rest[:1] == ["jobs"] else None
        if job is None:
            return _error(404, "Request_ResourceNotFound", f"Job {'/'.join(rest)} does not exist.")
        action = rest[2:]
        if not action and method == "GET":  # synchronization-synchronizationjob-get.md
            return web.json_response(self._job(job))
        if action == ["schema"] and method == "GET":  # synchronization-synchronizationschema-get.md
            return web.json_response(job.schema)
        if action == ["schema"] and method == "PUT":  # synchronization-synchronizationschema-update.md: 204
            job.schema = body
            return web.Response(status=204)
        if action == ["start"] and method == "POST":  # synchronization-synchronizationjob-start.md: 204
            job.state = "Active"
            return web.Response(status=204)
        if action == ["validateCredentials"] and method == "POST":
            # synchronization-synchronizationjob-validatecredentials.md: 204 when the credentials work.
            if body.get("useSavedCredentials"):
                if sp_id not in self.secrets:
                    return _error(400, "CredentialValidationUnavailable", "No saved credentials to validate.")
                failure = self.validation_error or self.saved_error
            else:
                keys = [pair["key"] for pair in body.get("credentials") or []]
                if not keys:
                    return _error(400, "RequestMissingRequiredParameter", "credentials is required.")
                unknown = next((k for k in keys if k == "CredentialLocationInRequest"), None)
                if unknown:  # the onboarding agent notes: this key is connectivity-only
                    return _error(500, "InternalError", f"Requested value '{unknown}' was not found.")
                failure = self.validation_error or self.inline_error
            return _error(*failure) if failure else web.Response(status=204)
        if action == ["provisionOnDemand"] and method == "POST":
            return self._provision_on_demand(job, body)
        return _error(400, "BadRequest", f"Unsupported {method} {'/'.join(rest)}")

    def _job(self, job: Job) -> dict[str, Any]:
        """synchronizationJob with synchronizationStatus and synchronizationQuarantine (their resource pages)."""
        return {
            "id": job.id, "templateId": "scim",
            "schedule": {"expiration": None, "interval": "PT40M", "state": job.state},
            "status": {"code": job.code, "countSuccessiveCompleteFailures": 0, "escrowsPruned": False,
                       "lastExecution": job.last_execution, "lastSuccessfulExecution": None,
                       "lastSuccessfulExecutionWithExports": None, "progress": [],
                       "quarantine": job.quarantine, "synchronizedEntryCountByType": job.counts,
                       "steadyStateFirstAchievedTime": "0001-01-01T00:00:00Z",
                       "steadyStateLastAchievedTime": "0001-01-01T00:00:00Z", "troubleshootingUrl": None},
            "synchronizationJobSettings": [],
        }  # fmt: skip

    def _provision_on_demand(self, job: Job, body: dict[str, Any]) -> web.Response:
        """synchronization-synchronizationjob-provisionondemand.md: 200 whatever happened; the verdict is the
        JSON string in `key`, the steps the JSON string in `value` (stringKeyStringValuePair)."""
        (parameter,) = body["parameters"]
        rule_ids = {r["id"] for r in job.schema["synchronizationRules"]}
        if parameter["ruleId"] not in rule_ids:
            return _error(400, "BadRequest", "The ruleId is not a rule of this job.")
        subject = parameter["subjects"][0]
        value = {"action": "Create", "changeId": str(uuid.uuid4()), "provisioningSteps": self.on_demand_steps,
                 "statusInfo": self.on_demand_status,
                 "sourceIdentity": {"id": subject["objectId"], "type": subject["objectTypeName"]}}  # fmt: skip
        return web.json_response({
            "@odata.context": f"{self.url}/v1.0/$metadata#microsoft.graph.stringKeyStringValuePair",
            "key": json.dumps(self.on_demand), "value": json.dumps(value),
        })  # fmt: skip

    def _provisioning_logs(self, query: dict[str, str]) -> web.Response:
        """provisioningobjectsummary-list.md: $filter (eq), $orderby, $top; Entra ID P1/P2 needed."""
        if self.logs_error:
            return _error(*self.logs_error)
        wanted = re.findall(r"(\S+) eq '([^']*)'", query.get("$filter", ""))
        rows = self.logs
        for name, value in wanted:
            rows = [r for r in rows if _dig(r, name.split("/")) == value]
        rows = sorted(rows, key=lambda r: str(r["activityDateTime"]), reverse="desc" in query.get("$orderby", ""))
        return web.json_response({"@odata.context": f"{self.url}/v1.0/$metadata#auditLogs/provisioning",
                                  "value": rows[: int(query.get("$top", "50"))]})  # fmt: skip

    def _directory_object(self, parts: list[str], query: dict[str, str]) -> web.Response:
        table = self.users if parts[0] == "users" else self.groups
        if len(parts) == 1:  # group-list.md with $filter=displayName eq '...'
            name = self._eq(query, "displayName")
            return self._page([g for g in table.values() if g["displayName"] == name], query, f"/{parts[0]}")
        key = parts[1]
        found = table.get(key) or next((u for u in table.values() if u.get("userPrincipalName") == key), None)
        if found is None:  # user-get.md / group-get.md
            return _error(404, "Request_ResourceNotFound", f"Resource '{key}' does not exist.")
        return web.json_response(found)


def _dig(row: dict[str, Any], names: list[str]) -> Any:
    value: Any = row
    for name in names:
        value = value.get(name) if isinstance(value, dict) else None
    return value
