"""The numbers a dashboard needs from one trace, taken out once when the trace is stored.

A trace is a tree of spans in JSON; aggregating over a million of them must not parse JSON.
`facts_of` reads a trace once (on the trace writer's thread, off the request path) and
returns flat values: latency and per-step durations with their histogram buckets, tokens,
cost, confidence and grounding, stale citations, sizes, and the rails that fired. They are
stored beside the trace (`trace_facts`, `trace_rail_facts`) and summed by SQL that works on
SQLite and PostgreSQL (`steerwise.monitor.metrics`).

Latencies are kept as log-scale buckets (each 5% wider than the one below, from 0.01 ms), so
percentiles over any window come from `GROUP BY bucket` and are within 2.5% of the exact
value; confidence and grounding as tenths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from steerwise.core.traces import TRACE_STEPS, Span, Trace

BUCKET_FLOOR_MS = 0.01
BUCKET_GROWTH = 1.05
REFUSALS = frozenset({"block", "fallback"})


def latency_bucket(ms: float) -> int:
    """The histogram bucket of a duration in milliseconds (0 below 0.01 ms)."""
    if ms <= BUCKET_FLOOR_MS:
        return 0
    return int(math.log(ms / BUCKET_FLOOR_MS) / math.log(BUCKET_GROWTH))


def bucket_value(bucket: int) -> float:
    """The representative duration of a bucket: its geometric middle."""
    return float(BUCKET_FLOOR_MS * BUCKET_GROWTH ** (bucket + 0.5))


def tenth(score: float | None) -> int | None:
    """A score in [0, 1] as its tenth (0 to 9; 1.0 falls in 9)."""
    return None if score is None else min(9, max(0, int(score * 10)))


@dataclass(frozen=True)
class RailFact:
    """A rail that fired (`triggered`) or failed (`error`) on one request."""

    stage: str
    rail: str
    result: str
    decision: str


@dataclass(frozen=True)
class TraceFacts:
    """One trace's numbers (module docstring)."""

    trace_id: str
    created_at: str
    target: str
    release: str
    release_id: str
    outcome: str
    error: bool
    latency_ms: float
    steps: dict[str, float]
    input_tokens: int
    output_tokens: int
    cost_usd: float
    attempts: int
    confidence: float | None
    grounding: float | None
    stale: bool
    input_chars: int
    output_chars: int
    rails: tuple[RailFact, ...]

    @property
    def release_name(self) -> str:
        return self.release.rpartition("@")[0] or self.release

    @property
    def refused(self) -> bool:
        return self.outcome in REFUSALS

    def row(self) -> dict[str, Any]:
        """The `trace_facts` row."""
        row: dict[str, Any] = {
            "trace_id": self.trace_id,
            "created_at": self.created_at,
            "target": self.target,
            "release_name": self.release_name,
            "release": self.release,
            "release_id": self.release_id,
            "outcome": self.outcome,
            "error": int(self.error),
            "latency_ms": self.latency_ms,
            "latency_bucket": latency_bucket(self.latency_ms),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            "attempts": self.attempts,
            "confidence": self.confidence,
            "confidence_bin": tenth(self.confidence),
            "grounding": self.grounding,
            "grounding_bin": tenth(self.grounding),
            "stale": int(self.stale),
            "input_chars": self.input_chars,
            "output_chars": self.output_chars,
        }
        for step in TRACE_STEPS:
            duration = self.steps.get(step)
            row[f"{step}_bucket"] = None if duration is None else latency_bucket(duration)
        return row

    def rail_rows(self) -> list[dict[str, Any]]:
        """The `trace_rail_facts` rows: one per rail that fired or failed."""
        return [
            {
                "trace_id": self.trace_id,
                "created_at": self.created_at,
                "target": self.target,
                "release_name": self.release_name,
                "stage": rail.stage,
                "rail": rail.rail,
                "result": rail.result,
                "decision": rail.decision,
            }
            for rail in self.rails
        ]


def facts_of(trace: Trace) -> TraceFacts:
    """The facts of a stored (scrubbed) trace."""
    spans = list(trace.root.walk())[1:]
    models = [span for span in spans if span.name == "model_call"]
    citations = next((span for span in spans if span.name == "citations"), None)
    cited = citations.attributes if citations is not None else {}
    return TraceFacts(
        trace_id=trace.id,
        created_at=trace.created_at,
        target=trace.target,
        release=trace.release,
        release_id=trace.release_id,
        outcome=trace.outcome,
        error=trace.status != "ok",
        latency_ms=trace.latency_ms,
        steps=_step_durations(spans),
        input_tokens=sum(_int(span, "input_tokens") for span in models),
        output_tokens=sum(_int(span, "output_tokens") for span in models),
        cost_usd=sum(float(span.attributes.get("cost_usd") or 0.0) for span in models),
        attempts=sum(len(span.attributes.get("attempts") or ()) for span in models),
        confidence=_score(cited.get("confidence")),
        grounding=_score(cited.get("grounding")),
        stale=_cites_stale(spans),
        input_chars=sum(len(str(value)) for value in trace.input.values()),
        output_chars=len(trace.output),
        rails=tuple(_rail_facts(spans)),
    )


def _step_durations(spans: list[Span]) -> dict[str, float]:
    """Milliseconds per kept step (summed where a step ran more than once, as on a re-ask)."""
    found: dict[str, float] = {}
    for span in spans:
        if span.name in TRACE_STEPS:
            found[span.name] = found.get(span.name, 0.0) + span.duration_ms
    return found


def _int(span: Span, key: str) -> int:
    return int(span.attributes.get(key) or 0)


def _score(value: Any) -> float | None:
    return None if value is None else float(value)


def _cites_stale(spans: list[Span]) -> bool:
    """Whether the answer cited a chunk past its `valid_until`, or the freshness rail fired."""
    by_name = {span.name: span.attributes for span in spans}
    chunks = list(by_name.get("retrieval", {}).get("chunks") or ())
    for number in by_name.get("citations", {}).get("cited") or ():
        if 0 < int(number) <= len(chunks) and chunks[int(number) - 1].get("stale"):
            return True
    return any(
        rail.get("rail") == "freshness" and rail.get("triggered")
        for rail in by_name.get("output_rails", {}).get("rails") or ()
    )


def _rail_facts(spans: list[Span]) -> list[RailFact]:
    found = []
    for span in spans:
        if span.name not in ("input_rails", "output_rails"):
            continue
        stage = span.name.removesuffix("_rails")
        decision = str(span.attributes.get("outcome") or "allow")
        for rail in span.attributes.get("rails") or ():
            result = "error" if rail.get("error") else "triggered" if rail.get("triggered") else ""
            if result:
                found.append(RailFact(stage, str(rail.get("rail")), result, decision))
    return found
