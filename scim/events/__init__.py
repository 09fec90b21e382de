"""The change feed: what changed (schema, pure), the relay to Azure Queue Storage (relay, queue: I/O)."""
