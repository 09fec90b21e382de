"""`scimctl serve`: seed a development directory and client, then serve function_app on real HTTP."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shlex
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from scim.app import App, build_app, install_app
from scim.config import Settings, SettingsError, load_settings
from scim.devhost import FunctionsAsgi
from scim.service.admin import AdminService
from scim.telemetry import configure_local

ROOT = Path(__file__).resolve().parents[1]
DEV_DIRECTORY = "dev"
DATA_DIR = ROOT / ".data"


def load_function_app(path: Path = ROOT / "function_app.py") -> ModuleType:
    """Import function_app.py from the project root, the module Azure Functions loads."""
    spec = importlib.util.spec_from_file_location("function_app", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["function_app"] = module
    spec.loader.exec_module(module)
    return module


async def seed(
    app: App,
    client_id: str,
    secret: str,
    policy: str,
    *,
    role_mode: str | None = None,
    roles: Sequence[str] = (),
    groups: Sequence[str] = (),
) -> None:
    """The development directory, its catalog and client; an existing client gets the given secret as a new version."""
    admin = AdminService(app.store, app.clients, app.tokens)
    await app.tokens.ensure_signing_key()
    await admin.ensure_directory(DEV_DIRECTORY, policy=policy, role_mode=role_mode)  # type: ignore[arg-type]
    for role in roles:
        await admin.add_role(DEV_DIRECTORY, role)
    existing = {
        g.data.get("displayName")
        for g in (
            await app.store.query_groups(
                DEV_DIRECTORY, lookup=None, match=None, start_index=1, count=10**9, with_members=False
            )
        ).resources
    }
    for group in groups:
        if group not in existing:  # a restart on a persistent store finds the catalog already there
            await admin.add_group(DEV_DIRECTORY, group)
    if await app.store.get_client(client_id) is None:
        await admin.create_client(DEV_DIRECTORY, ["any"], client_id=client_id, secret=secret)
    elif await app.clients.check_secret(client_id, secret) is None:
        from scim.auth.clients import digest
        from scim.secrets import client_secret_name

        await app.secrets.add_version(client_secret_name(client_id), digest(secret))


def _names(raw: str) -> list[str]:
    return [name.strip() for name in raw.split(",") if name.strip()]


def _admin_env(env: dict[str, str]) -> str:
    """The exports that point scimctl at this local host's store and secrets."""
    names = ("SCIM_STORE", "SCIM_TABLES_CONNECTION_STRING", "SCIM_SECRETS_FILE")
    return "export " + " ".join(f"{name}={shlex.quote(env[name])}" for name in names)


def banner(settings: Settings, client_id: str, secret: str, *, admin_env: str = "") -> str:
    form = f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
    curl = (
        f"TOKEN=$(curl -s {settings.token_url} -d {shlex.quote(form)} | python3 -c "
        "'import json,sys; print(json.load(sys.stdin)[\"access_token\"])') && "
        f"curl -s -H \"Authorization: Bearer $TOKEN\" '{settings.base_url}/Users?filter=userName%20eq%20%22nobody%22'"
    )
    return (
        f"SCIM endpoint for Entra ID (store: {settings.store})\n"
        f"  Base URL (Entra Tenant URL): {settings.base_url}\n"
        f"  Token URL:                   {settings.token_url}\n"
        f"  Client id:                   {client_id}\n"
        f"  Client secret:               {secret}\n"
        f"  Try it:\n    {curl}\n"
        + (f"  Administer it (scimctl role add ..., group add ...) after:\n    {admin_env}\n" if admin_env else "")
    )


def serve(host: str, port: int) -> int:
    """Run until interrupted; with SCIM_STORE=tables and no Table service named, Azurite runs with data under .data/."""
    import uvicorn

    from scim.azurite import Azurite

    env = dict(os.environ)
    env.setdefault("SCIM_PUBLIC_BASE_URL", f"http://{host}:{port}")
    azurite: Azurite | None = None
    wants_azurite = env.get("SCIM_STORE", "").strip().lower() == "tables" and not (
        env.get("SCIM_TABLES_CONNECTION_STRING") or env.get("SCIM_TABLES_ENDPOINT")
    )
    if wants_azurite:
        azurite = Azurite(location=DATA_DIR / "azurite", port=int(env.get("SCIM_AZURITE_PORT", "10002")))
        azurite.start()
        env["SCIM_TABLES_CONNECTION_STRING"] = azurite.connection_string
        env.setdefault("SCIM_SECRETS_FILE", str(DATA_DIR / "secrets.json"))
    try:
        settings = load_settings(env)
    except SettingsError as exc:
        if azurite is not None:
            azurite.stop()
        print(f"scimctl: {exc}", file=sys.stderr)
        return 2
    client_id = os.environ.get("SCIM_DEV_CLIENT_ID") or str(uuid.uuid4())
    secret = os.environ.get("SCIM_DEV_CLIENT_SECRET") or uuid.uuid4().hex + uuid.uuid4().hex
    policy = os.environ.get("SCIM_NAME_POLICY", "strict")
    if policy not in ("strict", "normalize", "create"):
        print(f"SCIM_NAME_POLICY must be strict, normalize or create, not {policy!r}", file=sys.stderr)
        return 2
    role_mode = os.environ.get("SCIM_DEV_ROLE_MODE") or None
    if role_mode not in (None, "single", "multiple"):
        print(f"SCIM_DEV_ROLE_MODE must be single or multiple, not {role_mode!r}", file=sys.stderr)
        return 2
    # Catalog entries for throwaway memory runs, which no scimctl can reach (comma-separated names).
    roles = _names(os.environ.get("SCIM_DEV_ROLES", ""))
    groups = _names(os.environ.get("SCIM_DEV_GROUPS", ""))
    try:
        module = load_function_app()
        asgi = FunctionsAsgi(module.app, max_body_bytes=settings.max_body_bytes)

        configure_local()

        async def main() -> None:
            app = build_app(settings)
            install_app(app)
            await seed(app, client_id, secret, policy, role_mode=role_mode, roles=roles, groups=groups)
            print(banner(settings, client_id, secret, admin_env=_admin_env(env) if wants_azurite else ""), flush=True)
            config = uvicorn.Config(
                asgi,
                host=host,
                port=port,
                loop="asyncio",
                http="httptools",
                lifespan="off",
                access_log=False,
                log_level="warning",
            )
            try:
                await uvicorn.Server(config).serve()
            finally:
                await app.close()
                install_app(None)

        asyncio.run(main())
    finally:
        if azurite is not None:
            azurite.stop()
    return 0
