"""Helpers for the store suites."""

from __future__ import annotations

import secrets


def table_prefix() -> str:
    """A fresh table-name prefix (letters and digits only, as table names require) so tests never meet."""
    return "t" + secrets.token_hex(6)
