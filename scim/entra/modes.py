"""Entra's ways to authenticate to a SCIM endpoint, as `scimctl entra` names them (no imports: scimctl's parser
loads this without loading Graph code)."""

from __future__ import annotations

from typing import Literal

AuthMode = Literal["secret-token", "client-credentials", "federated"]
AUTH_MODES: tuple[AuthMode, ...] = ("secret-token", "client-credentials", "federated")
# "How credentials are sent" in the admin center, as connectivityParameters' credentialLocationInRequest spells it.
SendMode = Literal["Header", "Body", "Both"]
HOW: dict[str, str] = {
    "secret-token": "Base URL + long-lived Secret Token",
    "client-credentials": "OAuth2 client credentials",
    "federated": "workload identity federation",
}
