"""Statistics for paired comparisons: a seeded paired bootstrap and McNemar's exact test.

`paired_bootstrap(a, b)` resamples the items (with replacement, `resamples` times, from a
seeded generator, so a comparison is reproducible) and returns the mean difference `b - a`
with its percentile interval. `mcnemar_exact(a_only, b_only)` is the two-sided exact binomial
test of the discordant pairs (items one side passed and the other failed) at p = 1/2, the
exact form of McNemar's test that small evaluation sets need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import comb

import numpy as np

DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 0


@dataclass(frozen=True)
class Interval:
    """A difference of means and its bootstrap interval."""

    delta: float
    low: float
    high: float
    confidence: float

    @property
    def excludes_zero(self) -> bool:
        """Whether the interval says the difference is real (it does not contain 0)."""
        return self.low > 0 or self.high < 0


def paired_bootstrap(
    baseline: Sequence[float],
    candidate: Sequence[float],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
) -> Interval:
    """The mean of `candidate - baseline` over paired items, with a percentile interval."""
    if len(baseline) != len(candidate) or not baseline:
        raise ValueError("a paired bootstrap needs two equally long, non-empty sequences")
    differences = np.asarray(candidate, dtype=float) - np.asarray(baseline, dtype=float)
    generator = np.random.default_rng(seed)
    picks = generator.integers(0, len(differences), size=(resamples, len(differences)))
    means = differences[picks].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Interval(float(differences.mean()), float(low), float(high), confidence)


def mcnemar_exact(baseline_only: int, candidate_only: int) -> float:
    """Two-sided p-value of McNemar's exact test: `baseline_only` items passed only on the
    baseline, `candidate_only` only on the candidate (1.0 when there are none)."""
    discordant = baseline_only + candidate_only
    if discordant == 0:
        return 1.0
    smaller = min(baseline_only, candidate_only)
    tail = Fraction(sum(comb(discordant, k) for k in range(smaller + 1)), 1 << discordant)
    return min(1.0, float(2 * tail))  # exact to the end: no overflow for thousands of items
