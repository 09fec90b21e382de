"""Secret store: the JWT signing key and client secrets, in Key Vault or (for development) a local file.

Signing key: secret ``scim-signing-key``; each enabled version is a key and the token header's ``kid`` is its
version id. Client secrets: ``client-<client_id>``, two enabled versions during a rotation. Long-lived tokens:
``ltt-<client_id>``, one version (the token's own signing key) per token. Change events' signing key:
``scim-event-signing-key``, an ES256 private key (PEM) per version. Values are never logged.
"""

from scim.secrets._base import (
    EVENT_KEY_SECRET,
    SIGNING_KEY_SECRET,
    SecretStore,
    SecretStoreRefused,
    SecretVersion,
    client_secret_name,
    is_client_id,
    long_lived_token_name,
    retire_others,
)
from scim.secrets.keyvault import KeyVaultSecretStore
from scim.secrets.local import FileSecretStore, MemorySecretStore

__all__ = [
    "EVENT_KEY_SECRET",
    "SIGNING_KEY_SECRET",
    "FileSecretStore",
    "KeyVaultSecretStore",
    "MemorySecretStore",
    "SecretStore",
    "SecretStoreRefused",
    "SecretVersion",
    "client_secret_name",
    "is_client_id",
    "long_lived_token_name",
    "retire_others",
]
