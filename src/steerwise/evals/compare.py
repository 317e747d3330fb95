"""Paired comparison of two eval runs over the same dataset: is the candidate better?

Items are paired by id (both runs must score the same dataset, at any version; an item only
one side has, or that a side could not score, is left out and counted). For each scorer both
runs used: the two means, their difference with a 95% paired-bootstrap interval (seeded),
wins, ties and losses item by item, McNemar's exact test on pass/fail, the same per tag
(slice), and the items that regressed (lower value, or passed before and fail now), with
both answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from steerwise.core.errors import BadInputError
from steerwise.core.evals import DatasetItem, EvalReport, ItemResult, Score
from steerwise.evals.stats import DEFAULT_RESAMPLES, DEFAULT_SEED, mcnemar_exact, paired_bootstrap

_TIE = 1e-9


@dataclass(frozen=True)
class Regression:
    """One item that got worse on one scorer, with both answers."""

    item_id: str
    scorer: str
    baseline: float
    candidate: float
    baseline_output: str
    candidate_output: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(vars(self))


@dataclass(frozen=True)
class SliceDelta:
    """One scorer on the items of one tag."""

    tag: str
    items: int
    baseline: float
    candidate: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "tag": self.tag,
            "items": self.items,
            "baseline": round(self.baseline, 6),
            "candidate": round(self.candidate, 6),
            "delta": round(self.candidate - self.baseline, 6),
        }


@dataclass(frozen=True)
class MetricComparison:
    """One scorer: means, the difference and its interval, wins/ties/losses, McNemar."""

    scorer: str
    paired: int
    baseline: float
    candidate: float
    delta: float
    low: float
    high: float
    wins: int
    ties: int
    losses: int
    passed_baseline_only: int
    passed_candidate_only: int
    mcnemar_p: float
    slices: list[SliceDelta] = field(default_factory=list)

    @property
    def significant(self) -> bool:
        """The interval excludes 0: the difference is real at 95%."""
        return self.low > 0 or self.high < 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        rounded = {
            name: round(getattr(self, name), 6)
            for name in ("baseline", "candidate", "delta", "low", "high", "mcnemar_p")
        }
        return {
            "scorer": self.scorer,
            "paired": self.paired,
            **rounded,
            "significant": self.significant,
            "wins": self.wins,
            "ties": self.ties,
            "losses": self.losses,
            "passed_baseline_only": self.passed_baseline_only,
            "passed_candidate_only": self.passed_candidate_only,
            "slices": [piece.to_dict() for piece in self.slices],
        }


@dataclass(frozen=True)
class Comparison:
    """Two runs compared (module docstring)."""

    baseline: str
    candidate: str
    dataset: str
    seed: int
    resamples: int
    metrics: list[MetricComparison]
    regressions: list[Regression]
    unpaired: int

    def metric(self, scorer: str) -> MetricComparison:
        """The comparison of one scorer (BadInputError naming the scorers there are)."""
        for found in self.metrics:
            if found.scorer == scorer:
                return found
        known = ", ".join(m.scorer for m in self.metrics) or "none"
        raise BadInputError(f"no scorer {scorer!r} in both runs (they share: {known})")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "baseline": self.baseline,
            "candidate": self.candidate,
            "dataset": self.dataset,
            "seed": self.seed,
            "resamples": self.resamples,
            "unpaired": self.unpaired,
            "metrics": [metric.to_dict() for metric in self.metrics],
            "regressions": [regression.to_dict() for regression in self.regressions],
        }


def compare(
    baseline: EvalReport,
    candidate: EvalReport,
    items: Sequence[DatasetItem],
    *,
    seed: int = DEFAULT_SEED,
    resamples: int = DEFAULT_RESAMPLES,
) -> Comparison:
    """Compare two runs of one dataset (`items`: its latest version's, for tags)."""
    name_a, name_b = (report.run.dataset.rpartition("@")[0] for report in (baseline, candidate))
    if name_a != name_b:
        raise BadInputError(
            f"runs over different datasets cannot be paired: {baseline.run.dataset}"
            f" and {candidate.run.dataset}"
        )
    tags = {item.id: item.tags for item in items}
    old = {result.item_id: result for result in baseline.results}
    new = {result.item_id: result for result in candidate.results}
    shared = [item_id for item_id in new if item_id in old]
    scorers = [s for s in baseline.run.scorers if s in candidate.run.scorers]
    metrics, regressions = [], []
    for scorer in scorers:
        pairs = _pairs(scorer, shared, old, new)
        if not pairs:
            continue
        metrics.append(_metric(scorer, pairs, tags, seed=seed, resamples=resamples))
        regressions += _regressions(scorer, pairs, old, new)
    unpaired = len(set(old) ^ set(new))
    return Comparison(
        baseline.run.id,
        candidate.run.id,
        candidate.run.dataset,
        seed,
        resamples,
        metrics,
        regressions,
        unpaired,
    )


Pair = tuple[str, Score, Score]


def _pairs(
    scorer: str, shared: Sequence[str], old: dict[str, ItemResult], new: dict[str, ItemResult]
) -> list[Pair]:
    found = []
    for item_id in shared:
        before, after = old[item_id].scores.get(scorer), new[item_id].scores.get(scorer)
        if isinstance(before, Score) and isinstance(after, Score):
            found.append((item_id, before, after))
    return found


def _metric(
    scorer: str, pairs: list[Pair], tags: dict[str, list[str]], *, seed: int, resamples: int
) -> MetricComparison:
    before = [a.value for _, a, _ in pairs]
    after = [b.value for _, _, b in pairs]
    interval = paired_bootstrap(before, after, resamples=resamples, seed=seed)
    wins = sum(1 for a, b in zip(before, after, strict=True) if b > a + _TIE)
    losses = sum(1 for a, b in zip(before, after, strict=True) if b < a - _TIE)
    old_only = sum(1 for _, a, b in pairs if a.passed and not b.passed)
    new_only = sum(1 for _, a, b in pairs if b.passed and not a.passed)
    return MetricComparison(
        scorer=scorer,
        paired=len(pairs),
        baseline=sum(before) / len(before),
        candidate=sum(after) / len(after),
        delta=interval.delta,
        low=interval.low,
        high=interval.high,
        wins=wins,
        ties=len(pairs) - wins - losses,
        losses=losses,
        passed_baseline_only=old_only,
        passed_candidate_only=new_only,
        mcnemar_p=mcnemar_exact(old_only, new_only),
        slices=_slices(pairs, tags),
    )


def _slices(pairs: list[Pair], tags: dict[str, list[str]]) -> list[SliceDelta]:
    grouped: dict[str, list[Pair]] = {}
    for pair in pairs:
        for tag in tags.get(pair[0], ()):
            grouped.setdefault(tag, []).append(pair)
    return [
        SliceDelta(
            tag,
            len(members),
            sum(a.value for _, a, _ in members) / len(members),
            sum(b.value for _, _, b in members) / len(members),
        )
        for tag, members in sorted(grouped.items())
    ]


def _regressions(
    scorer: str, pairs: list[Pair], old: dict[str, ItemResult], new: dict[str, ItemResult]
) -> list[Regression]:
    return [
        Regression(item_id, scorer, a.value, b.value, old[item_id].output, new[item_id].output)
        for item_id, a, b in pairs
        if b.value < a.value - _TIE or (a.passed and not b.passed)
    ]
