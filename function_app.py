"""Azure Functions entry point: one async HTTP trigger per route, each handing the request to scim.routes.

This file is the single source of truth for routes; the local host (scim/dev/devhost.py) serves exactly these.
host.json sets routePrefix "" so the SCIM Base URL is /scim/v2.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# Discovery routes take every method too, so a wrong one is a SCIM 405 rather than the catch-all's 404.
RESOURCE_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


async def _serve(route: str, req: func.HttpRequest) -> func.HttpResponse:
    # The product loads on the first request, not at import: the host indexes triggers within its
    # app-initialisation timeout, and the import budget is 1.25x azure.functions + pydantic (docs/architecture.md).
    from scim.app import current_app
    from scim.auth.network import client_address
    from scim.http import Request
    from scim.routes import dispatch

    app_ = await current_app()
    headers = {k.lower(): v for k, v in req.headers.items()}
    request = Request(
        method=req.method,
        path=urlsplit(req.url).path,
        route_params=dict(req.route_params),
        query=dict(req.params),
        headers=headers,
        body=req.get_body() or b"",
        # docs/security.md "Client address": the front end's own hop, never a value the caller sent.
        client_address=client_address(headers, app_.settings.client_address_header),
    )
    response = await dispatch(app_, route, request)
    return func.HttpResponse(body=response.body, status_code=response.status, headers=response.headers)


@app.route(route="scim/v2/Users/{id?}", methods=RESOURCE_METHODS)
async def scim_users(req: func.HttpRequest) -> func.HttpResponse:
    return await _serve("users", req)


@app.route(route="scim/v2/Groups/{id?}", methods=RESOURCE_METHODS)
async def scim_groups(req: func.HttpRequest) -> func.HttpResponse:
    return await _serve("groups", req)


# RFC 7644 §3.4.3 root-level search over Users and Groups; /Users/.search and /Groups/.search reach the
# resource triggers as the id ".search".
@app.route(route="scim/v2/.search", methods=RESOURCE_METHODS)
async def scim_search(req: func.HttpRequest) -> func.HttpResponse:
    return await _serve("search", req)


@app.route(route="scim/v2/ServiceProviderConfig", methods=RESOURCE_METHODS)
async def scim_service_provider_config(req: func.HttpRequest) -> func.HttpResponse:
    return await _serve("service_provider_config", req)


# Microsoft's Postman suite asks for this non-standard path (docs/reference/entra-wire.md §6.2).
@app.route(route="scim/v2/serviceConfiguration", methods=RESOURCE_METHODS)
async def scim_service_configuration(req: func.HttpRequest) -> func.HttpResponse:
    return await _serve("service_provider_config", req)


@app.route(route="scim/v2/ResourceTypes/{id?}", methods=RESOURCE_METHODS)
async def scim_resource_types(req: func.HttpRequest) -> func.HttpResponse:
    return await _serve("resource_types", req)


@app.route(route="scim/v2/Schemas/{id?}", methods=RESOURCE_METHODS)
async def scim_schemas(req: func.HttpRequest) -> func.HttpResponse:
    return await _serve("schemas", req)


# Signed change events (docs/integration.md "Signed events"): POST polls them (RFC 8936), GET jwks lists their keys.
@app.route(route="scim/v2/Events/{id?}", methods=RESOURCE_METHODS)
async def scim_events(req: func.HttpRequest) -> func.HttpResponse:
    return await _serve("events", req)


@app.route(route="oauth2/token", methods=["POST"])
async def oauth2_token(req: func.HttpRequest) -> func.HttpResponse:
    return await _serve("token", req)


# The change feed's sweep (docs/integration.md "Delivery guarantees"): publishes events that a host which died
# between commit and publish left in the outbox. Timer triggers run on one instance at a time (a blob lease).
SWEEP_SCHEDULE = "0 */1 * * * *"


@app.timer_trigger(schedule=SWEEP_SCHEDULE, arg_name="timer", run_on_startup=False, use_monitor=False)
async def change_feed_sweep(timer: func.TimerRequest) -> None:
    from scim.app import current_app
    from scim.telemetry import observed_sweep

    app_ = await current_app()
    if app_.relay is not None:
        await observed_sweep(app_.relay, app_.store)  # a request row with the feed's lag (docs/runbook.md)
        await app_.events.purge_all(await app_.store.list_directories())  # SETs past SCIM_SET_RETENTION_DAYS


# Scheduled rotation of Entra's credentials (docs/security.md §6): clients that opted in with `scimctl client
# set-rotation` get a new secret or Secret Token, checked by Entra, before theirs grows old; the old one keeps
# working for a day. Graph is reached as the app's managed identity, which needs the Graph application
# permissions `scimctl entra rotate` lists (docs/deploy.md). Once a day, at 03:00 UTC.
ROTATION_SCHEDULE = "0 0 3 * * *"


@app.timer_trigger(schedule=ROTATION_SCHEDULE, arg_name="timer", run_on_startup=False, use_monitor=True)
async def entra_credential_rotation(timer: func.TimerRequest) -> None:
    from scim.app import current_app, managed_identity_token
    from scim.entra.rotation import managed_identity_graph, run_scheduled

    await run_scheduled(await current_app(), lambda: managed_identity_graph(managed_identity_token))


# Group DELETEs that ran out of their time budget (README "Memberships at scale") are finished here as well as by
# Entra's retry, so a deleted group leaves its members' `groups` within minutes even when that retry comes hours later.
DELETE_SWEEP_SCHEDULE = "30 */5 * * * *"


@app.timer_trigger(schedule=DELETE_SWEEP_SCHEDULE, arg_name="timer", run_on_startup=False, use_monitor=False)
async def group_delete_sweep(timer: func.TimerRequest) -> None:
    from scim.app import current_app
    from scim.service.groups import finish_group_deletes

    await finish_group_deletes((await current_app()).store)


@app.route(route="health", methods=["GET"])
async def health(req: func.HttpRequest) -> func.HttpResponse:
    return await _serve("health", req)


@app.route(route="health/ready", methods=["GET"])
async def health_ready(req: func.HttpRequest) -> func.HttpResponse:
    return await _serve("health_ready", req)


# Anything else under the Base URL gets a SCIM 404 that names the endpoints, not the host's empty 404:
# a wrong Tenant URL is the usual cause (docs/reference/entra-wire.md §3.4). Catch-alls rank last in ASP.NET routing.
@app.route(route="scim/v2/{*rest}", methods=RESOURCE_METHODS)
async def scim_unknown(req: func.HttpRequest) -> func.HttpResponse:
    return await _serve("unknown", req)


# Everything outside the routes above (a Tenant URL without /scim/v2, say) gets the same SCIM 404 and a log line
# rather than the host's empty one. The constraint keeps the host's own /admin and /runtime routes out of reach
# (a catch-all with an empty routePrefix can shadow them: Azure/azure-functions-host#2590). Registered last:
# ASP.NET routing ranks it after scim/v2/{*rest}, and the local host keeps registration order among catch-alls.
@app.route(route="{*path:regex(^(?!admin(/|$)|runtime(/|$)).*$)}", methods=RESOURCE_METHODS)
async def outside_base_url(req: func.HttpRequest) -> func.HttpResponse:
    return await _serve("unknown", req)
