"""Every setting, read once from the environment, validated, and passed to constructors."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from scim.model import NamePolicy, RoleMode

StoreKind = Literal["memory", "tables"]

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# Seconds an RFC 9865 cursor stays valid after the page that returned it (ServiceProviderConfig cursorTimeout).
CURSOR_TIMEOUT = 3600
MAX_BODY_BYTES = 1_048_576
# Workload identity federation (docs/security.md §2.1): Microsoft's login endpoints; {tenant} is the client's tenant.
ENTRA_JWKS_URL_TEMPLATE = "https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys"
ENTRA_ISSUER_TEMPLATE = "https://login.microsoftonline.com/{tenant}/v2.0"
# Where `scimctl entra` and the rotation timer sign in and call Microsoft Graph (public cloud).
ENTRA_AUTHORITY_HOST = "https://login.microsoftonline.com"
ENTRA_GRAPH_URL = "https://graph.microsoft.com"
# Where `make run` keeps Azurite's data, the secrets file and the dev client, wherever scimctl is run from.
REPOSITORY_DATA_DIR = Path(__file__).resolve().parents[1] / ".data"


def check_url(name: str, url: str) -> str:
    """https, or http on loopback (the tests' local JWKS); ValueError names the setting."""
    parts = urlsplit(url.replace("{tenant}", "00000000-0000-0000-0000-000000000000"))
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not parts.hostname or (parts.scheme != "https" and not (parts.scheme == "http" and loopback)):
        raise ValueError(f"{name} must be an https URL (http only on 127.0.0.1), not {url!r}")
    return url


def check_template(name: str, template: str) -> str:
    """A URL template with ``{tenant}``, which each client's tenant id replaces."""
    if "{tenant}" not in template:
        raise ValueError(f"{name} must contain {{tenant}}, not {template!r}")
    return check_url(name, template)


def data_dir(env: Mapping[str, str]) -> Path:
    """The local data directory: SCIM_DATA_DIR, or the repository's .data (never one relative to the shell's folder)."""
    return Path(env.get("SCIM_DATA_DIR") or REPOSITORY_DATA_DIR)


_HEADER_NAME = re.compile(r"[0-9a-z!#$%&'*+.^_`|~-]{1,64}")  # RFC 9110 §5.1 token, lower-cased


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names it and says what is allowed."""


@dataclass(frozen=True, slots=True)
class Settings:
    store: StoreKind = "memory"
    tables_connection_string: str = ""
    tables_endpoint: str = ""
    table_prefix: str = "scim"
    keyvault_url: str = ""
    secrets_file: Path = REPOSITORY_DATA_DIR / "secrets.json"
    # A missing secrets file is created only where a setting says so (SCIM_SECRETS_FILE or SCIM_DATA_DIR): a new file
    # anywhere else holds a signing key the running service does not know, and its clients get 401.
    secrets_file_configured: bool = False
    public_base_url: str = "http://127.0.0.1:7071"
    token_issuer: str = ""
    log_pii: bool = False
    max_body_bytes: int = MAX_BODY_BYTES
    client_address_header: str = "x-forwarded-for"
    entra_jwks_url_template: str = ENTRA_JWKS_URL_TEMPLATE
    entra_issuer_template: str = ENTRA_ISSUER_TEMPLATE
    trusted_proxies: tuple[str, ...] = ()  # the local host only: peers whose address header it keeps as sent
    queues_connection_string: str = ""  # the change feed's queue service (Azurite); empty with no endpoint: feed off
    queues_endpoint: str = ""
    set_retention_days: float = 7.0  # how long polls can replay signed change events (docs/integration.md)
    instance_id: str = ""  # WEBSITE_INSTANCE_ID, which Azure Functions sets: the health record names the instance

    @property
    def change_feed(self) -> bool:
        """The feed is on when a queue service is configured (docs/integration.md)."""
        return bool(self.queues_connection_string or self.queues_endpoint)

    @property
    def base_url(self) -> str:
        """The SCIM Base URL an admin pastes into Entra as the Tenant URL."""
        return f"{self.public_base_url}/scim/v2"

    @property
    def token_url(self) -> str:
        return f"{self.public_base_url}/oauth2/token"

    @property
    def issuer(self) -> str:
        return self.token_issuer or self.public_base_url


def _bool(name: str, raw: str) -> bool:
    folded = raw.strip().lower()
    if folded in {"1", "true", "yes", "on"}:
        return True
    if folded in {"", "0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def _entra_templates(env: Mapping[str, str]) -> tuple[str, str]:
    """SCIM_ENTRA_JWKS_URL_TEMPLATE and SCIM_ENTRA_ISSUER_TEMPLATE, each checked unless it is the default."""
    templates = []
    for name, default in (
        ("SCIM_ENTRA_JWKS_URL_TEMPLATE", ENTRA_JWKS_URL_TEMPLATE),
        ("SCIM_ENTRA_ISSUER_TEMPLATE", ENTRA_ISSUER_TEMPLATE),
    ):
        value = env.get(name, "").strip() or default
        if value != default:
            try:
                check_template(name, value)
            except ValueError as exc:
                raise SettingsError(str(exc)) from None
        templates.append(value)
    return templates[0], templates[1]


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the SCIM_* settings; raise SettingsError naming the first invalid one."""
    env = os.environ if env is None else env
    store = env.get("SCIM_STORE", "memory").strip().lower() or "memory"
    if store not in ("memory", "tables"):
        raise SettingsError(f"SCIM_STORE must be 'memory' or 'tables', not {store!r}")
    connection = env.get("SCIM_TABLES_CONNECTION_STRING", "")
    endpoint = env.get("SCIM_TABLES_ENDPOINT", "").rstrip("/")
    if store == "tables" and not (connection or endpoint):
        raise SettingsError(
            "SCIM_STORE=tables needs SCIM_TABLES_ENDPOINT (Azure) or SCIM_TABLES_CONNECTION_STRING (Azurite)"
        )
    prefix = env.get("SCIM_TABLE_PREFIX", "scim")
    if not (prefix.isalnum() and prefix[:1].isalpha() and len(prefix) <= 40):
        raise SettingsError(f"SCIM_TABLE_PREFIX must be letters and digits starting with a letter, not {prefix!r}")
    base = env.get("SCIM_PUBLIC_BASE_URL", "http://127.0.0.1:7071").rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise SettingsError(f"SCIM_PUBLIC_BASE_URL must be an http(s) URL, not {base!r}")
    try:
        max_body = int(env.get("SCIM_MAX_BODY_BYTES", str(MAX_BODY_BYTES)))
    except ValueError:
        raise SettingsError("SCIM_MAX_BODY_BYTES must be a whole number of bytes") from None
    header = env.get("SCIM_CLIENT_ADDRESS_HEADER", "").strip().lower() or "x-forwarded-for"
    if not _HEADER_NAME.fullmatch(header):
        raise SettingsError(f"SCIM_CLIENT_ADDRESS_HEADER must be an HTTP header name, not {header!r}")
    templates = _entra_templates(env)
    proxies = tuple(p.strip() for p in env.get("SCIM_TRUSTED_PROXIES", "").split(",") if p.strip())
    try:
        trusted = tuple(str(ipaddress.ip_network(p, strict=False)) for p in proxies)
    except ValueError:
        raise SettingsError(
            f"SCIM_TRUSTED_PROXIES must be comma-separated IP addresses or CIDRs, not {proxies!r}"
        ) from None
    try:
        retention = float(env.get("SCIM_SET_RETENTION_DAYS", "7"))
    except ValueError:
        retention = -1.0
    if not 0 < retention <= 365:
        raise SettingsError("SCIM_SET_RETENTION_DAYS must be a number of days from 0 (exclusive) to 365")
    return Settings(
        store=store,  # type: ignore[arg-type]
        tables_connection_string=connection,
        tables_endpoint=endpoint,
        table_prefix=prefix,
        keyvault_url=env.get("SCIM_KEYVAULT_URL", "").rstrip("/"),
        secrets_file=Path(env.get("SCIM_SECRETS_FILE") or data_dir(env) / "secrets.json"),
        secrets_file_configured=bool(env.get("SCIM_SECRETS_FILE") or env.get("SCIM_DATA_DIR")),
        public_base_url=base,
        token_issuer=env.get("SCIM_TOKEN_ISSUER", ""),
        log_pii=_bool("SCIM_LOG_PII", env.get("SCIM_LOG_PII", "")),
        max_body_bytes=max_body,
        client_address_header=header,
        entra_jwks_url_template=templates[0],
        entra_issuer_template=templates[1],
        trusted_proxies=trusted,
        queues_connection_string=env.get("SCIM_QUEUES_CONNECTION_STRING", ""),
        queues_endpoint=env.get("SCIM_QUEUES_ENDPOINT", "").rstrip("/"),
        set_retention_days=retention,
        instance_id=env.get("WEBSITE_INSTANCE_ID", "")[:16],
    )


DOCTOR_SECRET_ENV = "SCIM_CLIENT_SECRET"  # noqa: S105 - a variable's name, not a secret
ENTRA_SECRET_ENV = "SCIM_ENTRA_CLIENT_SECRET"  # noqa: S105 - a variable's name, not a secret


@dataclass(frozen=True, slots=True)
class DoctorSettings:
    """`scimctl doctor`: it checks a deployment from outside, so it reads only these, never the service's settings."""

    client_secret: str = field(default="", repr=False)  # SCIM_CLIENT_SECRET: kept out of the shell's history
    entra_jwks_url_template: str = ENTRA_JWKS_URL_TEMPLATE
    entra_issuer_template: str = ENTRA_ISSUER_TEMPLATE


def load_doctor_settings(env: Mapping[str, str] | None = None) -> DoctorSettings:
    """Read the doctor's settings; SettingsError names an invalid URL template."""
    env = os.environ if env is None else env
    jwks, issuer = _entra_templates(env)
    return DoctorSettings(env.get(DOCTOR_SECRET_ENV, ""), jwks, issuer)


@dataclass(frozen=True, slots=True)
class EntraSettings:
    """How `scimctl entra` and the rotation timer sign in to Microsoft Graph (docs/deploy.md).

    The URLs change only for national clouds and tests; the rest are defaults for scimctl's flags."""

    tenant: str = ""  # AZURE_TENANT_ID, the name azure-identity reads too: --tenant's default
    client_id: str = ""  # SCIM_ENTRA_CLIENT_ID: --client-id's default
    client_secret: str = field(default="", repr=False)  # SCIM_ENTRA_CLIENT_SECRET: --sign-in secret
    certificate: str = ""  # SCIM_ENTRA_CERTIFICATE: --certificate's default
    authority_host: str = ENTRA_AUTHORITY_HOST
    graph_url: str = ENTRA_GRAPH_URL
    token_cache: Path = Path("msal-token-cache.json")


def load_entra_settings(env: Mapping[str, str] | None = None) -> EntraSettings:
    """Read the SCIM_ENTRA_* settings (and AZURE_TENANT_ID); SettingsError names an invalid URL."""
    env = os.environ if env is None else env
    urls = []
    for name, default in (
        ("SCIM_ENTRA_AUTHORITY_HOST", ENTRA_AUTHORITY_HOST),
        ("SCIM_ENTRA_GRAPH_URL", ENTRA_GRAPH_URL),
    ):
        value = (env.get(name, "").strip() or default).rstrip("/")
        try:
            urls.append(check_url(name, value))
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
    # The token cache: SCIM_ENTRA_TOKEN_CACHE, else the XDG cache directory (~/.cache by default).
    cache = env.get("SCIM_ENTRA_TOKEN_CACHE") or str(
        Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "scimctl" / "msal-token-cache.json"
    )
    return EntraSettings(
        tenant=env.get("AZURE_TENANT_ID", ""),
        client_id=env.get("SCIM_ENTRA_CLIENT_ID", ""),
        client_secret=env.get(ENTRA_SECRET_ENV, ""),
        certificate=env.get("SCIM_ENTRA_CERTIFICATE", ""),
        authority_host=urls[0],
        graph_url=urls[1],
        token_cache=Path(cache),
    )


@dataclass(frozen=True, slots=True)
class LocalSettings:
    """`make run` / `scimctl serve` only: the local Azurite, the dev client and the dev directory's catalog."""

    needs_azurite: bool = False  # SCIM_STORE=tables with no Table service named: the host starts Azurite
    azurite_port: int = 10002  # SCIM_AZURITE_PORT
    azurite_queue_port: int = 10001  # SCIM_AZURITE_QUEUE_PORT: Azurite's layout puts queues on the port below
    name_policy: NamePolicy | None = None  # SCIM_NAME_POLICY: unset keeps what the dev directory has
    role_mode: RoleMode | None = None  # SCIM_DEV_ROLE_MODE
    dev_client_id: str = ""  # SCIM_DEV_CLIENT_ID and _SECRET: else remembered in the data directory
    dev_client_secret: str = field(default="", repr=False)
    dev_roles: tuple[str, ...] = ()  # SCIM_DEV_ROLES, SCIM_DEV_GROUPS: comma-separated catalog names
    dev_groups: tuple[str, ...] = ()
    client_cache_seconds: float = 0.0  # SCIM_CLIENT_CACHE_SECONDS: 0, so scimctl's client changes apply at once


def _names(raw: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in raw.split(",") if name.strip())


def _number(name: str, raw: str, kind: type[int] | type[float]) -> float:
    try:
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from None


def load_local_settings(env: Mapping[str, str] | None = None) -> LocalSettings:
    """Read the local host's settings; SettingsError names the first invalid one."""
    env = os.environ if env is None else env
    policy = env.get("SCIM_NAME_POLICY") or None
    if policy not in (None, "strict", "normalize", "create"):
        raise SettingsError(f"SCIM_NAME_POLICY must be strict, normalize or create, not {policy!r}")
    role_mode = env.get("SCIM_DEV_ROLE_MODE") or None
    if role_mode not in (None, "single", "multiple"):
        raise SettingsError(f"SCIM_DEV_ROLE_MODE must be single or multiple, not {role_mode!r}")
    table_port = int(_number("SCIM_AZURITE_PORT", env.get("SCIM_AZURITE_PORT", "10002"), int))
    queue_port = int(_number("SCIM_AZURITE_QUEUE_PORT", env.get("SCIM_AZURITE_QUEUE_PORT", str(table_port - 1)), int))
    return LocalSettings(
        needs_azurite=env.get("SCIM_STORE", "").strip().lower() == "tables"
        and not (env.get("SCIM_TABLES_CONNECTION_STRING") or env.get("SCIM_TABLES_ENDPOINT")),
        azurite_port=table_port,
        azurite_queue_port=queue_port,
        name_policy=policy,  # type: ignore[arg-type]
        role_mode=role_mode,  # type: ignore[arg-type]
        dev_client_id=env.get("SCIM_DEV_CLIENT_ID", ""),
        dev_client_secret=env.get("SCIM_DEV_CLIENT_SECRET", ""),
        dev_roles=_names(env.get("SCIM_DEV_ROLES", "")),
        dev_groups=_names(env.get("SCIM_DEV_GROUPS", "")),
        client_cache_seconds=_number("SCIM_CLIENT_CACHE_SECONDS", env.get("SCIM_CLIENT_CACHE_SECONDS") or "0", float),
    )
