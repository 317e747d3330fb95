"""Traces shaped like the request path's, for monitoring and drift tests."""

from __future__ import annotations

from datetime import UTC, datetime

from steerwise.core.traces import Span, Trace
from steerwise.monitor.metrics import iso

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def rails_span(stage: str, outcome: str, fired: dict[str, str]) -> Span:
    """An `input_rails` or `output_rails` span; `fired` maps rail name to triggered|error."""
    names = ["pii", "prompt_injection"] if stage == "input" else ["pii", "grounding", "freshness"]
    rails = [
        {
            "rail": name,
            "triggered": fired.get(name) == "triggered",
            "error": "ValueError: boom" if fired.get(name) == "error" else None,
            "elapsed_us": 100.0,
        }
        for name in names
    ]
    return Span(f"{stage}_rails", 2.0, {"outcome": outcome, "rails": rails})


def make_trace(
    number: int,
    *,
    at: datetime,
    latency_ms: float,
    model_ms: float,
    target: str = "bot@production",
    release: str = "bot@1",
    outcome: str = "allow",
    status: str = "ok",
    fired_in: dict[str, str] | None = None,
    fired_out: dict[str, str] | None = None,
    cites_stale: bool = False,
    confidence: float = 0.8,
    grounding: float = 0.9,
    question: str = "Where is my parcel?",
) -> Trace:
    """A trace shaped like the request path's: retrieval, generate (rails and model), citations."""
    chunks = [{"chunk_id": "c1", "stale": cites_stale}, {"chunk_id": "c2", "stale": False}]
    model = Span(
        "model_call",
        model_ms,
        {"input_tokens": 400, "output_tokens": 50, "cost_usd": 0.002, "attempts": [{}, {}]},
    )
    generate = Span(
        "generate",
        model_ms + 4,
        {},
        (
            rails_span("input", "allow", fired_in or {}),
            model,
            rails_span("output", outcome, fired_out or {}),
        ),
    )
    children = (
        Span("retrieval", 5.0, {"chunks": chunks}),
        generate,
        Span("citations", 1.0, {"cited": [1], "confidence": confidence, "grounding": grounding}),
    )
    return Trace(
        id=f"trace-{number:05d}",
        created_at=iso(at),
        target=target,
        release=release,
        release_id="abc123",
        outcome=outcome,
        status=status,
        latency_ms=latency_ms,
        input={"question": question},
        output="It ships in 3 days [1].",
        root=Span("request", latency_ms, {}, children),
    )
