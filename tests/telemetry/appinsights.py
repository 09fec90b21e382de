"""The product's spans and log records as Application Insights stores them.

Each span or log record goes through the pinned azure-monitor-opentelemetry-exporter's own conversion (the function
its exporter calls before it sends an envelope; offline, nothing is sent), and the envelope is read back as the row
a query sees. The column names are those of the classic tables (requests, dependencies, traces): `name` is the
envelope's data name, `resultCode` its response code, `customDimensions` its properties, `operation_Name` and
`client_IP` its ai.operation.name and ai.location.ip tags.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from azure.monitor.opentelemetry.exporter.export.logs._exporter import _convert_log_to_envelope
from azure.monitor.opentelemetry.exporter.export.trace._exporter import _convert_span_to_envelope
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import ReadableSpan

_TABLES = {
    "RequestData": "requests",
    "RemoteDependencyData": "dependencies",
    "MessageData": "traces",
    "ExceptionData": "exceptions",
}


def row(span_or_record: ReadableSpan | ReadableLogRecord) -> dict[str, Any]:
    """The row the exporter's envelope becomes, with a `table` key naming its table."""
    if isinstance(span_or_record, ReadableSpan):
        envelope = _convert_span_to_envelope(span_or_record)
    else:
        envelope = _convert_log_to_envelope(span_or_record)
    data = envelope.data.base_data
    tags = envelope.tags or {}
    found: dict[str, Any] = {
        "table": _TABLES[envelope.data.base_type],
        "operation_Id": tags.get("ai.operation.id"),
        "operation_ParentId": tags.get("ai.operation.parentId"),
        "operation_Name": tags.get("ai.operation.name"),
        "client_IP": tags.get("ai.location.ip"),
        "customDimensions": dict(data.properties or {}),
        "customMeasurements": dict(getattr(data, "measurements", None) or {}),
    }
    if found["table"] == "requests":
        found.update(name=data.name, resultCode=data.response_code, success=data.success, url=data.url, id=data.id)
    elif found["table"] == "dependencies":
        found.update(
            name=data.name,
            type=data.type,
            target=data.target,
            resultCode=data.result_code,
            success=data.success,
            id=data.id,
        )
    elif found["table"] == "traces":
        found.update(message=data.message, severityLevel=data.severity_level)
    else:
        found.update(type=data.exceptions[0].type_name, outerMessage=data.exceptions[0].message)
    return found


def rows(items: Sequence[ReadableSpan | ReadableLogRecord], table: str) -> list[dict[str, Any]]:
    return [r for r in map(row, items) if r["table"] == table]


@contextmanager
def log_records(logger_name: str = "scim") -> Iterator[InMemoryLogRecordExporter]:
    """Log records of ``logger_name`` as the Azure Monitor distro collects them (its LoggingHandler on that logger)."""
    # opentelemetry-sdk leaves InMemoryLogRecordExporter.__init__ unannotated (no arguments, no return type).
    exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    handler = LoggingHandler(logger_provider=provider)
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)  # the Functions host's "default": "Information" (host.json)
    try:
        yield exporter
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        provider.shutdown()
