"""Topic rails: deny or allow lists, by keyword and by embedding similarity to examples."""

from __future__ import annotations

import re
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from steerwise.core.guardrails import CheckContext, Finding
from steerwise.guardrails.detectors.base import (
    DetectorServices,
    DetectorSettings,
    register_detector,
)
from steerwise.guardrails.normalise import normalise
from steerwise.guardrails.segments import segment


class Topic(BaseModel):
    """A named topic: keywords (whole words, any case) and example sentences."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    keywords: list[str] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_something(self) -> Topic:
        if not self.keywords and not self.examples:
            raise ValueError(f"topic {self.name!r} needs keywords or examples")
        return self


class TopicSettings(DetectorSettings):
    """`deny`: topics that must not appear; `allow`: if given, the text must be on one of them."""

    deny: list[Topic] = Field(default_factory=list)
    allow: list[Topic] = Field(default_factory=list)
    threshold: float = Field(default=0.55, gt=0.0, le=1.0)
    use_embeddings: bool = True

    @model_validator(mode="after")
    def _has_topics(self) -> TopicSettings:
        if not self.deny and not self.allow:
            raise ValueError("give at least one topic under deny or allow")
        return self


class _CompiledTopic:
    def __init__(self, topic: Topic) -> None:
        self.name = topic.name
        self.examples = topic.examples
        words = "|".join(re.escape(keyword) for keyword in topic.keywords)
        self.pattern = re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.IGNORECASE) if words else None
        self.vectors: npt.NDArray[np.float32] | None = None


@register_detector
class TopicDetector:
    """Finds sentences on denied topics, and texts on none of the allowed ones."""

    name: ClassVar[str] = "topics"
    Settings: ClassVar[type[DetectorSettings]] = TopicSettings

    def __init__(self, settings: TopicSettings, services: DetectorServices) -> None:
        self._settings = settings
        self._services = services
        self._deny = [_CompiledTopic(topic) for topic in settings.deny]
        self._allow = [_CompiledTopic(topic) for topic in settings.allow]

    def detect(self, text: str, context: CheckContext) -> list[Finding]:
        """`denied_topic` findings with spans; `off_topic` when no allowed topic matched."""
        # windows first: a window's finding is more precise than the whole text's
        pieces = segment([normalise(text)]) if self._embeds() else []
        pieces.sort(key=lambda piece: piece.start is None)
        spans = [(p.start or 0, len(text) if p.end is None else p.end) for p in pieces]
        similarity = self._similarities([piece.text for piece in pieces])
        found = [
            finding
            for topic in self._deny
            for finding in self._denied(text, topic, spans, similarity.get(topic.name))
        ]
        if self._allow and not any(
            self._matches(text, topic, similarity.get(topic.name)) for topic in self._allow
        ):
            names = ", ".join(topic.name for topic in self._allow)
            found.append(
                Finding(self.name, "off_topic", 1.0, f"on none of the allowed topics ({names})")
            )
        return found

    def _denied(
        self,
        text: str,
        topic: _CompiledTopic,
        spans: list[tuple[int, int]],
        scores: npt.NDArray[np.float32] | None,
    ) -> list[Finding]:
        reason = f"denied topic {topic.name!r}"
        found = [
            Finding(
                self.name, "denied_topic", 1.0, f"{reason} (keyword)", match.start(), match.end()
            )
            for match in (topic.pattern.finditer(text) if topic.pattern else ())
        ]
        if scores is not None:
            found.extend(
                Finding(
                    self.name,
                    "denied_topic",
                    float(score),
                    f"{reason} (similar to its examples)",
                    start,
                    end,
                )
                for (start, end), score in zip(spans, scores, strict=True)
                if score >= self._settings.threshold and not _covered(found, start, end)
            )
        return found

    def _matches(
        self, text: str, topic: _CompiledTopic, scores: npt.NDArray[np.float32] | None
    ) -> bool:
        if topic.pattern is not None and topic.pattern.search(text):
            return True
        return scores is not None and bool(np.any(scores >= self._settings.threshold))

    def _embeds(self) -> bool:
        return self._settings.use_embeddings and any(
            topic.examples for topic in (*self._deny, *self._allow)
        )

    def _similarities(self, pieces: list[str]) -> dict[str, npt.NDArray[np.float32]]:
        """Topic name -> each piece's best similarity to the topic's examples.

        The pieces are the injection rail's segments (`guardrails.segments`), so an input
        check embeds them once for both rails.
        """
        topics = [topic for topic in (*self._deny, *self._allow) if topic.examples]
        if not pieces:
            return {}
        embedder = self._services.embedder()
        for topic in topics:
            if topic.vectors is None:
                topic.vectors = embedder.embed(topic.examples)
        vectors = embedder.embed(pieces)
        return {
            topic.name: np.max(vectors @ topic.vectors.T, axis=1)
            for topic in topics
            if topic.vectors is not None
        }


def _covered(found: list[Finding], start: int, end: int) -> bool:
    return any(
        f.start is not None and f.end is not None and f.start < end and start < f.end for f in found
    )
