"""`scimctl entra` as a test runs it: the public URL and the CI client the Graph double knows."""

from __future__ import annotations

PUBLIC = "https://scim.contoso.test"
CI_CLIENT = "5e1c8e7f-0d3a-4e1b-9a77-2b6f1d9c0a11"
CI_SECRET = "ci-secret-" + "s" * 30
