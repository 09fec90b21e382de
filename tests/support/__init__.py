"""Helpers shared by test suites and local runs (Azurite process management)."""
