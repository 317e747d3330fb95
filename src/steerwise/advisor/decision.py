"""The advisor's decision from measurements: the same held-out dataset through each
candidate release (prompt only, retrieval, fine-tuned, fine-tuned with retrieval), and a
report that says which is better on quality (with intervals), latency, cost and freshness,
which differences are real, and what to ship.

Quality is the primary scorer's pass rate (answer accuracy) with a bootstrap interval,
and every scorer's mean. Each candidate is compared with the most accurate one item by item
on accuracy: a seeded paired bootstrap of the difference and McNemar's exact test. The
recommendation is the cheapest candidate to change (prompt, then retrieval, then fine-tune,
then both) among those the best one does not beat significantly: a difference that is not
real is not worth its cost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from steerwise.core.errors import BadInputError
from steerwise.core.evals import EvalReport, ItemResult, Score
from steerwise.evals.stats import mcnemar_exact, paired_bootstrap

CHANGE_ORDER = ("prompt", "rag", "retrieval", "finetune", "fine-tune", "finetune+rag")
"""Cheapest to change first: a prompt edit, a re-index, a retrain, both."""


@dataclass(frozen=True)
class Estimate:
    """A share or mean with its 95% bootstrap interval."""

    value: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        """JSON-ready form."""
        return {name: round(getattr(self, name), 6) for name in ("value", "low", "high")}


@dataclass(frozen=True)
class CandidateFigures:
    """One candidate's measurements over the dataset."""

    name: str
    target: str
    run_id: str
    release: str
    dataset: str
    model: str
    accuracy: Estimate
    means: dict[str, Estimate]
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    input_tokens: float
    output_tokens: float
    cost_per_1000_usd: float
    changed_sources: Estimate | None
    """Accuracy on items whose source documents changed (None: no such item)."""
    change: str
    """What it takes to change this candidate's knowledge, with the measured time."""
    errors: int
    passed: dict[str, float] = field(default_factory=dict, repr=False)
    """Item id -> 1.0 when the answer passed the accuracy scorer, else 0.0."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        found = {k: v for k, v in vars(self).items() if k != "passed"}
        found["accuracy"] = self.accuracy.to_dict()
        found["means"] = {name: value.to_dict() for name, value in self.means.items()}
        found["changed_sources"] = (
            None if self.changed_sources is None else self.changed_sources.to_dict()
        )
        return found


@dataclass(frozen=True)
class Pairing:
    """A candidate against the most accurate one, item by item on answer accuracy: the
    difference of pass rates (best minus other) with its paired bootstrap interval, the
    items only one of them got right, and McNemar's exact p."""

    best: str
    other: str
    delta: float
    low: float
    high: float
    best_only: int
    other_only: int
    mcnemar_p: float

    @property
    def real(self) -> bool:
        """The interval excludes 0: the best one's lead is real at 95%."""
        return self.low > 0 or self.high < 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        rounded = {k: round(getattr(self, k), 6) for k in ("delta", "low", "high", "mcnemar_p")}
        return {
            "best": self.best,
            "other": self.other,
            **rounded,
            "best_only": self.best_only,
            "other_only": self.other_only,
            "real": self.real,
        }


def pair(best: CandidateFigures, other: CandidateFigures, *, seed: int = 0) -> Pairing:
    """Compare two candidates' per-item accuracy over the items both answered."""
    shared = [item for item in best.passed if item in other.passed]
    if not shared:
        raise BadInputError(f"{best.name} and {other.name} share no answered item")
    mine = [best.passed[item] for item in shared]
    theirs = [other.passed[item] for item in shared]
    interval = paired_bootstrap(theirs, mine, seed=seed)
    best_only = sum(1 for a, b in zip(mine, theirs, strict=True) if a > b)
    other_only = sum(1 for a, b in zip(mine, theirs, strict=True) if b > a)
    return Pairing(
        best.name,
        other.name,
        interval.delta,
        interval.low,
        interval.high,
        best_only,
        other_only,
        mcnemar_exact(other_only, best_only),
    )


@dataclass
class Decision:
    """The figures of every candidate, the pairings, and the recommendation with reasons."""

    dataset: str
    scorer: str
    candidates: list[CandidateFigures]
    pairings: list[Pairing]
    recommendation: str
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "dataset": self.dataset,
            "scorer": self.scorer,
            "candidates": [c.to_dict() for c in self.candidates],
            "pairings": [p.to_dict() for p in self.pairings],
            "recommendation": self.recommendation,
            "reasons": self.reasons,
        }


@dataclass(frozen=True)
class RunFacts:
    """What the decision needs beyond the eval report, looked up by the workspace."""

    model: str
    tokens: Callable[[str], tuple[int, int]]
    """A trace id's (input, output) tokens."""
    change: str


def figures(
    name: str,
    report: EvalReport,
    scorer: str,
    facts: RunFacts,
    *,
    changed_items: set[str],
    seed: int = 0,
) -> CandidateFigures:
    """One candidate's figures from its eval run."""
    results = report.results
    passed = [_passed(result, scorer) for result in results]
    latencies = [r.latency_ms for r in results if r.latency_ms is not None]
    usage = [facts.tokens(r.trace_id) for r in results if r.trace_id]
    costs = [r.cost_usd or 0.0 for r in results]
    changed = [p for r, p in zip(results, passed, strict=True) if r.item_id in changed_items]
    return CandidateFigures(
        name=name,
        target=report.run.target,
        run_id=report.run.id,
        release=report.run.release,
        dataset=report.run.dataset,
        model=facts.model,
        accuracy=estimate(passed, seed=seed),
        means={s: estimate(_values(results, s), seed=seed) for s in report.run.scorers},
        latency_p50_ms=_percentile(latencies, 50),
        latency_p95_ms=_percentile(latencies, 95),
        input_tokens=float(np.mean([u[0] for u in usage])) if usage else 0.0,
        output_tokens=float(np.mean([u[1] for u in usage])) if usage else 0.0,
        cost_per_1000_usd=1000 * float(np.mean(costs)) if costs else 0.0,
        changed_sources=estimate(changed, seed=seed) if changed else None,
        change=facts.change,
        errors=report.failed_items,
        passed={r.item_id: p for r, p in zip(results, passed, strict=True) if r.error is None},
    )


def estimate(values: Sequence[float], *, seed: int = 0) -> Estimate:
    """The mean of `values` with its 95% bootstrap interval (0 for an empty list)."""
    if not values:
        return Estimate(0.0, 0.0, 0.0)
    interval = paired_bootstrap([0.0] * len(values), list(values), seed=seed)
    return Estimate(interval.delta, interval.low, interval.high)


def _passed(result: ItemResult, scorer: str) -> float:
    score = result.scores.get(scorer)
    return 1.0 if isinstance(score, Score) and score.passed else 0.0


def _values(results: Sequence[ItemResult], scorer: str) -> list[float]:
    scores = (result.scores.get(scorer) for result in results)
    return [score.value for score in scores if isinstance(score, Score)]


def _percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def decide(candidates: Sequence[CandidateFigures], *, scorer: str, seed: int = 0) -> Decision:
    """Pair every candidate with the most accurate and recommend (module docstring)."""
    best = max(candidates, key=lambda c: (c.accuracy.value, -_change_rank(c.name)))
    pairings = [pair(best, other, seed=seed) for other in candidates if other.name != best.name]
    tied = [best] + [
        c for c in candidates if any(p.other == c.name and not p.real for p in pairings)
    ]
    chosen = min(tied, key=lambda c: _change_rank(c.name))
    dataset = candidates[0].dataset
    decision = Decision(dataset, scorer, list(candidates), pairings, chosen.name)
    decision.reasons = _reasons(decision, best, chosen)
    return decision


def _change_rank(name: str) -> int:
    key = name.lower()
    return CHANGE_ORDER.index(key) if key in CHANGE_ORDER else len(CHANGE_ORDER)


def _reasons(decision: Decision, best: CandidateFigures, chosen: CandidateFigures) -> list[str]:
    reasons = [
        f"{best.name} is the most accurate: {best.accuracy.value:.0%}"
        f" [{best.accuracy.low:.0%}, {best.accuracy.high:.0%}] on {decision.dataset}"
    ]
    for p in decision.pairings:
        verdict = (
            "a real difference (the interval excludes 0)"
            if p.real
            else "not a real difference (the interval holds 0)"
        )
        reasons.append(
            f"{p.best} vs {p.other}: {p.delta:+.0%} [{p.low:+.0%}, {p.high:+.0%}] of accuracy,"
            f" right only by {p.best}: {p.best_only}, only by {p.other}: {p.other_only},"
            f" McNemar p={p.mcnemar_p:.3f}: {verdict}"
        )
    if chosen.name != best.name:
        reasons.append(
            f"{chosen.name} is as good within the intervals and cheaper to change"
            f" ({chosen.change}), so it is recommended over {best.name}"
        )
    return reasons
