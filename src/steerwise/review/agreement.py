"""Agreement between two reviewers: Cohen's kappa over the items both judged."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> float:
    """Cohen's kappa of two raters' labels for the same items: (observed agreement - the
    agreement their label frequencies give by chance) / (1 - chance); 1.0 when both agree
    on everything even by chance alone (a single label)."""
    if len(first) != len(second) or not first:
        raise ValueError("kappa needs two equally long, non-empty label sequences")
    count = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / count
    one, two = Counter(first), Counter(second)
    chance = sum(one[label] * two[label] for label in one) / count**2
    if chance == 1.0:
        return 1.0
    return (observed - chance) / (1 - chance)
