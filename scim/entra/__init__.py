"""The Entra side of provisioning, through Microsoft Graph and msal, for `scimctl entra` only.

Nothing on the request path imports this package: msal, requests and the Graph calls load only when an
admin runs an `entra` command (docs/architecture.md "Budgets"; bench/bench_import.py shows it).
"""
