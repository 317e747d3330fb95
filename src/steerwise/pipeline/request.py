"""The request path of a release: input rails, retrieval, graph facts, render, generate,
output rails, citations, confidence.

`RequestRunner.run(release, variables)` answers one request with everything the release pins:
the prompt version, the model, the snapshot and search settings, the graph version, the
policy version and the generation parameters. The pipeline fills the reserved variables a
prompt may use: `question` (the user's message; the prompt's own `question` variable),
`context` (the retrieved chunks, numbered for citation) and `facts` (graph facts about the
question's entities); a prompt that accepts none of them still works, and a prompt whose
schema forbids one does not get it.

Confidence is the mean of two figures in [0, 1]: retrieval (the best dense similarity of a
chunk the answer cites, or of the top chunk if it cites none) and grounding (the share of the
answer's sentences that word overlap finds in the retrieved chunks). Without retrieval there
is no confidence figure (None).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from steerwise.core.clock import utc_now
from steerwise.core.errors import mark_traced
from steerwise.core.guardrails import CheckContext, Decision, Outcome
from steerwise.core.knowledge import SearchHit
from steerwise.core.models import ChatParams, Message, StreamDelta
from steerwise.core.releases import RETRIEVAL_PARAMS, ReleaseSpec
from steerwise.core.traces import Span, Trace, TraceParent, new_trace_id
from steerwise.guardrails.context import context_from_hits
from steerwise.guardrails.detectors import DetectorServices
from steerwise.guardrails.detectors.grounding import GroundingDetector, GroundingSettings
from steerwise.guardrails.policy import Policy
from steerwise.guardrails.text import content_words, sentence_spans
from steerwise.pipeline.guarded import GuardedResult, GuardedRunner, settling_reason
from steerwise.pipeline.runner import PromptRunner, RunResult
from steerwise.retrieval.citations import blank_citations, find_citations, number_context
from steerwise.retrieval.search import SearchOptions
from steerwise.traces import Timeline
from steerwise.traces.timeline import in_turn

RESERVED = ("question", "context", "facts")
Search = Callable[[str, str, SearchOptions], list[SearchHit]]
"""(snapshot id, query, options) -> hits."""
Facts = Callable[[str, str], str]
"""(graph id, question) -> fact lines."""


@dataclass(frozen=True)
class CitedSource:
    """One valid `[n]` in an answer: the chunk, its document version and its freshness."""

    number: int
    chunk_id: str
    document: str
    title: str
    stale: bool
    stale_reasons: tuple[str, ...]


@dataclass(frozen=True)
class Answer:
    """What a request to a release returns, with everything that explains it."""

    text: str
    outcome: Outcome
    release: str
    release_id: str
    citations: list[CitedSource]
    confidence: float | None
    hits: list[SearchHit]
    facts: str
    runs: list[RunResult]
    input_decisions: list[Decision] = field(default_factory=list)
    output_decisions: list[Decision] = field(default_factory=list)
    trace_id: str = ""
    steps: dict[str, float] = field(default_factory=dict)
    """Milliseconds of each step of the request path (retrieval, graph_facts, ...)."""

    @property
    def cost_usd(self) -> float:
        """What the request's model calls cost, re-asks included."""
        return sum(run.answer.cost_usd for run in self.runs)

    @property
    def reason_code(self) -> str:
        """The reason code of the decision that settled the outcome ('' when allowed)."""
        return settling_reason([*self.input_decisions, *self.output_decisions])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no placeholder values, no raw hits)."""
        last = self.runs[-1].answer if self.runs else None
        return {
            "text": self.text,
            "outcome": self.outcome,
            "reason_code": self.reason_code,
            "release": self.release,
            "release_id": self.release_id,
            "trace_id": self.trace_id,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "citations": [
                vars(c) | {"stale_reasons": list(c.stale_reasons)} for c in self.citations
            ],
            "retrieved": [hit.chunk_id for hit in self.hits],
            "model": last.model if last else None,
            "decisions": [d.to_dict() for d in (*self.input_decisions, *self.output_decisions)],
        }


@dataclass(frozen=True)
class Streamed:
    """A request being answered as a stream: its trace id, release, and events (text
    deltas, then the Answer)."""

    trace_id: str
    release: str
    events: Iterator[StreamDelta | Answer]


@dataclass(frozen=True)
class _Prepared:
    """What the request path found before generation."""

    hits: list[SearchHit]
    facts: str
    extra: dict[str, Any]
    context: CheckContext


@dataclass(frozen=True)
class _Generated:
    """What generation gave: the text shown, its outcome, the model runs and decisions."""

    text: str
    outcome: Outcome
    runs: list[RunResult]
    input_decisions: list[Decision] = field(default_factory=list)
    output_decisions: list[Decision] = field(default_factory=list)

    @classmethod
    def of(cls, guarded: GuardedResult) -> _Generated:
        """From a run behind a policy."""
        return cls(
            guarded.text,
            guarded.outcome,
            guarded.runs,
            guarded.input_decisions,
            guarded.output_decisions,
        )

    def span_attributes(self) -> dict[str, Any]:
        """The generate step's children and outcome, for its span."""
        decisions = (self.input_decisions, self.output_decisions)
        return {"_children": _generation_spans(self.runs, decisions), "outcome": self.outcome}


class StreamAbandoned(Exception):
    """The consumer of a stream stopped reading before the end."""


@dataclass(frozen=True)
class Target:
    """A release to serve: what was asked for, its reference (`name@version`), id and pins."""

    asked: str
    ref: str
    id: str
    spec: ReleaseSpec


class RequestRunner:
    """Runs requests through a release's whole path (module docstring)."""

    def __init__(
        self,
        *,
        runner: PromptRunner,
        guarded: GuardedRunner,
        search: Search,
        facts: Facts,
        policy: Callable[[str], Policy],
        search_defaults: Callable[..., SearchOptions],
        accepts: Callable[[str, str], bool],
        check_variables: Callable[[str, Mapping[str, Any]], None],
        record: Callable[[Trace], None],
    ) -> None:
        self._runner = runner
        self._guarded = guarded
        self._search = search
        self._facts = facts
        self._policy = policy
        self._search_defaults = search_defaults
        self._accepts = accepts
        self._check_variables = check_variables
        self._record = record
        self._grounding = GroundingDetector(
            GroundingSettings(use_embeddings=False), DetectorServices()
        )

    def run(
        self, target: Target, variables: Mapping[str, Any], *, parent: TraceParent | None = None
    ) -> Answer:
        """Answer one request with the release's pinned parts, and record its trace (a child
        of `parent`, the caller's distributed trace, where there is one). A failure carries
        the id of the trace that recorded it (`trace_id_of`)."""
        request = _Request(new_trace_id(), utc_now(), Timeline(), target, variables, parent)
        try:
            prepared = self._prepare(request)
            with request.timeline.step(
                "generate", prompt=target.spec.prompt, policy=target.spec.policy
            ) as span:
                generated = self._generate(target.spec, variables, prepared)
                span.update(generated.span_attributes())
            answer = self._finish(request, prepared, generated)
        except Exception as failure:
            self._record_failure(request, failure)
            raise
        self._record(request.trace(answer, None))
        return answer

    def messages(
        self, target: Target, variables: Mapping[str, Any]
    ) -> tuple[list[Message], list[SearchHit]]:
        """The messages the release would send its model for `variables` (retrieved
        context and facts filled in) and the chunks retrieved; nothing is generated, checked
        by rails or traced. Fine-tuning builds retrieval-augmented training rows with it."""
        request = _Request(new_trace_id(), utc_now(), Timeline(), target, variables)
        prepared = self._prepare(request)
        rendered = self._runner.render(target.spec.prompt, {**variables, **prepared.extra})
        return rendered.messages, prepared.hits

    def stream(
        self, target: Target, variables: Mapping[str, Any], *, parent: TraceParent | None = None
    ) -> Streamed:
        """Like `run`, with the answer's checked text released as it is generated: the
        variables are checked now (a bad request fails before anything streams), the events
        are deltas and then the Answer. The trace is recorded when the stream ends, and
        when the consumer abandons it."""
        self._check_early(target.spec.prompt, variables)
        request = _Request(new_trace_id(), utc_now(), Timeline(), target, variables, parent)
        return Streamed(request.id, target.ref, self._stream_events(request))

    def _stream_events(self, request: _Request) -> Iterator[StreamDelta | Answer]:
        spec, variables = request.target.spec, request.variables
        try:
            prepared = self._prepare(request)
            with request.timeline.step("generate", prompt=spec.prompt, policy=spec.policy) as span:
                for event in self._generate_stream(spec, variables, prepared):
                    if isinstance(event, StreamDelta):
                        yield event
                    else:
                        generated = event
                span.update(generated.span_attributes())
            answer = self._finish(request, prepared, generated)
        except GeneratorExit:
            self._record(request.trace(None, StreamAbandoned("the client closed the stream")))
            raise
        except Exception as failure:
            self._record_failure(request, failure)
            raise
        self._record(request.trace(answer, None))
        yield answer

    def _record_failure(self, request: _Request, failure: Exception) -> None:
        self._record(request.trace(None, failure))
        mark_traced(failure, request.id)

    def _prepare(self, request: _Request) -> _Prepared:
        """Variables checked, chunks retrieved, facts found, reserved variables filled."""
        spec, variables, timeline = request.target.spec, request.variables, request.timeline
        self._check_early(spec.prompt, variables)
        question = str(variables.get("question", ""))
        with timeline.step("retrieval", snapshot=spec.snapshot) as span:
            hits = self._retrieve(spec, question)
            span["chunks"] = [_hit_attributes(hit) for hit in hits]
        with timeline.step("graph_facts", graph=spec.graph) as span:
            facts = self._facts(spec.graph, question) if spec.graph and question else ""
            span["facts"] = len(facts.splitlines())
        extra = {
            name: value
            for name, value in (("context", number_context(hits) if hits else ""), ("facts", facts))
            if value and name not in variables and self._accepts(spec.prompt, name)
        }
        return _Prepared(hits, facts, extra, context_from_hits(hits))

    def _finish(self, request: _Request, prepared: _Prepared, generated: _Generated) -> Answer:
        """Citations and confidence, and the Answer."""
        text, hits = generated.text, prepared.hits
        with request.timeline.step("citations") as span:
            cited = _cited(text, hits)
            scores = self._confidence(text, hits, cited, prepared.context) if hits else None
            confidence = None if scores is None else (scores[0] + scores[1]) / 2.0
            grounding = None if scores is None else scores[1]
            span |= {"cited": [c.number for c in cited], "confidence": confidence}
            span["grounding"] = grounding
        return Answer(
            text=text,
            outcome=generated.outcome,
            release=request.target.ref,
            release_id=request.target.id,
            citations=cited,
            confidence=confidence,
            hits=hits,
            facts=prepared.facts,
            runs=generated.runs,
            input_decisions=generated.input_decisions,
            output_decisions=generated.output_decisions,
            trace_id=request.id,
            steps={span.name: span.duration_ms for span in request.timeline.spans},
        )

    def _check_early(self, prompt: str, variables: Mapping[str, Any]) -> None:
        """The caller's variables against the prompt's schema, before retrieval, rails or the
        model; the reserved ones the pipeline fills later stand in as empty text."""
        later = {
            name: ""
            for name in RESERVED
            if name not in variables and self._accepts(prompt, name) and name != "question"
        }
        self._check_variables(prompt, {**later, **variables})

    def _generate(
        self, spec: ReleaseSpec, variables: Mapping[str, Any], prepared: _Prepared
    ) -> _Generated:
        """Render and call the model, behind the policy's rails when the release pins one."""
        if not spec.policy:
            run = self._runner.run(
                spec.prompt,
                {**variables, **prepared.extra},
                model=spec.model,
                params=_generation_params(spec),
            )
            return _Generated(run.answer.text, "allow", [run])
        guarded = self._guarded.run(spec.prompt, variables, **self._behind(spec, prepared))
        return _Generated.of(guarded)

    def _generate_stream(
        self, spec: ReleaseSpec, variables: Mapping[str, Any], prepared: _Prepared
    ) -> Iterator[StreamDelta | _Generated]:
        """`_generate`, streamed: released text, then what was generated."""
        if not spec.policy:
            with_extra = {**variables, **prepared.extra}
            params = _generation_params(spec)
            for event in self._runner.stream(
                spec.prompt, with_extra, model=spec.model, params=params
            ):
                if isinstance(event, RunResult):
                    yield _Generated(event.answer.text, "allow", [event])
                else:
                    yield event
            return
        behind = self._behind(spec, prepared)
        for guarded in self._guarded.stream(spec.prompt, variables, **behind):
            yield guarded if isinstance(guarded, StreamDelta) else _Generated.of(guarded)

    def _behind(self, spec: ReleaseSpec, prepared: _Prepared) -> dict[str, Any]:
        """What a guarded run of `spec` takes besides the prompt and the caller's variables:
        the policy, the passages for its rails, the model, parameters, filled variables."""
        return {
            "policy": self._policy(str(spec.policy)),
            "context": prepared.context,
            "model": spec.model,
            "params": _generation_params(spec),
            "extra": prepared.extra,
        }

    def _retrieve(self, spec: ReleaseSpec, question: str) -> list[SearchHit]:
        if not spec.snapshot or not question.strip():
            return []
        pinned = {k: v for k, v in spec.params.items() if k in RETRIEVAL_PARAMS}
        return self._search(spec.snapshot, question, self._search_defaults(**pinned))

    def _confidence(
        self,
        text: str,
        hits: Sequence[SearchHit],
        cited: Sequence[CitedSource],
        context: CheckContext,
    ) -> tuple[float, float]:
        """Retrieval (the dense score of the cited chunks, else the top one) and grounding
        (the share of the answer's sentences the context supports); confidence is their
        mean."""
        chosen = {c.chunk_id for c in cited}
        dense = [h.scores.get("dense", 0.0) for h in hits if h.chunk_id in chosen] or [
            hits[0].scores.get("dense", 0.0)
        ]
        retrieval = min(max(*dense, 0.0), 1.0)
        plain = blank_citations(text)
        sentences = [
            s for s in sentence_spans(plain) if len(content_words(plain[s[0] : s[1]])) >= 3
        ]
        unsupported = self._grounding.detect(text, context) if sentences else []
        grounding = 1.0 - len(unsupported) / len(sentences) if sentences else 0.0
        return retrieval, grounding


def _generation_params(spec: ReleaseSpec) -> ChatParams | None:
    pinned = {k: v for k, v in spec.params.items() if k not in RETRIEVAL_PARAMS}
    return ChatParams.from_mapping(pinned) if pinned else None


def _cited(text: str, hits: Sequence[SearchHit]) -> list[CitedSource]:
    found: dict[int, CitedSource] = {}
    for citation in find_citations(text, hits):
        hit = citation.hit
        if hit is not None and citation.number not in found:
            found[citation.number] = CitedSource(
                citation.number,
                hit.chunk_id,
                hit.document_ref,
                hit.title,
                hit.freshness.stale,
                tuple(hit.freshness.reasons),
            )
    return list(found.values())


def _hit_attributes(hit: SearchHit) -> dict[str, Any]:
    return {
        "chunk_id": hit.chunk_id,
        "document": hit.document_ref,
        "score": round(hit.fused_score, 6),
        "scores": {name: round(value, 6) for name, value in hit.scores.items()},
        "stale": hit.freshness.stale,
    }


def _generation_spans(
    runs: Sequence[RunResult], decisions: tuple[list[Decision], list[Decision]]
) -> list[Span]:
    """Input rails, then each model call followed by the output rails that judged it, laid
    out in turn from the generate step's start (`in_turn`: their own starts are not taken)."""
    inputs, outputs = decisions
    spans = [_rails_span("input_rails", d) for d in inputs]
    refused = any(not decision.allowed for decision in inputs)
    for index, run in enumerate(runs):
        spans.append(_model_span(run, discarded=refused))
        if index < len(outputs):
            spans.append(_rails_span("output_rails", outputs[index]))
    return in_turn(spans)


def _rails_span(name: str, decision: Decision) -> Span:
    rails = [
        {"rail": r.rail, "triggered": r.triggered, "error": r.error, "elapsed_us": r.elapsed_us}
        for r in decision.rails
    ]
    attributes = {
        "policy": decision.policy,
        "outcome": decision.outcome,
        "reason_code": decision.reason_code,
        "rails": rails,
        "findings": [f.type for f in decision.findings],
    }
    return Span(name, sum(r.elapsed_us for r in decision.rails) / 1000, attributes)


def _model_span(run: RunResult, *, discarded: bool = False) -> Span:
    """A model call; `discarded`: made while input rails judged, which then refused the
    input (its answer was never shown)."""
    answer = run.answer
    attempts = [
        {"model": a.model, "number": a.number, "outcome": a.outcome, "error": a.error}
        for a in answer.attempts
    ]
    attributes = {
        "prompt": f"{run.prompt.name}@{run.prompt.version}",
        "model": answer.model,
        "input_tokens": answer.usage.input_tokens,
        "output_tokens": answer.usage.output_tokens,
        "cost_usd": answer.cost_usd,
        "finish_reason": answer.finish_reason,
        "attempts": attempts,
    }
    if discarded:
        attributes["discarded"] = True
    return Span("model_call", answer.latency_s * 1000, attributes)


@dataclass(frozen=True)
class _Request:
    """One request in flight: its trace id, start time, timeline, target and variables."""

    id: str
    created: str
    timeline: Timeline
    target: Target
    variables: Mapping[str, Any]
    parent: TraceParent | None = None

    def trace(self, answer: Answer | None, failure: Exception | None) -> Trace:
        """The record of the request (the trace log scrubs personal data before storing it)."""
        target, spec = self.target, self.target.spec
        pins = {k: v for k, v in spec.pins().items() if k != "params"} | {"params": spec.params}
        caller = {"traceparent": self.parent.header()} if self.parent else {}
        root = self.timeline.root(
            "request", release=target.ref, release_id=target.id, **pins, **caller
        )
        if failure is not None and root.error is None:  # failed between steps, or abandoned
            root = replace(root, error=f"{type(failure).__name__}: {failure}")
        return Trace(
            id=self.id,
            created_at=self.created,
            target=target.asked,
            release=target.ref,
            release_id=target.id,
            outcome=answer.outcome if answer else "error",
            status="ok" if failure is None else "error",
            latency_ms=self.timeline.elapsed_ms(),
            input=dict(self.variables),  # scrubbed by the trace log before storage
            output=answer.text if answer else "",
            root=root,
        )
