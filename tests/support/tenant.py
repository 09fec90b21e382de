"""A directory and the client that provisions it, as isolation tests hold them."""

from __future__ import annotations

from dataclasses import dataclass

from tests.support.app import Client


@dataclass
class Tenant:
    directory: str
    client_id: str
    secret: str
    http: Client
