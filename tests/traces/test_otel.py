"""OpenTelemetry export of request traces: real requests, the SDK's in-memory exporter, and
OTLP/HTTP to a small collector on 127.0.0.1."""

from __future__ import annotations

import itertools
import json
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from steerwise import BadInputError, Workspace
from steerwise.core.models import ModelError
from steerwise.core.traces import Span, Trace, TraceParent
from steerwise.pipeline.request import Answer
from steerwise.releases import PinRequest
from steerwise.traces.otel import OtelExporter
from tests.conftest import simple_prompt, write_prompt
from tests.models.fault_server import FaultServer, ok, status
from tests.shop import build_shop

EMAIL = "jo@example.org"
QUESTION = f"I am {EMAIL}. How long does a refund take after I return a bike?"


@dataclass(frozen=True)
class Exported:
    """One real request, its stored trace, and its spans exported with and without content."""

    answer: Answer
    trace: Trace
    captured: Sequence[ReadableSpan]
    plain: Sequence[ReadableSpan]

    def named(self, name: str) -> ReadableSpan:
        return next(span for span in self.captured if span.name == name)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """support-bot@production (rails, retrieval, the real local model) answers once."""
    pins = PinRequest(
        "support-answer@production",
        snapshot="latest",
        policy="support",
        params={"k": "3", "max_tokens": "40"},
    )
    root = build_shop(tmp_path_factory.mktemp("otel") / "ws", "support-bot", pins)
    captured, plain = InMemorySpanExporter(), InMemorySpanExporter()
    with Workspace.open(root) as ws:
        ws.traces.add_sink(OtelExporter(captured, capture_content=True))
        ws.traces.add_sink(OtelExporter(plain))
        answer = ws.run("support-bot@production", {"question": QUESTION})
        trace = ws.traces.get(answer.trace_id)
    return Exported(answer, trace, captured.get_finished_spans(), plain.get_finished_spans())


def _tree(spans: Sequence[ReadableSpan]) -> dict[str, list[str]]:
    """Each span's name -> its children's names, in start order."""
    by_id = {span.context.span_id: span for span in spans if span.context}
    tree: dict[str, list[str]] = {span.name: [] for span in spans}
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        if span.parent is not None:
            tree[by_id[span.parent.span_id].name].append(span.name)
    return tree


def _step(span: Span, name: str) -> Span:
    return next(child for child in span.children if child.name == name)


def test_every_step_is_a_span_under_its_parent_in_the_steerwise_trace(
    exported: Exported,
) -> None:
    tree = _tree(exported.captured)
    assert tree["request"] == ["retrieval", "graph_facts", "generate", "citations"]
    assert tree["generate"] == ["input_rails", "chat smollm2-135m", "output_rails"]
    (root,) = [span for span in exported.captured if span.parent is None]
    assert root.name == "request" and root.context is not None
    assert {span.context.trace_id for span in exported.captured if span.context} == {
        int(exported.trace.id, 16)
    }
    assert root.resource.attributes["service.name"] == "steerwise"
    assert len(exported.plain) == len(exported.captured)


def test_the_model_call_carries_the_genai_attributes_of_the_trace(exported: Exported) -> None:
    call = _step(_step(exported.trace.root, "generate"), "model_call").attributes
    chat = exported.named("chat smollm2-135m")
    attributes = dict(chat.attributes or {})
    attempts = json.loads(str(attributes.pop("steerwise.attempts")))
    assert chat.kind is SpanKind.CLIENT
    assert attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "local",
        "gen_ai.request.model": "smollm2-135m",
        "gen_ai.response.model": "smollm2-135m",
        "gen_ai.usage.input_tokens": call["input_tokens"],
        "gen_ai.usage.output_tokens": call["output_tokens"],
        "gen_ai.response.finish_reasons": (call["finish_reason"],),
        "steerwise.prompt": "support-answer@1",
        "steerwise.model": "local:smollm2-135m",
        "steerwise.cost_usd": 0.0,
    }
    assert call["model"] == "local:smollm2-135m" and call["output_tokens"] > 0
    assert attempts == call["attempts"]


def test_spans_start_in_order_and_inside_their_parent(exported: Exported) -> None:
    spans = {span.context.span_id: span for span in exported.captured if span.context}
    root = exported.named("request")
    created = exported.trace.created_at
    assert root.start_time is not None and root.end_time is not None
    stored_ns = exported.trace.root.duration_ms * 1e6  # stored to the microsecond
    assert abs(root.end_time - root.start_time - stored_ns) <= 1000
    assert created == _iso(root.start_time)
    for span in spans.values():
        assert span.start_time is not None and span.end_time is not None
        assert span.start_time <= span.end_time
        if span.parent is not None:
            parent = spans[span.parent.span_id]
            assert parent.start_time is not None and parent.end_time is not None
            assert parent.start_time <= span.start_time <= span.end_time <= parent.end_time
    for name in ("request", "generate"):
        kids = [s for s in spans.values() if s.parent and spans[s.parent.span_id].name == name]
        kids.sort(key=lambda s: s.start_time or 0)
        for earlier, later in itertools.pairwise(kids):
            assert (earlier.end_time or 0) <= (later.start_time or 0)


def _iso(unix_ns: int) -> str:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=unix_ns // 1000)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_the_request_span_carries_the_release_its_pins_and_the_outcome(
    exported: Exported,
) -> None:
    root = dict(exported.named("request").attributes or {})
    trace, spec_attributes = exported.trace, exported.trace.root.attributes
    assert {key: root[key] for key in root if key.startswith("steerwise.pin.")} == {
        "steerwise.pin.prompt": "support-answer@1",
        "steerwise.pin.snapshot": spec_attributes["snapshot"],
        "steerwise.pin.policy": "support@1",
    }
    assert (root["steerwise.trace_id"], root["steerwise.release"]) == (trace.id, "support-bot@1")
    assert root["steerwise.release_id"] == exported.answer.release_id == trace.release_id
    assert (root["steerwise.outcome"], root["steerwise.status"]) == (trace.outcome, "ok")
    assert json.loads(str(root["steerwise.params"])) == {"k": 3, "max_tokens": 40}


def test_retrieved_chunks_are_flat_lists(exported: Exported) -> None:
    retrieval = dict(exported.named("retrieval").attributes or {})
    hits = exported.answer.hits
    assert retrieval["gen_ai.operation.name"] == "retrieval"
    assert retrieval["steerwise.retrieval.chunk_ids"] == tuple(h.chunk_id for h in hits)
    assert retrieval["steerwise.retrieval.scores"] == tuple(round(h.fused_score, 6) for h in hits)
    assert retrieval["steerwise.retrieval.documents"] == tuple(h.document_ref for h in hits)
    assert retrieval["steerwise.retrieval.stale"] == tuple(h.freshness.stale for h in hits)
    assert retrieval["gen_ai.data_source.id"] == exported.trace.root.attributes["snapshot"]


def test_content_is_exported_only_when_asked_and_only_scrubbed(exported: Exported) -> None:
    root = dict(exported.named("request").attributes or {})
    (asked,) = json.loads(str(root["gen_ai.input.messages"]))
    assert asked["role"] == "user"
    assert asked["parts"][0]["content"].startswith("I am [EMAIL_1]. How long")
    (said,) = json.loads(str(root["gen_ai.output.messages"]))
    assert said["parts"][0]["content"] == exported.trace.output
    plain_root = next(span for span in exported.plain if span.parent is None)
    assert not any("messages" in key for key in plain_root.attributes or {})
    for span in (*exported.captured, *exported.plain):
        everything = json.dumps([dict(span.attributes or {}), span.name], default=str)
        assert EMAIL not in everything


def _scripted_workspace(root: Path, base_url: str, extra: str = "") -> Path:
    """A workspace whose `scripted` model is the fault server, with prompt `p` pushed."""
    Workspace.init(root).close()
    config = root / "steerwise.toml"
    model = '\n[models.scripted]\nprovider = "openai"\nmodel = "m"\nmax_retries = 0\n'
    config.write_text(config.read_text() + model + f'base_url = "{base_url}"\n' + extra)
    with Workspace.open(root) as ws:
        ws.prompts.push([write_prompt(root / "prompts", "p", simple_prompt("p"))])
        ws.releases.create("bot", PinRequest("p@1", model="scripted"))
    return root


def test_a_failed_request_exports_error_spans(tmp_path: Path) -> None:
    memory = InMemorySpanExporter()
    with FaultServer(default=status(500)) as server:
        root = _scripted_workspace(tmp_path / "ws", server.base_url)
        with Workspace.open(root) as ws:
            ws.traces.add_sink(OtelExporter(memory))
            with pytest.raises(ModelError):
                ws.run("bot@1", {"question": "Hello?"})
    spans = {span.name: span for span in memory.get_finished_spans()}
    assert set(spans) == {"request", "retrieval", "graph_facts", "generate"}
    for name in ("request", "generate"):
        assert spans[name].status.status_code is StatusCode.ERROR
        assert "500" in (spans[name].status.description or "")
        assert (spans[name].attributes or {})["error.type"] == "ModelError"
        assert [event.name for event in spans[name].events] == ["exception"]
    assert spans["retrieval"].status.status_code is StatusCode.UNSET
    assert (spans["request"].attributes or {})["steerwise.status"] == "error"


@pytest.mark.parametrize("sampled", [True, False])
def test_a_request_with_a_caller_is_exported_inside_the_callers_trace(
    tmp_path: Path, sampled: bool
) -> None:
    caller = TraceParent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", sampled)
    memory = InMemorySpanExporter()
    with FaultServer(default=ok("Fine.")) as server:
        root = _scripted_workspace(tmp_path / "ws", server.base_url)
        with Workspace.open(root) as ws:
            ws.traces.add_sink(OtelExporter(memory))
            answer = ws.run("bot@1", {"question": "Hello?"}, parent=caller)
            ws.run("bot@1", {"question": "Hello again?"})
    spans = memory.get_finished_spans()
    if not sampled:  # the caller's decision holds: only the request without a caller is kept
        assert all(f"{s.context.trace_id:032x}" != caller.trace_id for s in spans if s.context)
        assert [span.name for span in spans].count("request") == 1
        return
    inside = [s for s in spans if s.context and f"{s.context.trace_id:032x}" == caller.trace_id]
    (request,) = [span for span in inside if span.name == "request"]
    assert request.parent is not None and request.parent.is_remote
    assert f"{request.parent.span_id:016x}" == caller.span_id
    assert (request.attributes or {})["steerwise.trace_id"] == answer.trace_id
    assert {span.name for span in inside} >= {"request", "retrieval", "generate"}
    others = {f"{s.context.trace_id:032x}" for s in spans if s.context and s not in inside}
    assert len(others) == 1 and caller.trace_id not in others


class _BrokenSink:
    """A sink whose export and close always fail."""

    def export(self, traces: Sequence[Trace]) -> None:
        raise RuntimeError("collector on fire")

    def close(self) -> None:
        raise RuntimeError("still on fire")


def test_a_failing_sink_breaks_neither_the_request_nor_storage(tmp_path: Path) -> None:
    memory = InMemorySpanExporter()
    with FaultServer(default=ok("Fine.")) as server:
        root = _scripted_workspace(tmp_path / "ws", server.base_url)
        ws = Workspace.open(root)
        ws.traces.add_sink(_BrokenSink())
        ws.traces.add_sink(OtelExporter(memory))
        answer = ws.run("bot@1", {"question": "Hello?"})
        assert ws.traces.get(answer.trace_id).output == "Fine."
        assert ws.traces.export_failed == 1
        ws.close()
    (chat,) = [span for span in memory.get_finished_spans() if span.name.startswith("chat")]
    assert chat.name == "chat scripted"
    assert (chat.attributes or {})["gen_ai.provider.name"] == "steerwise"
    assert (chat.attributes or {})["gen_ai.usage.input_tokens"] == 7


class Collector:
    """An OTLP/HTTP collector on 127.0.0.1 that keeps each POST it receives."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], bytes]] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                collector.posts.append((self.path, dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Collector:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._http.shutdown()
        self._http.server_close()


def _trace_ids(bodies: Iterable[bytes]) -> set[str]:
    requests = [ExportTraceServiceRequest.FromString(body) for body in bodies]
    return {
        span.trace_id.hex()
        for request in requests
        for resource_spans in request.resource_spans
        for scope in resource_spans.scope_spans
        for span in scope.spans
    }


def _spans_of(body: bytes) -> Iterator[tuple[str, str]]:
    """(service name, span name) of each span in an OTLP export request."""
    request = ExportTraceServiceRequest.FromString(body)
    for resource_spans in request.resource_spans:
        service = next(
            a.value.string_value
            for a in resource_spans.resource.attributes
            if a.key == "service.name"
        )
        for scope in resource_spans.scope_spans:
            for span in scope.spans:
                yield service, span.name


def test_traces_reach_an_otlp_collector_named_in_the_settings(tmp_path: Path) -> None:
    with Collector() as collector, FaultServer(default=ok("Fine.")) as server:
        tracing = (
            f'\n[tracing]\notlp_endpoint = "{collector.url}"\nservice_name = "shop-bot"\n'
            'headers = { "x-team" = "support" }\ntimeout_s = 2\n'
        )
        root = _scripted_workspace(tmp_path / "ws", server.base_url, tracing)
        with Workspace.open(root) as ws:
            answer = ws.run("bot@1", {"question": "Hello?"})
    assert collector.posts, "nothing was exported"
    paths = {path for path, _, _ in collector.posts}
    assert paths == {"/v1/traces"}
    headers = {key.lower(): value for key, value in collector.posts[0][1].items()}
    assert headers["content-type"] == "application/x-protobuf"
    assert headers["x-team"] == "support"
    received = [each for _, _, body in collector.posts for each in _spans_of(body)]
    names = ["request", "retrieval", "graph_facts", "generate", "chat scripted", "citations"]
    assert sorted(received) == sorted(("shop-bot", name) for name in names)
    assert _trace_ids(body for _, _, body in collector.posts) == {answer.trace_id}


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ('otlp_endpont = "http://localhost:4318"', "tracing.otlp_endpont: unknown key"),
        ('otlp_endpoint = "localhost:4318"', "tracing.otlp_endpoint: Value error, must be"),
        ("capture_content = 3", "tracing.capture_content:"),
    ],
)
def test_a_malformed_tracing_section_names_the_key(
    tmp_path: Path, section: str, expected: str
) -> None:
    Workspace.init(tmp_path / "ws").close()
    config = tmp_path / "ws" / "steerwise.toml"
    config.write_text(config.read_text() + f"\n[tracing]\n{section}\n")
    with pytest.raises(BadInputError) as raised:
        Workspace.open(tmp_path / "ws")
    assert f"steerwise.toml: {expected}" in str(raised.value)


def test_without_the_otel_extra_the_error_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Workspace.init(tmp_path / "ws").close()
    config = tmp_path / "ws" / "steerwise.toml"
    config.write_text(config.read_text() + '\n[tracing]\notlp_endpoint = "http://127.0.0.1:9"\n')
    monkeypatch.setitem(sys.modules, "steerwise.traces.otel", None)  # as if not installed
    with pytest.raises(BadInputError) as raised:
        Workspace.open(tmp_path / "ws")
    assert raised.value.hint == "install the extra: pip install 'steerwise[otel]'"
    assert "otlp_endpoint" in raised.value.message
