"""Rules that fill review queues: low-confidence answers, a random share of traffic, and
eval items that regressed. Each gives `ReviewRow`s with what a reviewer needs (the question,
the answer, where it came from); the caller queues them.

A share is drawn by hashing each trace id with a seed, so the same traces are drawn again
for the same seed and share (and a trace already in the queue is not queued twice).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from steerwise.core.clock import utc_now
from steerwise.core.errors import BadInputError
from steerwise.core.evals import DatasetItem, EvalReport
from steerwise.core.traces import Span, Trace
from steerwise.evals.compare import Comparison
from steerwise.store.records import ReviewRow


@dataclass(frozen=True)
class TraceRule:
    """Which requests to queue: confidence below a limit, a seeded share, or both; and how
    many verdicts each wants."""

    confidence_below: float | None = None
    share: float | None = None
    seed: int = 0
    required_reviews: int = 1

    def check(self) -> None:
        """BadInputError unless the rule can select something."""
        if self.confidence_below is None and self.share is None:
            raise BadInputError("give a rule: a confidence limit, a share to draw, or both")
        if self.share is not None and not 0 < self.share <= 1:
            raise BadInputError(f"the share to draw must be in (0, 1], not {self.share}")
        if self.required_reviews < 1:
            raise BadInputError("an item needs at least one review")


def from_traces(
    traces: Iterable[Trace],
    *,
    queue: str,
    rule: TraceRule,
    already: set[str] | None = None,
) -> list[ReviewRow]:
    """Rows for the answered requests whose confidence is below the rule's limit, or that its
    draw picks (either queues a trace), oldest first, skipping trace ids in `already`."""
    rows = []
    for trace in sorted(traces, key=lambda t: (t.created_at, t.id)):  # oldest first
        if trace.id in (already or set()) or trace.status != "ok":
            continue
        confidence = confidence_of(trace.root)
        low = _below(confidence, rule.confidence_below)
        drawn = rule.share is not None and _draw(trace.id, rule.seed) < rule.share
        if not (low or drawn):
            continue
        reason = f"confidence {confidence:.2f}" if low else f"sampled {rule.share:g}"
        payload = {
            "trace_id": trace.id,
            "target": trace.target,
            "release": trace.release,
            "variables": dict(trace.input),
            "output": trace.output,
            "confidence": confidence,
        }
        origin, subject, wanted = "review.trace", trace.target, rule.required_reviews
        rows.append(ReviewRow(utc_now(), origin, subject, reason, payload, queue, wanted))
    return rows


def from_regressions(
    comparison: Comparison,
    candidate: EvalReport,
    items: Sequence[DatasetItem],
    *,
    queue: str,
    required_reviews: int = 1,
) -> list[ReviewRow]:
    """One row per item that regressed on any scorer (once, naming every scorer)."""
    by_id = {item.id: item for item in items}
    outputs = {result.item_id: result for result in candidate.results}
    grouped: dict[str, list[str]] = {}
    for regression in comparison.regressions:
        grouped.setdefault(regression.item_id, []).append(
            f"{regression.scorer} {regression.baseline:.2f} -> {regression.candidate:.2f}"
        )
    baseline_outputs = {r.item_id: r.baseline_output for r in comparison.regressions}
    rows = []
    for item_id, changes in grouped.items():
        item = by_id.get(item_id)
        payload = {
            "run": comparison.candidate,
            "baseline_run": comparison.baseline,
            "dataset": candidate.run.dataset,
            "item_id": item_id,
            "variables": dict(item.variables) if item else {},
            "reference": list(item.references) if item else [],
            "output": outputs[item_id].output if item_id in outputs else "",
            "baseline_output": baseline_outputs[item_id],
            "trace_id": outputs[item_id].trace_id if item_id in outputs else "",
        }
        reason = "regressed: " + "; ".join(changes)
        origin, subject = "review.eval", candidate.run.target
        rows.append(ReviewRow(utc_now(), origin, subject, reason, payload, queue, required_reviews))
    return rows


def confidence_of(span: Span) -> float | None:
    """The confidence figure a request's citations step recorded (None without retrieval)."""
    found = span.attributes.get("confidence") if span.name == "citations" else None
    if isinstance(found, int | float):
        return float(found)
    for child in span.children:
        inner = confidence_of(child)
        if inner is not None:
            return inner
    return None


def _draw(trace_id: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:{trace_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _below(value: float | None, limit: float | None) -> bool:
    return value is not None and limit is not None and value < limit
