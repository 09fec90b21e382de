"""The change feed's I/O: the outbox relay to Azure Queue Storage (events are built in scim/protocol/changes.py)."""
