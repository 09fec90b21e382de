"""One handler per route of function_app.py: parse the request, call the service, shape the response."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from scim import telemetry
from scim.app import App
from scim.auth.cursors import Binding, Resume
from scim.auth.entra_issued import client_id_for, peek_tenant
from scim.auth.oauth import OAuthError, named_client
from scim.errors import (
    Forbidden,
    MethodNotAllowed,
    NameRefused,
    NotFound,
    NotImplementedHere,
    ScimError,
    StoreUnavailable,
    Unavailable,
)
from scim.http import (
    Request,
    Response,
    bearer_token,
    error_response,
    json_response,
    no_content,
    read_json,
    scim_body,
    scim_response,
    unexpected_error,
)
from scim.model import Caller, Page, Position, Resource, Slice
from scim.protocol import discovery
from scim.protocol.render import (
    Projection,
    cursor_list_response,
    group_json,
    list_response,
    parse_projection,
    project,
)
from scim.secrets import SIGNING_KEY_SECRET
from scim.service.groups import GroupService
from scim.service.health import Observation
from scim.service.query import ListRequest, parse_paging, parse_sort, search_request
from scim.service.users import UserService

log = logging.getLogger("scim.routes")
READINESS_PROBE = "readiness-probe"
READINESS_TIMEOUT = 5.0
Handler = Callable[[App, Request], Awaitable[Response]]
_FIXED_ROUTES = {"/oauth2/token": "POST", "/health": "GET", "/health/ready": "GET"}
DOCS_URL = "https://github.com/scim-entra-functions/scim-entra-functions#readme"


async def _caller(app: App, request: Request) -> Caller:
    """The verified caller; a refusal is logged with the address and the reason, never the token."""
    try:
        token = bearer_token(request)
        tenant = peek_tenant(token) if app.entra_issued is not None else None
        if tenant is not None and app.entra_issued is not None:  # Entra's own token (Secret Token left blank)
            client = await app.clients.client(client_id_for(tenant)) if tenant else None
            claims = await app.entra_issued.verify(token, client)
        else:
            claims = await app.tokens.verify(token, client_known=app.clients.known)
        telemetry.annotate(client_id=claims.client_id, directory=claims.directory)
        return await app.clients.caller(claims, request.client_address)
    except ScimError as exc:
        if exc.status in (401, 403):
            log.info("bearer token refused from %s: %s", request.client_address, telemetry.escape(exc.detail))
        raise


def _list_request(request: Request) -> ListRequest:
    cursor = request.param("cursor")
    start, count = parse_paging(request.param("startIndex"), request.param("count"), cursor)
    projection = parse_projection(request.param("attributes"), request.param("excludedAttributes"))
    sort = parse_sort(request.param("sortBy"), request.param("sortOrder"))
    return ListRequest(
        filter=request.param("filter"),
        start_index=start,
        count=count,
        projection=projection,
        cursor=cursor,
        sort=sort,
    )


Walk = Callable[[Position | None], Awaitable[tuple[list[dict[str, Any]], Position | None]]]


async def _cursor_page(
    app: App, caller: Caller, route: str, query: ListRequest, *, walk: Walk, total: Callable[[], Awaitable[int]]
) -> Response:
    """One RFC 9865 page: open the cursor for this caller and query, walk on from it, seal where the next resumes.

    totalResults would cost a read of the whole result on every page, so a page carries it only when the walk
    ends (the resources the walk returned) or count is 0 (RFC 9865 §2 lets cursor pages leave it out).
    previousCursor resumes where the page before began, read forward from there as any page is."""
    binding = Binding(caller.directory.id, caller.client_id, route, query.fingerprint())
    resume = await app.cursors.open(query.cursor or "", binding, query.count)
    if query.count == 0:
        return scim_response(200, cursor_list_response([], None, await total()))
    here = resume or Resume((), 0)
    docs, position = await walk(here.position or None)
    served = here.served + len(docs)
    before = here.previous()
    previous = await app.cursors.seal(binding, query.count, before) if before is not None else None
    if position is None:
        return scim_response(200, cursor_list_response(docs, None, served, previous))
    cursor = await app.cursors.seal(binding, query.count, here.after_page(position, served))
    return scim_response(200, cursor_list_response(docs, cursor, None, previous))


def _resource_id(request: Request) -> str | None:
    value = (request.route_params.get("id") or "").strip()
    return value or None


class _Service(Protocol):
    """The calls /Users and /Groups make alike; UserService and GroupService both satisfy it."""

    async def create(self, caller: Caller, body: Any, /) -> Resource: ...
    async def query(self, caller: Caller, request: ListRequest, /) -> Page: ...
    async def walk(self, caller: Caller, request: ListRequest, after: Position | None, /) -> Slice: ...
    async def replace(self, caller: Caller, resource_id: str, body: Any, if_match: str | None, /) -> Resource: ...
    async def patch(self, caller: Caller, resource_id: str, body: Any, if_match: str | None, /) -> Resource: ...
    async def delete(self, caller: Caller, resource_id: str, if_match: str | None = None, /) -> None: ...


class _ResourceType(Protocol):
    """What one resource type adds to the HTTP shape /Users and /Groups share: how it reads and renders."""

    name: str  # the endpoint: "Users" or "Groups"

    @property
    def service(self) -> _Service: ...

    async def get(self, caller: Caller, resource_id: str, projection: Projection) -> Resource: ...
    async def replaced(
        self, caller: Caller, resource_id: str, resource: Resource, projection: Projection
    ) -> Resource: ...
    async def patched(
        self, caller: Caller, resource_id: str, resource: Resource, projection: Projection
    ) -> Resource: ...
    async def render_all(
        self, caller: Caller, resources: list[Resource], projection: Projection
    ) -> list[dict[str, Any]]: ...
    async def respond(
        self, caller: Caller, resource: Resource, projection: Projection, status: int, location: str | None
    ) -> Response: ...


class _Users:
    """/Users: a user's groups and its manager's $ref need the store (RFC 7643 §4.1.2, §4.3)."""

    name = "Users"

    def __init__(self, app: App) -> None:
        self.service: UserService = app.users

    async def get(self, caller: Caller, resource_id: str, projection: Projection) -> Resource:
        return await self.service.get(caller, resource_id)

    async def replaced(self, caller: Caller, resource_id: str, resource: Resource, projection: Projection) -> Resource:
        return resource

    async def patched(self, caller: Caller, resource_id: str, resource: Resource, projection: Projection) -> Resource:
        return resource

    async def render_all(
        self, caller: Caller, resources: list[Resource], projection: Projection
    ) -> list[dict[str, Any]]:
        return await self.service.render_all(caller, resources, projection)

    async def respond(
        self, caller: Caller, resource: Resource, projection: Projection, status: int, location: str | None
    ) -> Response:
        # A new user has no groups, so a 201 reads none.
        (doc,) = await self.service.render_all(caller, [resource], projection, with_groups=status != 201)
        return scim_response(status, doc, version=resource.version, location=location)


class _Groups:
    """/Groups: members are read only when the response shows them."""

    name = "Groups"

    def __init__(self, app: App) -> None:
        self.service: GroupService = app.groups
        self._base_url = app.settings.base_url

    async def get(self, caller: Caller, resource_id: str, projection: Projection) -> Resource:
        return await self.service.get(caller, resource_id, with_members=projection.wants_members)

    async def replaced(self, caller: Caller, resource_id: str, resource: Resource, projection: Projection) -> Resource:
        if projection.wants_members:
            return await self.service.get(caller, resource_id, with_members=True)
        return resource

    async def patched(self, caller: Caller, resource_id: str, resource: Resource, projection: Projection) -> Resource:
        return await self.get(caller, resource_id, projection)

    async def render_all(
        self, caller: Caller, resources: list[Resource], projection: Projection
    ) -> list[dict[str, Any]]:
        return [project(self.service.render(r), projection) for r in resources]

    async def respond(
        self, caller: Caller, resource: Resource, projection: Projection, status: int, location: str | None
    ) -> Response:
        if resource.members is not None and not (projection.include or projection.exclude):
            body = group_json(resource, self._base_url)
            return scim_body(status, body, version=resource.version, location=location)
        doc = project(self.service.render(resource), projection)
        return scim_response(status, doc, version=resource.version, location=location)


async def _resources(app: App, request: Request, kind: _ResourceType) -> Response:
    """Users and Groups share their HTTP shape; ``kind`` supplies the service and how it reads and renders."""
    caller = await _caller(app, request)
    service = kind.service
    resource_id = _resource_id(request)
    telemetry.annotate(resource_id=resource_id)
    method = request.method.upper()
    projection = parse_projection(request.param("attributes"), request.param("excludedAttributes"))
    if_match = request.headers.get("if-match")
    max_bytes = app.settings.max_body_bytes

    async def one(resource: Resource, status: int = 200) -> Response:
        location = None
        if status == 201:
            location = f"{app.settings.base_url}/{kind.name}/{resource.id}"
            telemetry.annotate(resource_id=resource.id)
        return await kind.respond(caller, resource, projection, status, location)

    async def listing(query: ListRequest) -> Response:
        if query.cursor is not None:

            async def walk(after: Position | None) -> tuple[list[dict[str, Any]], Position | None]:
                found = await service.walk(caller, query, after)
                return await kind.render_all(caller, found.resources, query.projection), found.next

            async def total() -> int:
                return int((await service.query(caller, query)).total)

            return await _cursor_page(app, caller, f"/{kind.name}", query, walk=walk, total=total)
        page = await service.query(caller, query)
        docs = await kind.render_all(caller, page.resources, query.projection)
        return scim_response(200, list_response(docs, page.total, query.start_index))

    searching = method == "POST" and (resource_id or "").lower() == ".search"  # RFC 7644 §3.4.3: a read
    if caller.read_only and method != "GET" and not searching:
        raise Forbidden(
            f"This client is read-only: it may read /{kind.name} with GET (and POST /.search) but not {method}. "
            "Writes come from the directory's provisioning client (Entra); ask the admin for one if you need to write."
        )
    if resource_id is not None and resource_id.lower() == ".search":
        if method != "POST":
            raise MethodNotAllowed(f"/{kind.name}/.search is a POST with a SearchRequest body (RFC 7644 §3.4.3).")
        return await listing(search_request(read_json(request, max_bytes)))
    if resource_id is None:
        if method == "GET":
            return await listing(_list_request(request))
        if method == "POST":
            return await one(await service.create(caller, read_json(request, max_bytes)), 201)
        raise MethodNotAllowed(f"{method} needs a resource id: /{kind.name}/{{id}}.")
    if method == "GET":
        resource = await kind.get(caller, resource_id, projection)
        none_match = request.headers.get("if-none-match")
        if none_match and resource.version in {t.strip() for t in none_match.split(",")}:
            return Response(304, b"", {"ETag": resource.version})
        return await one(resource)
    if method == "PUT":
        resource = await service.replace(caller, resource_id, read_json(request, max_bytes), if_match)
        return await one(await kind.replaced(caller, resource_id, resource, projection))
    if method == "PATCH":
        resource = await service.patch(caller, resource_id, read_json(request, max_bytes), if_match)
        if request.param("attributes") or request.param("excludedAttributes"):
            return await one(await kind.patched(caller, resource_id, resource, projection))
        # Entra accepts 204 for every PATCH (docs/reference/entra-wire.md §1.2, §1.6); the new version travels in ETag.
        return no_content(version=resource.version)
    if method == "DELETE":
        await service.delete(caller, resource_id, if_match)
        return no_content()
    raise MethodNotAllowed(f"{method} is not supported on /{kind.name}/{{id}}.")


async def search(app: App, request: Request) -> Response:
    """POST /.search (RFC 7644 §3.4.3): Users then Groups, filtered, paged and projected as one list."""
    caller = await _caller(app, request)
    if request.method.upper() != "POST":
        raise MethodNotAllowed("/.search is a POST with a SearchRequest body (RFC 7644 §3.4.3).")
    query = search_request(read_json(request, app.settings.max_body_bytes))
    if query.cursor is not None:
        return await _search_cursor_page(app, caller, query)
    users = await app.users.query(caller, query)
    # The page continues into Groups where the users run out; a filter naming a User attribute finds no group.
    group_start = max(query.start_index - users.total, 1)
    group_count = query.count - len(users.resources)
    groups_query = dataclasses.replace(query, start_index=group_start, count=max(group_count, 0))
    groups = await app.groups.query(caller, groups_query)
    docs = await _Users(app).render_all(caller, users.resources, query.projection)
    docs += await _Groups(app).render_all(caller, groups.resources, query.projection)
    return scim_response(200, list_response(docs, users.total + groups.total, query.start_index))


async def _search_cursor_page(app: App, caller: Caller, query: ListRequest) -> Response:
    """POST /.search by cursor: the walk goes through Users, then through Groups; the position names which."""

    async def walk(after: Position | None) -> tuple[list[dict[str, Any]], Position | None]:
        phase, rest = (after[0], after[1:] or None) if after else ("u", None)
        docs: list[dict[str, Any]] = []
        if phase == "u":
            users = await app.users.walk(caller, query, rest)
            docs = await _Users(app).render_all(caller, users.resources, query.projection)
            if users.next is not None:
                return docs, ("u", *users.next)
            rest = None
        left = query.count - len(docs)
        if left == 0:
            return docs, ("g",)
        groups = await app.groups.walk(caller, dataclasses.replace(query, count=left), rest)
        docs += await _Groups(app).render_all(caller, groups.resources, query.projection)
        return docs, None if groups.next is None else ("g", *groups.next)

    async def total() -> int:
        return (await app.users.query(caller, query)).total + (await app.groups.query(caller, query)).total

    return await _cursor_page(app, caller, "/.search", query, walk=walk, total=total)


async def users(app: App, request: Request) -> Response:
    return await _resources(app, request, _Users(app))


async def groups(app: App, request: Request) -> Response:
    return await _resources(app, request, _Groups(app))


def _get_only(request: Request) -> None:
    if request.method.upper() != "GET":
        raise MethodNotAllowed(
            f"{request.method.upper()} is not supported here; discovery documents are read with GET."
        )


async def service_provider_config(app: App, request: Request) -> Response:
    _get_only(request)
    return scim_response(200, discovery.service_provider_config(app.settings.base_url, DOCS_URL))


async def resource_types(app: App, request: Request) -> Response:
    _get_only(request)
    types = discovery.resource_types(app.settings.base_url)
    return _discovery_listing(request, types, "ResourceType")


async def schemas(app: App, request: Request) -> Response:
    _get_only(request)
    return _discovery_listing(request, discovery.schemas(app.settings.base_url), "Schema")


def _discovery_listing(request: Request, docs: list[dict[str, Any]], kind: str) -> Response:
    wanted = _resource_id(request)
    if wanted is None:
        return scim_response(200, list_response(docs, len(docs), 1))
    for doc in docs:
        if doc["id"].lower() == wanted.lower():
            return scim_response(200, doc)
    raise NotFound(f"{kind} {wanted!r} does not exist.")


async def events(app: App, request: Request) -> Response:
    """POST /Events: an RFC 8936 poll by a read-only client; GET /Events/jwks: the SET keys, unauthenticated."""
    name, method = (_resource_id(request) or "").lower(), request.method.upper()
    if name == "jwks":
        if method != "GET":
            raise MethodNotAllowed(f"{method} is not supported here; the JWKS is read with GET.")
        return json_response(200, await app.event_signer.jwks(), {"Cache-Control": "public, max-age=300"})
    if name:
        raise NotFound(f"/Events/{name} does not exist; poll with POST /Events, keys at GET /Events/jwks.")
    if method != "POST":
        raise MethodNotAllowed(f"{method} is not supported here; poll change events with POST (RFC 8936).")
    caller = await _caller(app, request)
    return json_response(200, await app.events.poll(caller, read_json(request, app.settings.max_body_bytes)))


async def token(app: App, request: Request) -> Response:
    """The token endpoint answers in OAuth's shape (RFC 6749 §5.2) whatever fails, storage outages included."""
    content_type, authorization = request.headers.get("content-type", ""), request.headers.get("authorization")
    # The client id as sent, so a refused request's row says which client tried (never the secret).
    telemetry.annotate(client_id=named_client(request.body, content_type, authorization))
    try:
        doc = await app.token_endpoint.exchange(request.body, content_type, authorization, request.client_address)
    except (OAuthError, StoreUnavailable) as failure:
        exc = failure if isinstance(failure, OAuthError) else _storage_down(failure)
        telemetry.annotate(oauth_error=exc.error, refusal=exc.error if exc.status < 500 else None)
        log.info("token refused: %s", exc.error, extra={"scim.oauth_error": exc.error})
        return json_response(exc.status, {"error": exc.error, "error_description": exc.description}, exc.headers)
    return json_response(200, doc)


def _storage_down(exc: StoreUnavailable) -> OAuthError:
    """The client registry or the signing keys could not be read: Entra retries a 503 with Retry-After."""
    log.warning("token request not served: storage unavailable (%s)", type(exc).__name__)
    return OAuthError(
        503,
        "temporarily_unavailable",
        "The service cannot read its client registry or signing keys right now; retry shortly.",
        dict(Unavailable().headers),
    )


async def unknown(app: App, request: Request) -> Response:
    """No such endpoint; nothing here reads directory data, so no token is needed."""
    # The path is quoted and cut so a crafted one cannot forge log lines; query strings (filters) are left out.
    log.info("no endpoint at %r (%s)", request.path[:200], request.method.upper())
    # The root catch-all also receives a wrong method on a fixed route (ASP.NET falls through to it).
    method = _FIXED_ROUTES.get(request.path.lower().rstrip("/"))
    if method:
        raise MethodNotAllowed(f"{request.method.upper()} is not supported on {request.path}; use {method}.")
    folded = request.path.lower().rstrip("/")
    if folded == "/scim/v2/me" or folded.startswith("/scim/v2/me/"):
        # RFC 7644 §3.11: a provider without /Me SHOULD answer 501. A token names a client, not a user, so there is
        # no "me" to alias; nothing is read, so no token is needed to learn that.
        raise NotImplementedHere(
            "/Me is not implemented (RFC 7644 §3.11): this service's tokens name a provisioning client, not a user."
            " Read the user at /Users/{id}."
        )
    if not request.path.lower().startswith("/scim/v2"):
        raise NotFound(
            f"Nothing is served at {request.path}. This service serves the SCIM Base URL /scim/v2 (Entra's Tenant"
            " URL ends with it), the Token URL /oauth2/token and /health; check the URL."
        )
    raise NotFound(
        f"Nothing is served at {request.path}. Under the Base URL (.../scim/v2) this service serves /Users, "
        "/Groups, /.search, /ServiceProviderConfig, /ResourceTypes and /Schemas; check the Tenant URL in Entra."
    )


async def health(app: App, request: Request) -> Response:
    """Liveness: the worker answers; no auth, no data."""
    return json_response(200, {"status": "ok"})


async def health_ready(app: App, request: Request) -> Response:
    """Readiness: storage and the secret store answer within the bound; anonymous callers learn nothing more."""
    checks = {"storage": app.store.get_directory(READINESS_PROBE), "secrets": app.secrets.versions(SIGNING_KEY_SECRET)}
    failed = []
    for name, probe in checks.items():
        try:
            await asyncio.wait_for(probe, timeout=READINESS_TIMEOUT)
        except Exception as exc:  # any failure means not ready; the reason goes to the log, not the caller
            failed.append(name)
            log.warning("readiness check %s failed: %s", name, type(exc).__name__)
    if failed:
        return json_response(503, {"status": "unavailable"}, {"Retry-After": "5"})
    return json_response(200, {"status": "ready"})


HANDLERS: dict[str, Handler] = {
    "users": users,
    "groups": groups,
    "search": search,
    "service_provider_config": service_provider_config,
    "resource_types": resource_types,
    "schemas": schemas,
    "token": token,
    "events": events,
    "health": health,
    "unknown": unknown,
    "health_ready": health_ready,
}


async def dispatch(app: App, route: str, request: Request) -> Response:
    """Run a route's handler inside the request span; every failure becomes an error response here."""
    resource_id = _resource_id(request)
    operation = telemetry.operation_name(route, request.method, resource_id is not None)
    if route == "search" or (resource_id or "").lower() == ".search":
        operation = f"{operation.split('.')[0] if route != 'search' else 'resource'}.search"  # RFC 7644 §3.4.3
    with telemetry.request_span(route, request.method, operation, request.client_address) as span:
        scim_type: str | None = None
        refusal: str | None = None
        named: NameRefused | None = None
        try:
            response = await HANDLERS[route](app, request)
        except ScimError as exc:
            scim_type = exc.scim_type
            refusal = _refusal(app, exc)
            named = exc if isinstance(exc, NameRefused) else None
            response = error_response(exc)
            _log_refusal(app, operation, exc)
        except Exception as exc:  # the one place unexpected errors are turned into responses
            response = unexpected_error(exc)
        telemetry.finish(span, response.status, scim_type, refusal)
        if app.health is not None:
            app.health.observe(_observation(operation, response.status, refusal, named))
        return response


def _observation(operation: str, status: int, refusal: str | None, named: NameRefused | None) -> Observation:
    """The request as the health record counts it; the record keeps a refused name whatever SCIM_LOG_PII says."""
    facts = telemetry.request_facts()
    value, closest = (named.value, named.closest) if named else (None, None)
    refusal = refusal or facts.get("refusal")
    return Observation(facts.get("directory"), facts.get("client_id"), operation, status, refusal, value, closest)


def _refusal(app: App, exc: ScimError) -> str | None:
    """The refusal's reason; a name Entra sent that matches no group or role is recorded only with SCIM_LOG_PII."""
    if isinstance(exc, NameRefused):
        if app.settings.log_pii:
            telemetry.annotate(refused_value=exc.value, closest_name=exc.closest)
        return exc.reason
    return telemetry.refusal_reason(exc.status, exc.scim_type)


def _log_refusal(app: App, operation: str, exc: ScimError) -> None:
    """Refusals are logged for on-call; the detail can quote user data, so it is included only with SCIM_LOG_PII."""
    fields = {"scim.operation": operation, "scim.status": exc.status, "scim.scim_type": exc.scim_type or ""}
    if app.settings.log_pii:
        fields["scim.detail"] = telemetry.escape(exc.detail)  # the detail may quote request values
    log.info("request refused: %s %s %s", operation, exc.status, exc.scim_type or "", extra=fields)
