"""Trace sinks: where written traces go besides the store (OpenTelemetry, for one).

A sink gets each batch of traces on the trace log's writer thread, after the batch is
stored, already scrubbed of personal data; it is closed when the trace log closes. This
module needs no optional package: the OpenTelemetry exporter is imported only when
`[tracing] otlp_endpoint` asks for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from steerwise.core.errors import BadInputError
from steerwise.core.traces import Trace

if TYPE_CHECKING:
    from steerwise.settings import TracingSection


class TraceSink(Protocol):
    """Receives scrubbed traces after they are stored."""

    def export(self, traces: Sequence[Trace]) -> None:
        """Send `traces` on (called on the trace log's writer thread, never a request's)."""

    def close(self) -> None:
        """Send what is pending, within a bounded time, and release what the sink holds."""


def configured_sinks(tracing: TracingSection) -> list[TraceSink]:
    """The sinks `[tracing]` asks for: none, or OTLP/HTTP export to `otlp_endpoint`."""
    if not tracing.otlp_endpoint:
        return []
    try:
        from steerwise.traces.otel import OtelExporter
    except ImportError as error:
        raise BadInputError(
            "[tracing] otlp_endpoint needs the OpenTelemetry SDK, which is not installed",
            hint="install the extra: pip install 'steerwise[otel]'",
        ) from error
    return [
        OtelExporter.otlp(
            tracing.otlp_endpoint,
            headers=tracing.headers,
            timeout_s=tracing.timeout_s,
            service_name=tracing.service_name,
            capture_content=tracing.capture_content,
        )
    ]
