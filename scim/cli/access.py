"""scimctl client, token and key commands (docs/security.md has the procedures they implement)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from scim.app import App
from scim.auth.clients import CLIENT_CACHE_SECONDS, NewClient
from scim.auth.keyring import KeyRing
from scim.auth.tokens import DEFAULT_TTL
from scim.cli._common import Subparsers, duration, federation_of, leaf, stamp
from scim.model import Client
from scim.service.admin import AdminService
from scim.service.directories import AdminError

SECRET_WARNING_DAYS = 30


def _client(c: Client) -> dict[str, Any]:
    out = {"client_id": c.id, "directory": c.directory, "networks": c.networks, "disabled": c.disabled}
    out |= {"read_only": True} if c.read_only else {}
    out |= {"auto_rotate_days": c.auto_rotate_days} if c.auto_rotate_days else {}
    return out | ({"entra_issued_tenant": c.entra_issued_tenant} if c.entra_issued_tenant else {})


def _federation(app: App, c: Client) -> dict[str, Any]:
    """The values a federated client's assertion must carry, as the token endpoint checks them."""
    if c.federation is None:
        return {}
    verifier = app.token_endpoint.federation
    return {
        "federated_tenant": c.federation.tenant,
        "federated_issuer": verifier.issuer(c.federation),
        "federated_audience": c.federation.audience,
        "federated_subject": c.federation.subject,
        "federated_jwks_url": verifier.jwks_url(c.federation),
    }


async def _client_create(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    federation = federation_of(args)
    if federation is None and (args.federated_audience or args.federated_subject or args.federated_issuer):
        raise AdminError("--federated-audience, --federated-subject and --federated-issuer need --federated-tenant")
    if args.entra_issued_tenant and federation is not None:
        raise AdminError("--entra-issued-tenant and --federated-tenant are two different modes; choose one")
    if args.networks is None:
        print(
            "scimctl: no --networks given, so this client is accepted from any address; pass Entra's ranges"
            " (docs/deploy.md, service tag AzureActiveDirectory) or later `client set-networks`.",
            file=sys.stderr,
        )
    new = NewClient(
        args.directory,
        args.networks or ["any"],
        federation=federation,
        read_only=args.read_only,
        entra_issued_tenant=args.entra_issued_tenant or "",
    )
    registration = await admin.create_client(new, secret_days=args.secret_days)
    out = {**_client(registration.client), **_federation(app, registration.client)}
    if registration.secret:
        print("scimctl: the client secret is shown once; store it now (Entra: Client Secret).", file=sys.stderr)
        out |= {"client_secret": registration.secret, "secret_expires": stamp(registration.secret_expires)}
    elif registration.client.entra_issued_tenant:
        print(
            "scimctl: no secret: leave Secret Token blank in Entra, which then sends its own token. Microsoft calls "
            "this a testing option; use a Secret Token or OAuth2 client credentials in production.",
            file=sys.stderr,
        )
    else:
        print("scimctl: no secret: Entra authenticates with workload identity federation.", file=sys.stderr)
    return {**out, "base_url": app.settings.base_url, "token_url": app.settings.token_url}


async def _client_list(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    return [_client(c) for c in await app.store.list_clients()]


async def _client_show(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    client = await admin.client(args.client)
    secrets = await app.clients.secret_versions(client.id)
    tokens = await admin.keys.long_lived(client.id)
    soon = datetime.now(UTC) + timedelta(days=SECRET_WARNING_DAYS)
    if secrets and all(s.expires_on is not None and s.expires_on < soon for s in secrets):
        print(
            f"scimctl: every secret expires within {SECRET_WARNING_DAYS} days; run `client rotate-secret`.",
            file=sys.stderr,
        )
    return {
        **_client(client),
        **_federation(app, client),
        "created": client.created,
        "secrets": [{"id": s.version, "created": stamp(s.created), "expires": stamp(s.expires_on)} for s in secrets],
        "long_lived_tokens": len(tokens),
        "base_url": app.settings.base_url,
        "token_url": app.settings.token_url,
    }


async def _client_rotate(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    registration = await admin.rotate_secret(args.client, expire_old_in_days=args.expire_old_in_days)
    old = await app.clients.secret_versions(args.client)
    print("scimctl: put the new secret in Entra (Client Secret) before the old one expires.", file=sys.stderr)
    return {
        "client_id": args.client,
        "client_secret": registration.secret,
        "secret_expires": stamp(registration.secret_expires),
        "previous_secret_expires": stamp(old[1].expires_on) if len(old) > 1 else None,
    }


async def _client_set_networks(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    client = await admin.update_client(args.client, networks=args.networks)
    return {**_client(client), "effective_within_seconds": int(CLIENT_CACHE_SECONDS)}


async def _client_set_rotation(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    client = await admin.update_client(args.client, auto_rotate_days=args.days)
    if client.federation is not None or client.entra_issued_tenant:
        print("scimctl: this client has no secret or Secret Token in Entra: nothing will be rotated.", file=sys.stderr)
    return _client(client) | {"auto_rotate_days": client.auto_rotate_days}


async def _client_disable(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    client = await admin.update_client(args.client, disabled=args.action == "disable")
    return {**_client(client), "effective_within_seconds": int(CLIENT_CACHE_SECONDS)}


async def _client_delete(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    await admin.delete_client(args.client)
    return {"deleted": args.client, "effective_within_seconds": int(CLIENT_CACHE_SECONDS)}


async def _token_issue(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    issued = await admin.issue_token(args.client, ttl=args.ttl * 60, long_lived=args.long_lived)
    out: dict[str, Any] = {"access_token": issued.token, "token_type": "Bearer", "expires_in": issued.expires_in}
    if args.long_lived:
        out["token_id"] = issued.token_id
        print(
            "scimctl: paste this as Entra's Secret Token. Every instance accepts it within 60 s; "
            f"revoke it with `scimctl token revoke --client {args.client} --token-id {issued.token_id}`.",
            file=sys.stderr,
        )
    return out


async def _token_list(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    await admin.client(args.client)
    return [
        {"token_id": v.version, "issued": stamp(v.created), "expires": stamp(v.expires_on)}
        for v in await admin.keys.long_lived(args.client)
    ]


async def _token_revoke(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    await admin.revoke_token(args.client, args.token_id)
    return {"revoked": args.token_id, "effective_within_seconds": 60}


def _ring(app: App, admin: AdminService, args: argparse.Namespace) -> KeyRing:
    """The token signing key's ring, or with --events the change events' (docs/integration.md "Signed events")."""
    if args.events:
        return app.event_signer.keyring(timedelta(days=app.settings.set_retention_days))
    return admin.keys


async def _key_list(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    return [
        {
            "key_id": k.version,
            "created": stamp(k.created),
            "signing": k.signing,
            "stopped_signing": stamp(k.stopped_signing),
        }
        for k in await _ring(app, admin, args).keys()
    ]


async def _key_rotate(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    made = await _ring(app, admin, args).rotate()
    # Tokens expire on their own; SETs never do, so their keys verify until retired (`key retire --events`).
    kept = (
        "events signed before verify until their key is retired"
        if args.events
        else "old tokens stay valid until they expire"
    )
    print(f"scimctl: the new key signs in about 90 s; {kept}.", file=sys.stderr)
    return {"key_id": made.version, "created": stamp(made.created)}


async def _key_retire(app: App, admin: AdminService, args: argparse.Namespace) -> Any:
    try:
        retention = timedelta(days=app.settings.set_retention_days)
        older_than = args.older_than or (retention if args.events else timedelta(hours=7))
        retired = await _ring(app, admin, args).retire(older_than, force=args.force)
    except ValueError as exc:
        raise AdminError(str(exc)) from None
    return [{"retired": k.version, "stopped_signing": stamp(k.stopped_signing)} for k in retired]


def register(sub: Subparsers) -> None:
    client = sub.add_parser("client", help="provider clients").add_subparsers(dest="action", required=True)
    create = leaf(client, "create", _client_create, "create a client; prints its id, secret, Base URL and Token URL")
    create.add_argument("--directory", required=True, help="the directory the client writes into")
    create.add_argument(
        "--networks",
        nargs="+",
        help="allowed source CIDRs (IPv4/IPv6), e.g. Entra's AzureActiveDirectory ranges; default any (warns)",
    )
    create.add_argument("--secret-days", type=int, help="secret lifetime in days (default 730; 0 = never expires)")
    fed = "workload identity federation (docs/security.md §2.1): "
    create.add_argument("--federated-tenant", help=fed + "the Entra tenant id; the client gets no secret")
    create.add_argument("--federated-audience", help=fed + "Audience (aud) from Entra's Connectivity page")
    create.add_argument("--federated-subject", help=fed + "Subject (sub) from Entra's Connectivity page")
    create.add_argument("--federated-issuer", help=fed + "Issuer (iss); default SCIM_ENTRA_ISSUER_TEMPLATE")
    create.add_argument(
        "--entra-issued-tenant",
        help="accept Entra's own token (Secret Token left blank; a testing option) from this tenant id only",
    )
    create.add_argument(
        "--read-only", action="store_true", help="for an application that reads the directory: GET and /.search only"
    )
    leaf(client, "list", _client_list, "list clients")
    by_id = {
        "show": (_client_show, "show a client, its secret versions and long-lived token count"),
        "rotate-secret": (_client_rotate, "add a new secret; the old one expires later (two active at most)"),
        "set-networks": (_client_set_networks, "replace the allowed source networks"),
        "set-rotation": (_client_set_rotation, "opt in to (or out of) the scheduled rotation of Entra's credential"),
        "disable": (_client_disable, "refuse the client's tokens and secrets (within 30 s everywhere)"),
        "enable": (_client_disable, "accept the client again"),
        "delete": (_client_delete, "delete the client, its secrets and its long-lived tokens"),
    }
    for name, (run, text) in by_id.items():
        parser = leaf(client, name, run, text)
        parser.add_argument("--client", required=True, help="the client id")
        if name == "rotate-secret":
            parser.add_argument(
                "--expire-old-in-days",
                type=float,
                default=7.0,
                help="how long the previous secret keeps working (default 7; 0 = now)",
            )
        if name == "set-rotation":
            parser.add_argument(
                "--days", type=int, required=True,
                help="rotate once the credential Entra holds is this old or expires this soon; 0 = never",
            )  # fmt: skip
        if name == "set-networks":
            parser.add_argument("networks", nargs="+", help="the new allowed source CIDRs (IPv4/IPv6), or 'any'")

    token = sub.add_parser("token", help="tokens issued by the admin").add_subparsers(dest="action", required=True)
    issue = leaf(token, "issue", _token_issue, "issue a token for a client (no secret needed: you are the admin)")
    issue.add_argument("--ttl", type=int, default=DEFAULT_TTL // 60, help="lifetime in minutes (60-360)")
    issue.add_argument("--long-lived", action="store_true", help="a revocable token for Entra's Secret Token mode")
    leaf(token, "list", _token_list, "list a client's long-lived tokens")
    revoke = leaf(token, "revoke", _token_revoke, "revoke one long-lived token")
    revoke.add_argument("--token-id", required=True, help="the id from `scimctl token list`")
    for parser in (issue, token.choices["list"], revoke):
        parser.add_argument("--client", required=True, help="the client id")

    key = sub.add_parser("key", help="the signing keys").add_subparsers(dest="action", required=True)
    events = "the change events' ES256 key (signed SETs) instead of the token signing key"
    leaf(key, "list", _key_list, "list signing keys (never their values)").add_argument(
        "--events", action="store_true", help=events
    )
    leaf(key, "rotate", _key_rotate, "add a signing key").add_argument("--events", action="store_true", help=events)
    retire = leaf(key, "retire", _key_retire, "disable keys that stopped signing more than --older-than ago")
    retire.add_argument("--events", action="store_true", help=events)
    retire.add_argument(
        "--older-than", type=duration, help="e.g. 2d; default 7h, or the SET retention window with --events"
    )
    retire.add_argument("--force", action="store_true", help="allow --older-than below the longest lifetime")
