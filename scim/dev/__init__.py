"""Local development only: the `make run` host, the Functions-shaped dev host, Azurite, console telemetry."""
