"""Custom scorers the `python` scorer imports in tests."""

from __future__ import annotations

from steerwise.core.evals import Sample, Score


def shouting(sample: Sample) -> bool:
    return sample.output.isupper()


def length_share(sample: Sample) -> float:
    return min(1.0, len(sample.output) / 20)


def full(sample: Sample) -> Score:
    return Score(1.0, True, "always")


def wrong_type(sample: Sample) -> str:
    return "yes"


NOT_CALLABLE = 3
