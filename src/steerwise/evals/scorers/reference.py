"""Scorers that compare an answer with the item's reference answers (the best one counts).

Empty answers and refusals are plain text here: they match a reference only if it says the
same (an empty answer scores 0 against any non-empty reference). An item without references
cannot be judged by `exact_match`, `f1`, `rouge_l` or `semantic_similarity` (ScorerError);
`contains` and `regex` use their own `value` / `pattern` when given.
"""

from __future__ import annotations

import re
from typing import ClassVar

import numpy as np
from pydantic import Field, field_validator

from steerwise.core.evals import Sample, Score
from steerwise.evals.scorers.base import (
    ScorerError,
    ScorerServices,
    ScorerSettings,
    ThresholdScorer,
    register_scorer,
    threshold_score,
)
from steerwise.evals.text import normalize_answer, rouge_l, token_f1


def _references(name: str, sample: Sample) -> tuple[str, ...]:
    if not sample.references:
        raise ScorerError(f"{name}: the item has no reference answer")
    return sample.references


def _best(values: list[float]) -> tuple[float, int]:
    index = max(range(len(values)), key=values.__getitem__)
    return values[index], index


@register_scorer
class ExactMatch:
    """1 when the normalised answer equals a normalised reference (SQuAD's EM), else 0."""

    name: ClassVar[str] = "exact_match"
    Settings: ClassVar[type[ScorerSettings]] = ScorerSettings

    def __init__(self, settings: ScorerSettings, services: ScorerServices) -> None:
        self.settings = settings

    def score(self, sample: Sample) -> Score:
        """SQuAD exact match, the maximum over the references."""
        answer = normalize_answer(sample.output)
        for number, reference in enumerate(_references(self.name, sample), start=1):
            if answer == normalize_answer(reference):
                return Score(1.0, True, f"equals reference {number} once normalised")
        return Score(0.0, False, "equals no reference once normalised")


class _BestReference(ThresholdScorer):
    """A measure against each reference; the best counts, passing at `threshold` (0.5)."""

    name: ClassVar[str]
    label: ClassVar[str]

    @staticmethod
    def measure(prediction: str, reference: str) -> float:
        """The measure of `prediction` against one reference."""
        raise NotImplementedError

    def score(self, sample: Sample) -> Score:
        """The maximum of the measure over the references."""
        references = _references(self.name, sample)
        value, index = _best([self.measure(sample.output, ref) for ref in references])
        reason = f"{self.label} {value:.3f} (reference {index + 1})"
        return threshold_score(value, self.settings.threshold, reason)


@register_scorer
class F1(_BestReference):
    """SQuAD's token F1 against the best reference; passes at `threshold` (0.5)."""

    name: ClassVar[str] = "f1"
    label: ClassVar[str] = "token F1"
    measure = staticmethod(token_f1)


@register_scorer
class RougeL(_BestReference):
    """ROUGE-L F1 against the best reference; passes at `threshold` (0.5)."""

    name: ClassVar[str] = "rouge_l"
    label: ClassVar[str] = "ROUGE-L"
    measure = staticmethod(rouge_l)


class ContainsSettings(ScorerSettings):
    value: str | list[str] | None = None
    """What the answer must contain; without it, the references."""
    all: bool = False
    """Require every value (default: any one)."""
    ignore_case: bool = True


@register_scorer
class Contains:
    """1 when the answer contains the value (any of them, or `all`), else 0."""

    name: ClassVar[str] = "contains"
    Settings: ClassVar[type[ScorerSettings]] = ContainsSettings

    def __init__(self, settings: ContainsSettings, services: ScorerServices) -> None:
        self.settings = settings

    def score(self, sample: Sample) -> Score:
        """Whether the wanted text is in the answer."""
        value = self.settings.value
        wanted = (
            [value] if isinstance(value, str) else list(value or _references(self.name, sample))
        )
        fold = str.casefold if self.settings.ignore_case else str
        text = fold(sample.output)
        found = [item for item in wanted if fold(item) in text]
        passed = len(found) == len(wanted) if self.settings.all else bool(found)
        need = "all" if self.settings.all else "any"
        return Score(
            float(passed), passed, f"contains {len(found)} of {len(wanted)} ({need} needed)"
        )


class RegexSettings(ScorerSettings):
    pattern: str
    ignore_case: bool = False
    must_not_match: bool = False
    """Pass when the pattern is absent instead."""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValueError(f"not a regular expression: {error}") from None
        return pattern


@register_scorer
class Regex:
    """1 when `pattern` is found in the answer (or, with `must_not_match`, when it is not)."""

    name: ClassVar[str] = "regex"
    Settings: ClassVar[type[ScorerSettings]] = RegexSettings

    def __init__(self, settings: RegexSettings, services: ScorerServices) -> None:
        self.settings = settings
        flags = re.IGNORECASE if settings.ignore_case else 0
        self._regex = re.compile(settings.pattern, flags)

    def score(self, sample: Sample) -> Score:
        """Whether the pattern matches anywhere in the answer."""
        found = self._regex.search(sample.output) is not None
        passed = found != self.settings.must_not_match
        what = "found" if found else "not found"
        return Score(float(passed), passed, f"pattern {what}")


class SimilaritySettings(ScorerSettings):
    threshold: float = Field(default=0.75, ge=0.0, le=1.0)


@register_scorer
class SemanticSimilarity:
    """Cosine similarity of the answer's and the best reference's embeddings (the default
    embedder), clipped to [0, 1]; passes at `threshold` (0.75). An empty answer scores 0."""

    name: ClassVar[str] = "semantic_similarity"
    Settings: ClassVar[type[ScorerSettings]] = SimilaritySettings

    def __init__(self, settings: SimilaritySettings, services: ScorerServices) -> None:
        self.settings = settings
        self._services = services

    def score(self, sample: Sample) -> Score:
        """The best cosine similarity over the references."""
        references = _references(self.name, sample)
        if not sample.output.strip():
            return Score(0.0, False, "empty answer")
        vectors = np.asarray(self._services.embedder().embed([sample.output, *references]))
        unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        value, index = _best([float(unit[0] @ other) for other in unit[1:]])
        return threshold_score(
            value, self.settings.threshold, f"cosine {value:.3f} (reference {index + 1})"
        )
