"""Scorers of how an answer uses retrieval: citations, recall of the reference documents,
and faithfulness to the retrieved passages.

Document ids are the knowledge base's document ids, with or without `@version` (a
passage's `document` is `doc_id@version`; `returns` matches `returns@3`).
`citation_precision` and `context_recall` need the item's `reference_doc_ids` (ScorerError
without). An empty answer or a refusal cites nothing
(`citation_precision` 0) and makes no claims (`faithfulness` 1: nothing it says is
unsupported); `context_recall` judges retrieval, not the answer, so it ignores both.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from steerwise.core.evals import Sample, Score
from steerwise.core.guardrails import CheckContext, ContextDocument
from steerwise.evals.scorers.base import (
    ScorerError,
    ScorerServices,
    ScorerSettings,
    ThresholdScorer,
    ThresholdSettings,
    register_scorer,
    threshold_score,
)
from steerwise.guardrails.detectors import DetectorServices
from steerwise.guardrails.detectors.grounding import GroundingDetector, GroundingSettings


def _document_id(passage: ContextDocument) -> str:
    return passage.document or passage.id


def _matched(wanted: set[str], documents: set[str]) -> set[str]:
    """The reference ids among `documents`: an id names a document with or without its
    `@version` (`returns` matches `returns@3`; `returns@2` only that version)."""
    unversioned = {document.rpartition("@")[0] or document for document in documents}
    return {ref for ref in wanted if ref in documents or ref in unversioned}


def _reference_ids(name: str, sample: Sample) -> set[str]:
    if not sample.reference_doc_ids:
        raise ScorerError(f"{name}: the item has no reference_doc_ids")
    return set(sample.reference_doc_ids)


@register_scorer
class CitationPrecision(ThresholdScorer):
    """Share of the documents the answer cites that are reference documents."""

    name: ClassVar[str] = "citation_precision"

    def score(self, sample: Sample) -> Score:
        """Cited reference documents over cited documents."""
        wanted = _reference_ids(self.name, sample)
        cited = set(sample.cited_doc_ids)
        if not cited:
            return Score(0.0, False, "the answer cites nothing")
        right = sum(1 for document in cited if _matched(wanted, {document}))
        return threshold_score(
            right / len(cited),
            self.settings.threshold,
            f"{right} of {len(cited)} cited documents are references",
        )


@register_scorer
class ContextRecall(ThresholdScorer):
    """Share of the reference documents that retrieval returned."""

    name: ClassVar[str] = "context_recall"

    def score(self, sample: Sample) -> Score:
        """Retrieved reference documents over reference documents."""
        wanted = _reference_ids(self.name, sample)
        found = _matched(wanted, {_document_id(passage) for passage in sample.context})
        return threshold_score(
            len(found) / len(wanted),
            self.settings.threshold,
            f"retrieved {len(found)} of {len(wanted)} reference documents",
        )


class FaithfulnessSettings(ThresholdSettings):
    threshold: float = Field(default=0.8, ge=0.0, le=1.0)
    use_embeddings: bool = True
    """Word overlap alone when false (faster, stricter)."""


@register_scorer
class Faithfulness:
    """Share of the answer's claims (sentences with three or more content words) that the
    retrieved passages support, judged as the grounding rail judges them."""

    name: ClassVar[str] = "faithfulness"
    Settings: ClassVar[type[ScorerSettings]] = FaithfulnessSettings

    def __init__(self, settings: FaithfulnessSettings, services: ScorerServices) -> None:
        self.settings = settings
        grounding = GroundingSettings(use_embeddings=settings.use_embeddings)
        self._grounding = GroundingDetector(grounding, DetectorServices(services.embedder))

    def score(self, sample: Sample) -> Score:
        """Supported claims over claims (1 when the answer makes none)."""
        _, claims = self._grounding.claims(sample.output)
        if not claims or sample.declined:
            return Score(1.0, True, "the answer makes no claims")
        context = CheckContext(documents=sample.context)
        unsupported = len(self._grounding.detect(sample.output, context))
        supported = len(claims) - unsupported
        return threshold_score(
            supported / len(claims),
            self.settings.threshold,
            f"{supported} of {len(claims)} claims supported by {len(sample.context)} passages",
        )
