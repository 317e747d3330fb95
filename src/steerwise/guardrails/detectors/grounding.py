"""Answer rails over retrieved context: grounding, citations, freshness of the sources used."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import ClassVar

from pydantic import Field

from steerwise.core.guardrails import CheckContext, ContextDocument, Finding
from steerwise.guardrails.detectors.base import (
    DetectorServices,
    DetectorSettings,
    register_detector,
)
from steerwise.guardrails.nli import NliJudge
from steerwise.guardrails.text import (
    best_similarities,
    content_words,
    finished_prefix,
    numbers_in,
    sentence_spans,
    sentences_of,
)
from steerwise.retrieval.citations import blank_citations, citation_markers


class GroundingSettings(DetectorSettings):
    """A sentence is supported when enough of its words, or its meaning, are in the context.

    Every number in a sentence must also appear in the supporting passage.
    """

    min_word_overlap: float = Field(default=0.6, gt=0.0, le=1.0)
    min_similarity: float = Field(default=0.7, gt=0.0, le=1.0)
    use_embeddings: bool = True
    numbers_must_match: bool = True
    min_words: int = Field(default=3, ge=1)
    max_candidates: int = Field(default=8, ge=1, le=200)
    """Passage sentences compared by embedding: those sharing the most words with the answer."""
    nli_model: str | None = None
    """A model reference; when set, its entailment verdict decides each sentence instead of
    the overlap and similarity thresholds (`steerwise.guardrails.nli`)."""
    nli_passages: int = Field(default=3, ge=1, le=20)
    """How many passages (those sharing the most words with a sentence) the NLI model reads."""


@register_detector
class GroundingDetector:
    """Finds answer sentences the retrieved context does not support."""

    name: ClassVar[str] = "grounding"
    Settings: ClassVar[type[DetectorSettings]] = GroundingSettings

    def __init__(self, settings: GroundingSettings, services: DetectorServices) -> None:
        self._settings = settings
        self._services = services
        self._judge: NliJudge | None = None

    def detect(self, text: str, context: CheckContext) -> list[Finding]:
        """One finding per sentence without support (all, if no context).

        `unsupported_sentence`, or `contradicted_sentence` when an NLI model says the passages
        state the opposite.
        """
        plain, spans = self.claims(text)
        if not spans:
            return []
        if self._settings.nli_model is not None:
            return self._nli_findings(plain, spans, context)
        passages = [document.text for document in context.documents]
        overlaps = [self._overlap(plain[start:end], passages) for start, end in spans]
        similarities = self._similarities(plain, spans, overlaps, context)
        return [
            Finding(
                self.name,
                "unsupported_sentence",
                round(1.0 - max(overlap, similarity), 4),
                f"sentence {index + 1} is not supported by the {len(passages)} retrieved passages"
                f" (word overlap {overlap:.2f}, similarity {similarity:.2f})",
                start,
                end,
            )
            for index, ((start, end), overlap, similarity) in enumerate(
                zip(spans, overlaps, similarities, strict=True)
            )
            if not self._supported(overlap, similarity)
        ]

    def prepare(self, context: CheckContext) -> None:
        """Embed every passage sentence now (into the shared cache), so that a check later
        embeds only the answer's sentences: the gateway calls it while the model writes."""
        if self._embeds():
            pieces = list(dict.fromkeys(_passage_sentences(context)))
            if pieces:
                embedder = self._services.embedder()
                embedder.recall(pieces)  # read from the snapshot, where it stored them
                embedder.embed(pieces)

    def prepare_answer(self, text: str, context: CheckContext) -> None:
        """Embed the finished sentences of a partial answer that word overlap does not
        support (into the shared cache), so that the check of the whole answer finds them
        embedded: the pipeline calls it while the model is still writing. The sentence the
        text ends in may be unfinished: it is left to the check."""
        if not self.prepares_answers or not context.documents:
            return
        plain, spans = self.claims(finished_prefix(text))
        passages = [document.text for document in context.documents]
        pending = [
            plain[start:end]
            for start, end in spans
            if self._overlap(plain[start:end], passages) < self._settings.min_word_overlap
        ]
        if pending:  # beside the model: on one thread, the core a local model leaves free
            self._services.embedder().embed(pending, one_thread=True)

    @property
    def prepares_answers(self) -> bool:
        """Whether `prepare_answer` does anything: this rail compares sentences by embedding
        (not by word overlap alone, nor by an NLI model)."""
        return self._embeds()

    def _embeds(self) -> bool:
        return self._settings.use_embeddings and self._settings.nli_model is None

    def claims(self, text: str) -> tuple[str, list[tuple[int, int]]]:
        """`text` with citation markers blanked, and the spans of the sentences this detector
        judges (those with at least `min_words` content words)."""
        plain = blank_citations(text)
        spans = [
            (start, end)
            for start, end in sentence_spans(plain)
            if len(content_words(plain[start:end])) >= self._settings.min_words
        ]
        return plain, spans

    def _nli_findings(
        self, text: str, spans: list[tuple[int, int]], context: CheckContext
    ) -> list[Finding]:
        """The NLI model's verdict on each sentence against its best passages."""
        found = []
        for index, (start, end) in enumerate(spans):
            sentence = text[start:end]
            premise = _closest_passages(sentence, context, self._settings.nli_passages)
            if not premise:
                reason = f"sentence {index + 1}: no retrieved passage shares its words"
                found.append(Finding(self.name, "unsupported_sentence", 1.0, reason, start, end))
                continue
            judgement = self._nli().judge(premise, sentence)
            if judgement.verdict == "entailment":
                continue
            contradicted = judgement.verdict == "contradiction"
            found.append(
                Finding(
                    self.name,
                    "contradicted_sentence" if contradicted else "unsupported_sentence",
                    1.0 if contradicted else 0.5,
                    f"sentence {index + 1}: {judgement.verdict} given the {len(premise)} closest"
                    f" retrieved passages (NLI by {judgement.model})",
                    start,
                    end,
                )
            )
        return found

    def _nli(self) -> NliJudge:
        if self._judge is None:
            ref = self._settings.nli_model or ""
            self._judge = NliJudge(self._services.models(), ref)
        return self._judge

    def _supported(self, overlap: float, similarity: float) -> bool:
        settings = self._settings
        return overlap >= settings.min_word_overlap or similarity >= settings.min_similarity

    def _overlap(self, sentence: str, passages: list[str]) -> float:
        """The best share of the sentence's content words found in one passage (numbers too)."""
        words = content_words(sentence)
        numbers = numbers_in(sentence)
        best = 0.0
        for passage in passages:
            if self._settings.numbers_must_match and not numbers <= numbers_in(passage):
                continue
            best = max(best, len(words & content_words(passage)) / len(words))
        return best

    def _similarities(
        self,
        text: str,
        spans: list[tuple[int, int]],
        overlaps: list[float],
        context: CheckContext,
    ) -> list[float]:
        """Embedding similarity for sentences word overlap did not already support."""
        scores = [0.0] * len(spans)
        pending = [
            i for i, overlap in enumerate(overlaps) if overlap < self._settings.min_word_overlap
        ]
        if not self._settings.use_embeddings or not pending or not context.documents:
            return scores
        questions = [text[slice(*spans[i])] for i in pending]
        pieces = _candidate_passages(questions, context, self._settings.max_candidates)
        embedder = self._services.embedder()
        embedder.recall(pieces)
        found = best_similarities(embedder, questions, pieces)
        for index, score in zip(pending, found, strict=True):
            sentence_numbers = numbers_in(text[slice(*spans[index])])
            if not self._settings.numbers_must_match or _numbers_present(sentence_numbers, context):
                scores[index] = score
        return scores


def _candidate_passages(sentences: list[str], context: CheckContext, limit: int) -> list[str]:
    """The passage sentences worth embedding: those sharing the most content words with the
    answer sentences in question (embedding every passage sentence dominates a check's cost)."""
    wanted = set().union(*(content_words(sentence) for sentence in sentences))
    scored = [(len(wanted & content_words(piece)), piece) for piece in _passage_sentences(context)]
    ranked = sorted((item for item in scored if item[0] > 0), key=lambda item: -item[0])
    return [piece for _, piece in ranked[:limit]]


def _passage_sentences(context: CheckContext) -> Iterator[str]:
    """Every sentence of every retrieved passage, in order."""
    for document in context.documents:
        yield from sentences_of(document.text)


def _closest_passages(sentence: str, context: CheckContext, limit: int) -> list[str]:
    """The passages sharing the most content words with `sentence` (none sharing any: none)."""
    words = content_words(sentence)
    scored = [(len(words & content_words(d.text)), d.text) for d in context.documents]
    ranked = sorted((item for item in scored if item[0] > 0), key=lambda item: -item[0])
    return [passage for _, passage in ranked[:limit]]


def _numbers_present(numbers: set[str], context: CheckContext) -> bool:
    return numbers <= set().union(*(numbers_in(d.text) for d in context.documents))


class CitationSettings(DetectorSettings):
    """`require`: an answer given context must cite at least one passage."""

    require: bool = False


@register_detector
class CitationDetector:
    """Finds `[n]` markers that point at no retrieved passage, and missing citations."""

    name: ClassVar[str] = "citations"
    whole_text: ClassVar[bool] = True
    Settings: ClassVar[type[DetectorSettings]] = CitationSettings

    def __init__(self, settings: CitationSettings, services: DetectorServices) -> None:
        self._settings = settings

    def detect(self, text: str, context: CheckContext) -> list[Finding]:
        """`invalid_citation` per marker out of range; `missing_citation` if required and absent."""
        count = len(context.documents)
        markers = citation_markers(text)
        found = [
            Finding(
                self.name,
                "invalid_citation",
                1.0,
                f"cites [{number}] but only {count} passages were retrieved",
                start,
                end,
            )
            for number, start, end in markers
            if not 1 <= number <= count
        ]
        if self._settings.require and count and not markers:
            found.append(Finding(self.name, "missing_citation", 1.0, "the answer cites no passage"))
        return found


class FreshnessSettings(DetectorSettings):
    """`stale`: also refuse sources that are stale for other reasons (TTL, changed on disk)."""

    stale: bool = False


@register_detector
class FreshnessDetector:
    """Finds answers resting on sources past their `valid_until` (or stale, if set)."""

    name: ClassVar[str] = "freshness"
    Settings: ClassVar[type[DetectorSettings]] = FreshnessSettings

    def __init__(self, settings: FreshnessSettings, services: DetectorServices) -> None:
        self._settings = settings

    def detect(self, text: str, context: CheckContext) -> list[Finding]:
        """One finding per expired (or stale) passage the answer rests on.

        The answer rests on the passages it cites; an answer that cites none rests on all.
        """
        today = context.today or date.today().isoformat()
        return [
            finding
            for document in _used_documents(text, context)
            if (finding := self._check(document, today)) is not None
        ]

    def _check(self, document: ContextDocument, today: str) -> Finding | None:
        label = document.document or document.id
        if document.valid_until is not None and document.valid_until[:10] < today:
            reason = f"rests on {label}, valid only until {document.valid_until[:10]}"
            return Finding(self.name, "expired_source", 1.0, reason)
        if self._settings.stale and document.stale:
            why = ", ".join(document.stale_reasons) or "stale"
            return Finding(self.name, "stale_source", 0.8, f"rests on {label}, which is {why}")
        return None


def _used_documents(text: str, context: CheckContext) -> list[ContextDocument]:
    numbers = {number for number, _, _ in citation_markers(text)}
    documents = list(context.documents)
    if not numbers:
        return documents
    return [document for index, document in enumerate(documents, 1) if index in numbers]
