"""Telemetry for `make run`: one readable line per request on stderr, and opt-in OTLP export."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind

from scim.telemetry import escape


class RequestLineExporter(SpanExporter):
    """`12:00:01 201 user.create 3.1ms rt=1 dir=dev client=… id=… trace=…` for each request span."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            if span.kind != SpanKind.SERVER:
                continue
            a = dict(span.attributes or {})
            stamp = datetime.fromtimestamp((span.start_time or 0) / 1e9, UTC).strftime("%H:%M:%S")
            parts = [
                stamp,
                str(a.get("http.response.status_code", "-")),
                span.name,
                f"{a.get('scim.duration_ms', 0)}ms",
                f"rt={a.get('scim.store.round_trips', 0)}",
            ]
            for key, label in (
                ("scim.directory", "dir"),
                ("scim.client_id", "client"),
                ("scim.resource_id", "id"),
                ("scim.scim_type", "scimType"),
                ("scim.oauth_error", "error"),
            ):
                if key in a:
                    # annotate() escapes already; a span set by other code may not have been.
                    parts.append(f"{label}={escape(a[key])}")
            parts.append(f"trace={span.context.trace_id:032x}" if span.context else "")
            print(" ".join(parts), file=sys.stderr, flush=True)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def configure_local() -> None:
    """Console output of one line per request, and OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # OTEL_* are OpenTelemetry's own variables, read by its SDK and exporter, so they stay out of scim.config; here
    # only the service name's default ("scim", not the SDK's unknown_service) and whether to add the exporter.
    provider = TracerProvider(resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "scim")}))
    # Batched, like the Azure exporter: printing happens off the request path.
    provider.add_span_processor(BatchSpanProcessor(RequestLineExporter(), schedule_delay_millis=200))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
