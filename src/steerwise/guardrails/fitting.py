"""Fit the prompt-injection detector's trained classifier on a team's labelled texts.

Two kinds, both named by the detector's `classifier` setting once written:

- `encoder`: the default embedder fine-tuned end to end with a logistic head
  (`injection_encoder`), a folder; minutes on a laptop CPU for a few hundred texts.
- `logistic`: a logistic regression over hashed character n-grams and the embedder's vectors
  (`injection_scoring`), one JSON file; seconds.

The labelled file is JSONL of `{"text", "label"}` with label 1 for an attack (the exemplar
format). The output appears whole or not at all.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from steerwise.core.errors import BadInputError
from steerwise.guardrails.detectors.injection import fit_classifier
from steerwise.guardrails.injection_encoder import (
    EncoderRecipe,
    EncoderScorer,
    Progress,
    fit_encoder,
)
from steerwise.guardrails.injection_scoring import (
    InjectionScorer,
    LogisticScorer,
    load_exemplars_file,
    save_classifier,
)
from steerwise.guardrails.vectors import CachingEmbedder
from steerwise.models.interface import Embedder

ClassifierKind = Literal["encoder", "logistic"]
CLASSIFIER_KINDS: tuple[ClassifierKind, ...] = ("encoder", "logistic")


@dataclass(frozen=True)
class FitRequest:
    """What to fit, from which labelled file, into which path."""

    data: Path
    out: Path
    kind: ClassifierKind = "encoder"
    recipe: EncoderRecipe = field(default_factory=EncoderRecipe)
    l2: float = 0.1
    """The logistic regression's penalty (the `logistic` kind only)."""


@dataclass(frozen=True)
class FitReport:
    """What was fitted: the rows it learnt from and how well it separates them."""

    kind: ClassifierKind
    out: str
    texts: int
    attacks: int
    seconds: float
    training_accuracy: float
    setting: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields."""
        return {
            "kind": self.kind,
            "out": self.out,
            "texts": self.texts,
            "attacks": self.attacks,
            "seconds": round(self.seconds, 1),
            "training_accuracy": round(self.training_accuracy, 4),
            "setting": self.setting,
        }


def fit_injection_classifier(
    request: FitRequest, embedder: Embedder, progress: Progress | None = None
) -> FitReport:
    """Fit the classifier `request` asks for; `embedder` is the one the detector will use
    (the logistic kind reads its vectors; the encoder kind fine-tunes the bundled model)."""
    if request.kind not in CLASSIFIER_KINDS:
        raise BadInputError(f"unknown classifier kind {request.kind!r}; use encoder or logistic")
    rows = load_exemplars_file(request.data)
    texts, labels = [row.text for row in rows], [row.label for row in rows]
    out = request.out.expanduser()
    started = time.perf_counter()
    scorer: InjectionScorer
    if request.kind == "encoder":
        head = fit_encoder(texts, labels, out, recipe=request.recipe, progress=progress)
        scorer = EncoderScorer(head)
    else:
        weights = fit_classifier(texts, labels, embedder, l2=request.l2)
        _write_whole(out, lambda path: save_classifier(weights, path))
        scorer = LogisticScorer(CachingEmbedder(embedder), weights)
    seconds = time.perf_counter() - started
    predicted = [score >= 0.5 for score in scorer.score(texts)]
    correct = sum(int(p) == label for p, label in zip(predicted, labels, strict=True))
    return FitReport(
        request.kind,
        str(out),
        len(texts),
        sum(labels),
        seconds,
        correct / len(texts),
        f"classifier: {out}",
    )


def _write_whole(path: Path, write: Callable[[Path], None]) -> None:
    """Write a file beside `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    try:
        write(Path(staging))
        os.replace(staging, path)
    finally:
        if os.path.exists(staging):
            os.unlink(staging)
