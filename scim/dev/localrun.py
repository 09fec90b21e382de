"""`scimctl serve`: seed a development directory and client, then serve function_app on real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import shlex
import signal
import socket
import sys
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

from scim.app import App, build_app, install_app
from scim.auth.clients import NewClient
from scim.config import LocalSettings, Settings, SettingsError, data_dir, load_local_settings, load_settings
from scim.dev.console import configure_local
from scim.dev.devhost import FunctionsAsgi
from scim.service.admin import AdminService

ROOT = Path(__file__).resolve().parents[2]
DEV_DIRECTORY = "dev"
DEV_CLIENT_FILE = "dev-client.env"


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
    policy: str | None,
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
        await admin.create_client(NewClient(DEV_DIRECTORY, ["any"], client_id=client_id, secret=secret))
    elif await app.clients.check_secret(client_id, secret) is None:
        from scim.auth.clients import digest
        from scim.secrets import client_secret_name

        await app.secrets.add_version(client_secret_name(client_id), digest(secret))


SWEEP_EVERY = 60.0


async def sweep_forever(app: App, every: float = SWEEP_EVERY) -> None:
    """The change feed's sweep on the local host: what a host that died left in the outbox goes out now.

    The first round takes every row (this process has published none yet); later ones only rows a minute
    old, so a row this process is publishing right now is not sent twice."""
    from scim.events.relay import SWEEP_MIN_AGE

    min_age = 0.0
    while app.relay is not None:
        try:
            sent = await app.relay.sweep(min_age=min_age)
            await app.events.purge_all(await app.store.list_directories())  # SETs past the retention window
            min_age = SWEEP_MIN_AGE
            if sent:
                print(f"change feed: the sweep published {sent} events left from before", flush=True)
        except Exception as exc:  # the next round retries; the rows stay in the outbox meanwhile
            print(f"change feed: sweep failed ({type(exc).__name__}); retrying in {every:.0f} s", flush=True)
        await asyncio.sleep(every)


def _admin_env(env: dict[str, str]) -> str:
    """The exports that put scimctl on PATH (make install leaves it in .venv/bin) and point it at this local
    host's store, secrets and URL (client create prints the Base URL and Token URL of the port served)."""
    names = (
        "SCIM_STORE",
        "SCIM_TABLES_CONNECTION_STRING",
        "SCIM_QUEUES_CONNECTION_STRING",
        "SCIM_SECRETS_FILE",
        "SCIM_PUBLIC_BASE_URL",
    )
    bin_dir = shlex.quote(str(Path(sys.executable).parent))  # the environment this scimctl runs from
    return f'export PATH={bin_dir}:"$PATH" ' + " ".join(f"{name}={shlex.quote(env[name])}" for name in names)


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
        + (
            f"  Administer it (scimctl role add ..., group add ...) from another shell:\n    {admin_env}\n"
            if admin_env
            else ""
        )
    )


def dev_credentials(local: LocalSettings, where: Path) -> tuple[str, str]:
    """The dev client: from SCIM_DEV_CLIENT_ID/SECRET, else remembered in <data dir>/dev-client.env, else new and
    remembered there, so restarts reuse one client instead of adding another with networks=any each time."""
    path = where / DEV_CLIENT_FILE
    remembered: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            name, _, value = line.partition("=")
            remembered[name.strip()] = value.strip()
    client_id = local.dev_client_id or remembered.get("SCIM_DEV_CLIENT_ID") or str(uuid.uuid4())
    secret = local.dev_client_secret or remembered.get("SCIM_DEV_CLIENT_SECRET") or _new_secret()
    if not (local.dev_client_id and local.dev_client_secret):
        where.mkdir(parents=True, exist_ok=True)
        # Shell syntax, so `. .data/dev-client.env` defines them (README "Try it"); 0600 like the secrets file.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(f"SCIM_DEV_CLIENT_ID={client_id}\nSCIM_DEV_CLIENT_SECRET={secret}\n")
    return client_id, secret


def _new_secret() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex


def _listen(host: str, port: int) -> socket.socket:
    """Bind the HTTP port before anything else starts, so a second `make run` fails before it seeds or prints."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # asyncio sets TCP_NODELAY on accepted connections only when the socket says IPPROTO_TCP; without it Nagle's
    # algorithm holds a response's body until the client's delayed ACK of its headers: 40 ms on keep-alive.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT only; a live listener still refuses
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(False)
    return sock


class _Stopped(Exception):
    """SIGTERM arrived: stop like Ctrl-C, through the finally blocks that stop Azurite."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Stopped


def serve(host: str, port: int) -> int:
    """Run until SIGINT or SIGTERM; with SCIM_STORE=tables and no Table service named, Azurite runs with data under
    the data directory and is stopped (gracefully, so it saves) however the host stops."""
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _serve(host, port)
    except (KeyboardInterrupt, _Stopped):
        print("scimctl: stopped", file=sys.stderr)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def _serve(host: str, port: int) -> int:
    import uvicorn

    from scim.dev.azurite import Azurite

    env = dict(os.environ)  # the settings' loaders (scim.config) read this copy, with the local host's additions
    env.setdefault("SCIM_PUBLIC_BASE_URL", f"http://{host}:{port}")
    where = data_dir(env)
    try:
        sock = _listen(host, port)
    except OSError as exc:
        print(
            f"scimctl: cannot listen on {host}:{port} ({exc.strerror}); is another `make run` or `scimctl serve`"
            " running? Stop it, or pick another port: make run PORT=7072 (scimctl serve --port 7072).",
            file=sys.stderr,
        )
        return 1
    azurite: Azurite | None = None
    try:
        try:
            local = load_local_settings(env)
        except SettingsError as exc:
            print(f"scimctl: {exc}", file=sys.stderr)
            return 2
        if local.needs_azurite:
            # Tables and, for the change feed, queues (docs/integration.md).
            azurite = Azurite(
                location=where / "azurite", port=local.azurite_port, queue=True, queue_port=local.azurite_queue_port
            )
            try:
                azurite.start()
            except RuntimeError as exc:
                azurite = None
                print(f"scimctl: {exc}", file=sys.stderr)
                return 1
            env["SCIM_TABLES_CONNECTION_STRING"] = azurite.connection_string
            env.setdefault("SCIM_QUEUES_CONNECTION_STRING", azurite.queue_connection_string)
            env.setdefault("SCIM_SECRETS_FILE", str(where / "secrets.json"))
        return _run(sock, host, port, env, where, local=local, server_class=_server_class(uvicorn))
    finally:
        sock.close()
        if azurite is not None:
            azurite.stop()


def _server_class(uvicorn: ModuleType) -> type[Any]:
    class Server(uvicorn.Server):  # type: ignore[name-defined,misc]
        """uvicorn's server without its signal re-raise: after a graceful stop it re-raises the signal, which for
        SIGTERM kills the process before Azurite is stopped and for SIGINT prints a KeyboardInterrupt traceback."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            handled = (signal.SIGINT, signal.SIGTERM)
            originals = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
            try:
                yield
            finally:
                for sig, handler in originals.items():
                    signal.signal(sig, handler)

    return Server


def _run(
    sock: socket.socket,
    host: str,
    port: int,
    env: dict[str, str],
    where: Path,
    *,
    local: LocalSettings,
    server_class: type[Any],
) -> int:
    import uvicorn

    try:
        settings = load_settings(env)
    except SettingsError as exc:
        print(f"scimctl: {exc}", file=sys.stderr)
        return 2
    client_id, secret = dev_credentials(local, where)
    module = load_function_app()
    asgi = FunctionsAsgi(
        module.app,
        max_body_bytes=settings.max_body_bytes,
        trusted_proxies=settings.trusted_proxies,
        address_header=settings.client_address_header,
    )

    configure_local()

    async def main() -> None:
        app = build_app(settings)
        # scimctl runs in other processes; without a cache here its client changes apply at once (security.md §7).
        # A benchmark sets Azure's cache time (SCIM_CLIENT_CACHE_SECONDS) to measure what a deployment costs.
        app.clients.cache_for(local.client_cache_seconds)
        install_app(app)
        try:
            # Unset policy: a new dev directory gets the default (strict), an existing one keeps what scimctl set.
            # The catalog names are for throwaway memory runs, which no scimctl can reach.
            await seed(
                app, client_id, secret, local.name_policy, role_mode=local.role_mode,
                roles=local.dev_roles, groups=local.dev_groups,
            )  # fmt: skip
            admin_env = _admin_env(env) if local.needs_azurite else ""
            print(banner(settings, client_id, secret, admin_env=admin_env), flush=True)
            config = uvicorn.Config(
                asgi,
                host=host,
                port=port,
                loop="asyncio",
                http="httptools",
                lifespan="off",
                access_log=False,
                log_level="warning",
                # The caller's address is the socket's; devhost trusts SCIM_TRUSTED_PROXIES only.
                proxy_headers=False,
            )
            # function_app's timer trigger runs the sweep in Azure; here a task does, at start and every minute.
            sweeper = asyncio.create_task(sweep_forever(app)) if app.relay is not None else None
            try:
                await server_class(config).serve(sockets=[sock])
            finally:
                if sweeper is not None:
                    sweeper.cancel()
        finally:
            await app.close()
            install_app(None)

    asyncio.run(main())
    return 0
