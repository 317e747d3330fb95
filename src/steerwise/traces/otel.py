"""OpenTelemetry export: each stored trace becomes a tree of spans (GenAI semantic conventions).

`OtelExporter` is a `TraceSink`: the trace log hands it each batch of traces on its writer
thread, after storing them, already scrubbed of personal data. Each step becomes a span with
its own start and end (the trace's `created_at` plus the step's `start_ms`), under its
parent; a step that failed has status ERROR with the (scrubbed) error text. The model call
is a `chat {model}` span with the `gen_ai.*` attributes; every other attribute goes under
`steerwise.`, flattened to what OpenTelemetry accepts (primitives and lists of one primitive
type; anything nested is JSON text). The input and output text are exported only with
`capture_content`, and then only scrubbed. docs/releases.md has the attribute table.

When steerwise builds the tracer provider (from a span exporter or processor), the exported
trace id is the steerwise trace id, so a trace id from an answer or a gateway header finds
the trace in the tracing backend too. A request that came with a W3C `traceparent` (its
root span's `traceparent` attribute) is exported inside the caller's trace instead: its
root span is a child of the caller's span, and the steerwise trace id stays findable as
`steerwise.trace_id`. The caller's sampling decision holds (a parent-based sampler, the
default, drops an unsampled caller's spans).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    Tracer,
    set_span_in_context,
)
from opentelemetry.trace import Span as OtelSpan
from opentelemetry.util.types import AttributeValue

from steerwise.core.traces import Span, Trace, TraceParent
from steerwise.guardrails.scrub import scrub
from steerwise.models.refs import PREFIXED

Attributes = dict[str, AttributeValue]
TRACES_PATH = "/v1/traces"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_ERROR_TYPE = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*): ")
_PINS = ("prompt", "model", "snapshot", "graph", "policy")
log = logging.getLogger(__name__)


class OtelExporter:
    """Sends traces to OpenTelemetry as spans (module docstring).

    `target` is a span exporter (wrapped in a SimpleSpanProcessor: spans leave on the trace
    log's writer thread), a span processor, or a tracer provider of the caller's (then used as
    it is: its resource and ids are the caller's, and `close` only flushes it).
    """

    def __init__(
        self,
        target: SpanExporter | SpanProcessor | TracerProvider,
        *,
        service_name: str = "steerwise",
        capture_content: bool = False,
        close_timeout_s: float = 10.0,
    ) -> None:
        self._ids: _TraceIds | None = None
        if isinstance(target, TracerProvider):
            self._provider, self._owned = target, False
        else:
            processor = SimpleSpanProcessor(target) if isinstance(target, SpanExporter) else target
            self._ids = _TraceIds()
            resource = Resource.create({"service.name": service_name})
            self._provider = TracerProvider(resource=resource, id_generator=self._ids)
            self._provider.add_span_processor(processor)
            self._owned = True
        self._tracer: Tracer = self._provider.get_tracer("steerwise", _steerwise_version())
        self._capture = capture_content
        self._close_timeout_s = close_timeout_s
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def otlp(
        cls,
        endpoint: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 5.0,
        service_name: str = "steerwise",
        capture_content: bool = False,
    ) -> OtelExporter:
        """Export over OTLP/HTTP (protobuf) to `endpoint` (`/v1/traces` is added unless it is
        there). A BatchSpanProcessor sends spans from its own thread, so a slow or absent
        collector never delays storing traces; each send gives up after `timeout_s`, and
        closing waits at most about twice that."""
        exporter = OTLPSpanExporter(
            endpoint=traces_url(endpoint), headers=dict(headers or {}), timeout=timeout_s
        )
        processor = BatchSpanProcessor(exporter, export_timeout_millis=timeout_s * 1000)
        return cls(
            processor,
            service_name=service_name,
            capture_content=capture_content,
            close_timeout_s=2 * timeout_s + 1,
        )

    def export(self, traces: Sequence[Trace]) -> None:
        """One span tree per trace (the traces are scrubbed already: `TraceLog` does it)."""
        with self._lock:
            if self._closed:
                return
            for trace in traces:
                origin_ns = _unix_ns(trace.created_at)
                caller = TraceParent.parse(trace.root.attributes.get("traceparent"))
                if caller is not None:
                    self._emit(trace, trace.root, _remote_parent(caller), origin_ns)
                    continue
                with self._ids.using(_trace_number(trace.id)) if self._ids else nullcontext():
                    self._emit(trace, trace.root, Context(), origin_ns)

    def close(self) -> None:
        """Send what is pending and shut down (only flush a caller's provider); never waits
        longer than `close_timeout_s`."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        timeout_ms = int(self._close_timeout_s * 1000)
        if self._owned:
            _bounded(self._provider.shutdown, self._close_timeout_s)
        else:
            _bounded(lambda: self._provider.force_flush(timeout_ms), self._close_timeout_s)

    def _emit(self, trace: Trace, span: Span, parent: Context, origin_ns: int) -> None:
        attributes = _attributes(trace, span, capture=self._capture)
        start_ns = origin_ns + round(span.start_ms * 1_000_000)
        end_ns = start_ns + round(span.duration_ms * 1_000_000)
        is_chat = span.name == "model_call"
        exported = self._tracer.start_span(
            _span_name(span),
            context=parent,
            kind=SpanKind.CLIENT if is_chat else SpanKind.INTERNAL,
            attributes=attributes,
            start_time=start_ns,
        )
        failure = span.error or (_failure(trace) if span is trace.root else None)
        if failure:
            _mark_failed(exported, scrub(failure), end_ns)
        context = set_span_in_context(exported)
        for child in span.children:
            self._emit(trace, child, context, origin_ns)
        exported.end(end_time=end_ns)


class _TraceIds(RandomIdGenerator):
    """Random ids, except that the exporter may name the trace id of the next root span."""

    next_trace_id: int | None = None

    @contextmanager
    def using(self, trace_id: int | None) -> Iterator[None]:
        """The next trace id is `trace_id` (None: random) within the block, never after."""
        self.next_trace_id = trace_id
        try:
            yield
        finally:
            self.next_trace_id = None

    def generate_trace_id(self) -> int:
        wanted, self.next_trace_id = self.next_trace_id, None
        return wanted or super().generate_trace_id()


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL of a collector address (`http://host:4318` or the full URL)."""
    trimmed = endpoint.rstrip("/")
    return trimmed if trimmed.endswith(TRACES_PATH) else trimmed + TRACES_PATH


def attribute_value(value: Any) -> AttributeValue | None:
    """`value` as an OpenTelemetry attribute: a primitive or a list of one primitive type as
    it is, None left out, anything else (mappings, mixed or nested lists) as JSON text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        kinds = {type(item) for item in value}
        if len(kinds) <= 1 and kinds <= {bool, int, float, str}:
            return list(value)
        if kinds == {int, float}:
            return [float(item) for item in value]
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def model_parts(model: str) -> tuple[str, str]:
    """(`gen_ai.provider.name`, model name) of a model id: `openai:gpt-4o` is ("openai",
    "gpt-4o"); a name from `[models.NAME]` is ("steerwise", NAME)."""
    provider, sep, name = model.partition(":")
    if sep and provider in PREFIXED and name:
        return provider, name
    return "steerwise", model


def _attributes(trace: Trace, span: Span, *, capture: bool) -> Attributes:
    if span is trace.root:
        return _request_attributes(trace, span, capture=capture)
    special = _SPECIAL.get(span.name)
    return special(span) if special else _flat(span.attributes)


def _flat(attributes: Mapping[str, Any], *, skip: Sequence[str] = ()) -> Attributes:
    found: Attributes = {}
    for key, value in attributes.items():
        converted = attribute_value(value)
        if key not in skip and converted is not None:
            found[f"steerwise.{key}"] = converted
    return found


def _request_attributes(trace: Trace, root: Span, *, capture: bool) -> Attributes:
    found = _flat(root.attributes, skip=("release", "release_id", *_PINS))
    found |= {
        "steerwise.trace_id": trace.id,
        "steerwise.target": trace.target,
        "steerwise.release": trace.release,
        "steerwise.release_id": trace.release_id,
        "steerwise.outcome": trace.outcome,
        "steerwise.status": trace.status,
    }
    for pin in _PINS:
        if root.attributes.get(pin):
            found[f"steerwise.pin.{pin}"] = str(root.attributes[pin])
    return found | (_content(trace) if capture else {})


def _content(trace: Trace) -> Attributes:
    """The scrubbed input and output, as GenAI message lists (only with `capture_content`)."""
    found: Attributes = {"steerwise.input": attribute_value(dict(trace.input)) or "{}"}
    question = trace.input.get("question")
    if isinstance(question, str):
        asked = [{"role": "user", "parts": [{"type": "text", "content": question}]}]
        found["gen_ai.input.messages"] = json.dumps(asked, ensure_ascii=False)
    if trace.output:
        said: dict[str, Any] = {"role": "assistant"}
        said["parts"] = [{"type": "text", "content": trace.output}]
        finish = _last_finish_reason(trace.root)
        if finish:
            said["finish_reason"] = finish
        found["gen_ai.output.messages"] = json.dumps([said], ensure_ascii=False)
    return found


def _last_finish_reason(span: Span) -> str | None:
    reasons = [str(s.attributes.get("finish_reason") or "") for s in _walk(span)]
    return next((reason for reason in reversed(reasons) if reason), None)


def _walk(span: Span) -> list[Span]:
    return [span, *(found for child in span.children for found in _walk(child))]


def _chat_attributes(span: Span) -> Attributes:
    """`gen_ai.*` of one model call: the model first asked, the one that answered (after any
    fallback; its provider is `gen_ai.provider.name`), tokens and finish reason."""
    attributes = span.attributes
    provider, response_model = model_parts(str(attributes.get("model") or ""))
    found = _flat(attributes, skip=("input_tokens", "output_tokens", "finish_reason"))
    return found | {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model_parts(_asked_model(attributes))[1],
        "gen_ai.response.model": response_model,
        "gen_ai.usage.input_tokens": int(attributes.get("input_tokens") or 0),
        "gen_ai.usage.output_tokens": int(attributes.get("output_tokens") or 0),
        "gen_ai.response.finish_reasons": [str(attributes.get("finish_reason") or "")],
    }


def _asked_model(attributes: Mapping[str, Any]) -> str:
    """The model a call asked for first: its first attempt's (fallbacks come later)."""
    answered = str(attributes.get("model") or "")
    attempts = attributes.get("attempts") or []
    return str(attempts[0].get("model") or answered) if attempts else answered


def _retrieval_attributes(span: Span) -> Attributes:
    """The retrieved chunks as parallel flat lists (ids, documents, fused scores, staleness)."""
    chunks = span.attributes.get("chunks") or []
    found = _flat(span.attributes, skip=("chunks",))
    found |= {
        "gen_ai.operation.name": "retrieval",
        "steerwise.retrieval.chunk_ids": [str(c["chunk_id"]) for c in chunks],
        "steerwise.retrieval.documents": [str(c["document"]) for c in chunks],
        "steerwise.retrieval.scores": [float(c["score"]) for c in chunks],
        "steerwise.retrieval.stale": [bool(c["stale"]) for c in chunks],
        "steerwise.retrieval.retriever_scores": json.dumps([c["scores"] for c in chunks]),
    }
    snapshot = span.attributes.get("snapshot")
    if snapshot:
        found["gen_ai.data_source.id"] = str(snapshot)
    return found


_SPECIAL: dict[str, Callable[[Span], Attributes]] = {
    "model_call": _chat_attributes,
    "retrieval": _retrieval_attributes,
}


def _span_name(span: Span) -> str:
    """`chat {model}` for a model call (GenAI conventions), else the step's name."""
    if span.name == "model_call":
        return f"chat {model_parts(_asked_model(span.attributes))[1]}"
    return span.name


def _failure(trace: Trace) -> str | None:
    """Why a failed request failed, when no step says (it failed before its first step)."""
    return "request failed" if trace.status == "error" else None


def _mark_failed(span: OtelSpan, error: str, at_ns: int) -> None:
    """Status ERROR with the error text, `error.type`, and an `exception` event."""
    matched = _ERROR_TYPE.match(error)
    kind = matched.group(1) if matched else "_OTHER"
    span.set_status(Status(StatusCode.ERROR, error))
    span.set_attribute("error.type", kind)
    event = {"exception.type": kind, "exception.message": error}
    span.add_event("exception", event, timestamp=at_ns)


def _remote_parent(caller: TraceParent) -> Context:
    """A context whose current span is the caller's (remote) span."""
    flags = TraceFlags(TraceFlags.SAMPLED if caller.sampled else TraceFlags.DEFAULT)
    remote = SpanContext(
        int(caller.trace_id, 16), int(caller.span_id, 16), is_remote=True, trace_flags=flags
    )
    return set_span_in_context(NonRecordingSpan(remote))


def _trace_number(trace_id: str) -> int | None:
    """A steerwise trace id (32 hex digits, not all zero) as an OpenTelemetry trace id."""
    if not _TRACE_ID.fullmatch(trace_id):
        return None
    return int(trace_id, 16) or None


def _unix_ns(created_at: str) -> int:
    """Nanoseconds since the epoch of a stored `created_at` (UTC, microseconds)."""
    moment = datetime.fromisoformat(created_at)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


def _bounded(action: Callable[[], object], timeout_s: float) -> None:
    """Run `action` on a daemon thread; stop waiting for it after `timeout_s`."""
    worker = threading.Thread(target=action, name="steerwise-otel-close", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        log.warning("OpenTelemetry export: still sending after %.0f s at close", timeout_s)


def _steerwise_version() -> str:
    try:
        return version("steerwise")
    except PackageNotFoundError:
        return "unknown"
