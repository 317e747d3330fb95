"""The detector interface and the registry of detector kinds a policy may name.

A detector is a small class: `name` (what policies write), `Settings` (a pydantic model that
validates its settings at push), and `detect(text, context)` returning findings. Detectors
that need a model get it from `DetectorServices`, lazily, so that a policy without them never
loads one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from steerwise.core.guardrails import CheckContext, Finding
from steerwise.core.kinds import registrar
from steerwise.guardrails.vectors import CachingEmbedder, StoredVectors

if TYPE_CHECKING:
    from steerwise.models.interface import Embedder
    from steerwise.models.registry import ModelRegistry


class DetectorSettings(BaseModel):
    """Base of every detector's settings: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DetectorServices:
    """What detectors may ask of the workspace: the embedder and the models (both on first use).

    The embedder is wrapped in a `CachingEmbedder`, so the rails of one check (and the
    sentences of one streamed answer) embed each text once; `stored_vectors` (the sentences
    of the open index snapshots) answers for texts embedded when a snapshot was built. `models`
    is the workspace's model registry, for detectors that ask a model (grounding's NLI judge).
    """

    def __init__(
        self,
        embedder_factory: Callable[[], Embedder] | None = None,
        models_factory: Callable[[], ModelRegistry] | None = None,
        stored_vectors: StoredVectors | None = None,
    ) -> None:
        self._factory = embedder_factory
        self._models_factory = models_factory
        self._stored = stored_vectors
        self._embedder: CachingEmbedder | None = None
        self._models: ModelRegistry | None = None

    def embedder(self) -> CachingEmbedder:
        """The embedder detectors share; the bundled MiniLM unless a factory was given."""
        if self._embedder is None:
            self._embedder = CachingEmbedder(self._build(), stored=self._stored)
        return self._embedder

    def models(self) -> ModelRegistry:
        """The model registry; without a workspace, one of built-in references only."""
        if self._models is None:
            if self._models_factory is not None:
                self._models = self._models_factory()
            else:
                from steerwise.models.registry import ModelRegistry

                self._models = ModelRegistry({}, root=Path.cwd())
        return self._models

    def _build(self) -> Embedder:
        if self._factory is not None:
            return self._factory()
        from steerwise.models.embeddings import build_embedder

        return build_embedder("default", root=Path.cwd(), named={})


class Detector(Protocol):
    """Finds one kind of problem in a text.

    A detector may set `whole_text = True` when it can only judge a complete text (JSON,
    length, required citations); streamed answers are then held back until it has passed.
    """

    name: ClassVar[str]
    Settings: ClassVar[type[DetectorSettings]]

    def detect(self, text: str, context: CheckContext) -> list[Finding]:
        """Every finding in `text`, with spans where they have one."""
        ...


DETECTORS: dict[str, type[Any]] = {}


def judges_whole_text(detector: object) -> bool:
    """Whether `detector` needs the complete text (see `Detector`)."""
    return bool(getattr(detector, "whole_text", False))


register_detector = registrar(DETECTORS, "detector")
"""Class decorator: make a detector kind available to policies under its `name`."""
