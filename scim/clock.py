"""The one timestamp form the product stores and sends: RFC 3339 UTC with milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> str:
    """RFC 3339 UTC with milliseconds, the form Entra's examples use."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
