"""The tests start Azurite with the same launcher `make run` uses."""

from scim.dev.azurite import (
    ACCOUNT,
    ACCOUNT_KEY,
    BINARY,
    Azurite,
    connection_string,
    free_port,
    queue_connection_string,
)

__all__ = ["ACCOUNT", "ACCOUNT_KEY", "BINARY", "Azurite", "connection_string", "free_port", "queue_connection_string"]
