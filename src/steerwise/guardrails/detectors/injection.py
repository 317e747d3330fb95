"""Prompt injection and jailbreak: offline, multilingual, in the text and in retrieved passages.

How a text is scored:

1. It is normalised (`steerwise.guardrails.normalise`): NFKC, invisibles removed, accents
   dropped, lower case, spaced-out letters joined, homoglyphs and leetspeak folded; embedded
   base64 and hex runs are decoded into views of their own.
2. Patterns (`injection_patterns`) per category and language run on every view. The pattern
   score `p` is the noisy-OR of each category's strongest match weight.
3. The text is cut into segments: the whole text, its sentences (grouped into at most
   `max_segments` windows) and each decoded payload. Each embedding scorer
   (`injection_scoring`: similarity to exemplars, and a classifier when `classifier` names
   one that `fit_classifier` fitted) scores every segment; a scorer's text score `s_i` is
   its best segment's.
4. The combined score is the noisy-OR `1 - (1 - w_p p) * prod_i (1 - w_i s_i)` with the
   weights of the settings; the text is flagged when it reaches `threshold`.

With `scan_context`, each `CheckContext.documents` passage is scored the same way (by patterns
and decoded payloads only, unless `context_embeddings`); a passage that reaches the
threshold gives an `indirect_injection` finding naming the passage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Self

from pydantic import Field, model_validator

from steerwise.core.guardrails import CheckContext, Finding
from steerwise.guardrails.detectors.base import (
    DetectorServices,
    DetectorSettings,
    register_detector,
)
from steerwise.guardrails.injection_encoder import (
    EncoderHead,
    EncoderScorer,
    load_encoder,
)
from steerwise.guardrails.injection_patterns import (
    PatternMatch,
    describe,
    find_in_view,
    pattern_score,
)
from steerwise.guardrails.injection_scoring import (
    NGRAM_SIZES,
    Exemplar,
    InjectionScorer,
    LogisticScorer,
    LogisticWeights,
    SimilarityScorer,
    combine,
    fit_logistic,
    load_classifier,
    load_exemplars,
    training_rows,
)
from steerwise.guardrails.normalise import views
from steerwise.guardrails.segments import Segment, segment
from steerwise.guardrails.vectors import CachingEmbedder
from steerwise.models.interface import Embedder

DEFAULT_THRESHOLD = 0.65
_MAX_FINDINGS = 10


class InjectionSettings(DetectorSettings):
    """Settings of the `prompt_injection` detector."""

    threshold: float = Field(DEFAULT_THRESHOLD, ge=0.0, le=1.0)
    """Combined score at which a text is flagged (tuned on deepset's train split)."""
    use_embeddings: bool = True
    """Score similarity to exemplars with the default embedder; off: patterns only."""
    exemplars: str | None = None
    """A JSONL file of extra exemplars, {"text", "label"} with label 1 = attack."""
    scan_context: bool = True
    """Also score the retrieved passages of the check's context (indirect injection)."""
    context_embeddings: bool = False
    """Judge passages by embedding similarity too, not only by patterns and decoded payloads:
    policy and help documents read like instructions, and similarity flags them (measured on
    the demo pack's returns policy: 0.95), so it is off unless asked for."""
    classifier: str | None = None
    """A trained classifier to join the scorers: the folder of a fine-tuned encoder
    (`steerwise guard fit-classifier --kind encoder`) or the JSON file of a logistic
    regression (`--kind logistic`)."""
    pattern_weight: float = Field(1.0, ge=0.0, le=1.0)
    similarity_weight: float = Field(1.0, ge=0.0, le=1.0)
    classifier_weight: float = Field(1.0, ge=0.0, le=1.0)
    max_segments: int = Field(12, ge=1, le=64)
    """At most this many sentence windows per text are embedded (plus the whole text)."""

    @model_validator(mode="after")
    def _classifier_needs_embeddings(self) -> Self:
        if self.classifier is not None and not self.use_embeddings:
            raise ValueError("a classifier scores embeddings: it needs use_embeddings = true")
        return self


@dataclass(frozen=True)
class Evidence:
    """One text's score per component ("patterns", "similarity", "classifier"), combined.

    `best` is the component with the largest weighted score, `segment` its best segment
    (-1 for patterns, which score the whole text).
    """

    scores: dict[str, float]
    combined: float
    best: str
    segment: int


@dataclass(frozen=True)
class Analysis:
    """What the text-only steps found in one text: pattern matches and segments."""

    source: str | None
    matches: list[PatternMatch]
    segments: list[Segment]


def fit_classifier(
    texts: Sequence[str],
    labels: Sequence[int],
    embedder: Embedder,
    *,
    l2: float = 0.1,
    sizes: tuple[int, int] = NGRAM_SIZES,
) -> LogisticWeights:
    """Fit the logistic classifier for the `classifier` setting on labelled texts (1 = attack),
    with benign sentence windows as extra negatives (`training_rows`). Save it with
    `save_classifier`; `injection_encoder.fit_encoder` fine-tunes the encoder instead."""
    rows, targets = training_rows(texts, labels)
    return fit_logistic(rows, targets, embedder, l2=l2, sizes=sizes)


def load_trained_classifier(path: Path) -> LogisticWeights | EncoderHead:
    """The classifier the `classifier` setting names: a fine-tuned encoder's folder, or the
    JSON file of a logistic regression."""
    return load_encoder(path) if path.is_dir() else load_classifier(path)


def _match_type(match: PatternMatch) -> str:
    decoded = any(step.endswith(" decoding") for step in match.transforms)
    return "encoded_payload" if decoded else match.pattern.category


def _strongest_apart(matches: Sequence[PatternMatch]) -> list[PatternMatch]:
    """The strongest matches that do not overlap one another, by position."""
    kept: list[PatternMatch] = []
    for match in sorted(matches, key=lambda m: -m.pattern.weight):
        if all(match.end <= other.start or other.end <= match.start for other in kept):
            kept.append(match)
    return sorted(kept, key=lambda m: m.start)[:_MAX_FINDINGS]


@register_detector
class InjectionDetector:
    """Flags prompt injection and jailbreak attempts by patterns and embedding similarity."""

    name: ClassVar[str] = "prompt_injection"
    Settings: ClassVar[type[DetectorSettings]] = InjectionSettings

    def __init__(self, settings: InjectionSettings, services: DetectorServices) -> None:
        self.settings = settings
        self._services = services
        extra = Path(settings.exemplars).expanduser() if settings.exemplars else None
        self._exemplars: list[Exemplar] = load_exemplars(extra)
        self._trained: LogisticWeights | EncoderHead | None = None
        if settings.classifier:
            self._trained = load_trained_classifier(Path(settings.classifier).expanduser())
        self._scorers: list[tuple[str, float, InjectionScorer]] | None = None
        self._similarity: SimilarityScorer | None = None

    def scorers(self) -> list[tuple[str, float, InjectionScorer]]:
        """(name, weight, scorer) of each embedding scorer in use; loads the embedder once."""
        if self._scorers is None:
            scorers: list[tuple[str, float, InjectionScorer]] = []
            if self.settings.use_embeddings:
                embedder = self._services.embedder()
                self._similarity = SimilarityScorer(embedder, self._exemplars)
                scorers.append(("similarity", self.settings.similarity_weight, self._similarity))
                if self._trained is not None:
                    classifier = self._classifier_scorer(embedder, self._trained)
                    scorers.append(("classifier", self.settings.classifier_weight, classifier))
            self._scorers = scorers
        return self._scorers

    @staticmethod
    def _classifier_scorer(
        embedder: CachingEmbedder, trained: LogisticWeights | EncoderHead
    ) -> InjectionScorer:
        if isinstance(trained, EncoderHead):
            return EncoderScorer(trained)
        return LogisticScorer(embedder, trained)

    def analyse(self, text: str, source: str | None = None) -> Analysis:
        """Pattern matches in every view of `text`, and the segments to embed."""
        found = views(text)
        matches = [match for view in found for match in find_in_view(view)]
        embeds = self.settings.use_embeddings and (
            source is None or self.settings.context_embeddings
        )
        segments = segment(found, max_segments=self.settings.max_segments) if embeds else []
        return Analysis(source, matches, segments)

    def evidence(self, texts: Sequence[str]) -> list[Evidence]:
        """Each text's score per component and combined (no context): for tuning and reports."""
        return self._evidence([self.analyse(text) for text in texts])

    def scores(self, texts: Sequence[str]) -> list[float]:
        """The combined score of each text (no context)."""
        return [found.combined for found in self.evidence(texts)]

    def detect(self, text: str, context: CheckContext) -> list[Finding]:
        """Findings in `text` and, with `scan_context`, one per suspicious passage."""
        analyses = [self.analyse(text)]
        if self.settings.scan_context:
            analyses += [self.analyse(doc.text, doc.id) for doc in context.documents]
        findings: list[Finding] = []
        for analysis, found in zip(analyses, self._evidence(analyses), strict=True):
            if found.combined >= self.settings.threshold:
                findings += self._findings(analysis, found)
        return findings

    def _evidence(self, analyses: Sequence[Analysis]) -> list[Evidence]:
        """Score every segment of every analysis in one batch, then weigh each analysis."""
        texts = [piece.text for analysis in analyses for piece in analysis.segments]
        scorers = self.scorers() if texts else []
        table = [(name, weight, scorer.score(texts)) for name, weight, scorer in scorers]
        results = []
        offset = 0
        for analysis in analyses:
            count = len(analysis.segments)
            columns = [
                (name, weight, values[offset : offset + count]) for name, weight, values in table
            ]
            results.append(self._weigh(analysis, columns))
            offset += count
        return results

    def _weigh(
        self, analysis: Analysis, columns: Sequence[tuple[str, float, list[float]]]
    ) -> Evidence:
        """Each component's text score (its best segment's) and their noisy-OR."""
        scores = {"patterns": pattern_score(analysis.matches)}
        weights = [self.settings.pattern_weight]
        best, segment_index, strongest = "patterns", -1, scores["patterns"] * weights[0]
        for name, weight, own in columns:
            if not own:  # nothing of this text was embedded (a passage judged by patterns)
                continue
            index = max(range(len(own)), key=own.__getitem__)
            scores[name] = own[index]
            weights.append(weight)
            if own[index] * weight > strongest:
                best, segment_index, strongest = name, index, own[index] * weight
        combined = combine(list(scores.values()), weights)
        return Evidence(scores, combined, best, segment_index)

    def _findings(self, analysis: Analysis, found: Evidence) -> list[Finding]:
        matches = _strongest_apart(analysis.matches)
        combined = found.combined
        if analysis.source is not None:
            reason = describe(matches[0]) if matches else self._resemblance(analysis, found)[1]
            return [
                Finding(
                    self.name,
                    "indirect_injection",
                    combined,
                    f"retrieved document {analysis.source!r}: {reason}",
                )
            ]
        if matches:
            return [
                Finding(self.name, _match_type(m), combined, describe(m), m.start, m.end)
                for m in matches
            ]
        kind, reason = self._resemblance(analysis, found)
        piece = analysis.segments[found.segment] if found.segment >= 0 else Segment("")
        return [Finding(self.name, kind, combined, reason, piece.start, piece.end)]

    def _resemblance(self, analysis: Analysis, found: Evidence) -> tuple[str, str]:
        """Type and reason of a text flagged by an embedding scorer, not by patterns."""
        value = found.scores[found.best]
        if found.best == "classifier":
            return "prompt_injection", f"trained classifier score {value:.2f}"
        if found.best != "similarity" or self._similarity is None:
            return "prompt_injection", "the combined score reached the threshold"
        nearest = self._similarity.nearest_attack(analysis.segments[found.segment].text)
        kind = nearest.category or "prompt_injection"
        return kind, f"resembles known {kind.replace('_', ' ')} attacks (similarity {value:.2f})"
