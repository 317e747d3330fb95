"""The scorers the prompt-injection detector combines, and the classifier that may join them.

An `InjectionScorer` takes texts and gives one score in [0, 1] per text. Two ship:

- `SimilarityScorer`: cosine similarity, in the default embedder's space, to known attack and
  benign exemplars (`data/injection_exemplars.jsonl`, plus a user's JSONL). With `a` the mean
  of the k best attack similarities and `b` that of the k best benign ones, the score is
  `sigmoid((a - b - offset) / temperature)`: near 1 when a text is much closer to attacks.
- `LogisticScorer`: a logistic regression over hashed character n-grams and the embedding,
  whose weights `fit_logistic` learns from labelled texts and `save_classifier` writes as
  JSON; it is how a trained classifier joins (or, with the other weights at 0, replaces) the
  shipped scorers. Any other object with the same `score` method can take its place.

Exemplar vectors are computed once per process and embedder; segment vectors are shared by
the scorers of one detector through `CachingEmbedder`, so each text is embedded once.
"""

from __future__ import annotations

import hashlib
import json
import threading
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from steerwise.core.errors import BadInputError
from steerwise.core.json_input import parse_json
from steerwise.guardrails.normalise import normalise
from steerwise.guardrails.segments import sentence_windows
from steerwise.guardrails.vectors import CachingEmbedder
from steerwise.models.interface import Embedder

Vectors = npt.NDArray[np.float32]
CLASSIFIER_KIND = "steerwise.prompt_injection.logistic/1"
_VECTOR_CACHE: OrderedDict[tuple[str, str], Vectors] = OrderedDict()
_VECTOR_CACHE_LOCK = threading.Lock()
_VECTOR_CACHE_SIZE = 8
NGRAM_BUCKETS = 4096
NGRAM_SIZES = (3, 5)
_BIAS_COLUMN = 10.0
TRAINING_WINDOWS = 12


class InjectionScorer(Protocol):
    """Texts in, one injection score in [0, 1] per text out."""

    def score(self, texts: Sequence[str]) -> list[float]:
        """How likely each text is a prompt injection or jailbreak."""
        ...


@dataclass(frozen=True)
class Exemplar:
    """One known attack (label 1) or benign text (label 0)."""

    text: str
    label: int
    category: str = ""
    lang: str = ""


def read_exemplars(lines: Sequence[str], source: str) -> list[Exemplar]:
    """Exemplars from JSONL lines of {"text", "label"[, "category", "lang"]}."""
    found = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = parse_json(line)
            label = int(row["label"])
            text = str(row["text"])
        except (ValueError, KeyError, TypeError) as error:
            raise BadInputError(
                f"{source}, line {number}: not an exemplar ({error})",
                hint='write one JSON object per line: {"text": "...", "label": 0 or 1}',
            ) from None
        if label not in (0, 1):
            raise BadInputError(f"{source}, line {number}: label must be 0 or 1, not {label}")
        found.append(Exemplar(text, label, str(row.get("category", "")), str(row.get("lang", ""))))
    return found


def shipped_exemplars() -> list[Exemplar]:
    """The multilingual attack and benign exemplars that ship with steerwise."""
    data = resources.files("steerwise.guardrails").joinpath("data/injection_exemplars.jsonl")
    return read_exemplars(data.read_text(encoding="utf-8").splitlines(), "shipped exemplars")


def load_exemplars_file(path: Path) -> list[Exemplar]:
    """The labelled texts of a user's JSONL file of {text, label} rows."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise BadInputError(
            f"cannot read the labelled texts in {path}: {reason}",
            hint="give the path of a JSONL file of {text, label} rows",
        ) from None
    return read_exemplars(lines, str(path))


def load_exemplars(extra: Path | None = None) -> list[Exemplar]:
    """The shipped exemplars, plus those of a user's JSONL file."""
    exemplars = shipped_exemplars()
    if extra is not None:
        exemplars.extend(load_exemplars_file(extra))
    return exemplars


def exemplar_vectors(embedder: Embedder, texts: Sequence[str]) -> Vectors:
    """The exemplars' vectors, embedded once per process for each embedder and text set."""
    digest = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()
    key = (embedder.model_id, digest)
    with _VECTOR_CACHE_LOCK:
        cached = _VECTOR_CACHE.get(key)
    if cached is not None:
        return cached
    vectors = embedder.embed(list(texts))
    with _VECTOR_CACHE_LOCK:
        _VECTOR_CACHE[key] = vectors
        while len(_VECTOR_CACHE) > _VECTOR_CACHE_SIZE:
            _VECTOR_CACHE.popitem(last=False)
    return vectors


def _sigmoid(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    result: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-np.clip(values, -60.0, 60.0)))
    return result


def _top_mean(similarity: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.float64]:
    """Mean of each row's k largest values."""
    k = min(k, similarity.shape[1])
    result: npt.NDArray[np.float64] = np.sort(similarity, axis=1)[:, -k:].mean(axis=1)
    return result


class SimilarityScorer:
    """Closeness to attack exemplars against closeness to benign ones (module docstring)."""

    def __init__(
        self,
        embedder: CachingEmbedder,
        exemplars: Sequence[Exemplar],
        *,
        k: int = 3,
        temperature: float = 0.05,
        offset: float = 0.0,
    ) -> None:
        if not any(e.label == 1 for e in exemplars) or not any(e.label == 0 for e in exemplars):
            raise BadInputError("similarity scoring needs attack and benign exemplars")
        self._embedder = embedder
        self._exemplars = list(exemplars)
        self._k, self._temperature, self._offset = k, temperature, offset
        self._labels = np.array([e.label for e in self._exemplars])
        self._vectors: Vectors | None = None

    def _exemplar_vectors(self) -> Vectors:
        if self._vectors is None:
            texts = [normalise(e.text).text for e in self._exemplars]
            self._vectors = exemplar_vectors(self._embedder.inner, texts)
        return self._vectors

    def score(self, texts: Sequence[str]) -> list[float]:
        """sigmoid((a - b - offset) / temperature) per text."""
        if not texts:
            return []
        similarity = self._embedder.embed(texts).astype(np.float64) @ self._exemplar_vectors().T
        attack = _top_mean(similarity[:, self._labels == 1], self._k)
        benign = _top_mean(similarity[:, self._labels == 0], self._k)
        return [float(v) for v in _sigmoid((attack - benign - self._offset) / self._temperature)]

    def nearest_attack(self, text: str) -> Exemplar:
        """The attack exemplar closest to `text` (to say what a text resembles)."""
        similarity = self._embedder.embed([text]).astype(np.float64) @ self._exemplar_vectors().T
        attacks = np.flatnonzero(self._labels == 1)
        return self._exemplars[int(attacks[np.argmax(similarity[0, attacks])])]


@dataclass(frozen=True)
class LogisticWeights:
    """A logistic regression over hashed character n-grams and one embedder's vectors."""

    embedder: str
    weights: tuple[float, ...]
    bias: float
    buckets: int = NGRAM_BUCKETS
    sizes: tuple[int, int] = NGRAM_SIZES


def ngram_features(
    texts: Sequence[str], *, buckets: int = NGRAM_BUCKETS, sizes: tuple[int, int] = NGRAM_SIZES
) -> npt.NDArray[np.float64]:
    """Counts of character n-grams inside words (padded with spaces), hashed, unit rows.

    Language-agnostic lexical evidence that complements the English-centric embedder.
    """
    rows = np.zeros((len(texts), buckets))
    for row, text in enumerate(texts):
        hashes = [
            zlib.crc32(padded[start : start + size].encode("utf-8")) % buckets
            for padded in (f" {word} " for word in text.split())
            for size in range(sizes[0], sizes[1] + 1)
            for start in range(max(1, len(padded) - size + 1))
        ]
        rows[row] = np.bincount(np.asarray(hashes, dtype=np.int64), minlength=buckets)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    result: npt.NDArray[np.float64] = rows / np.maximum(norms, 1e-12)
    return result


def training_rows(texts: Sequence[str], labels: Sequence[int]) -> tuple[list[str], list[int]]:
    """Normalised texts with their labels, plus every sentence window of each benign text as
    another negative: the detector scores windows and must not flag a benign one. (A window of
    an attack may be benign, so attacks are kept whole.)"""
    if len(texts) != len(labels):
        raise BadInputError("fitting needs one label per text")
    if {int(label) for label in labels} != {0, 1}:
        raise BadInputError("fitting needs texts with labels of both kinds (0 and 1)")
    rows: list[str] = []
    targets: list[int] = []
    for text, label in zip(texts, labels, strict=True):
        folded = normalise(text).text
        rows.append(folded)
        targets.append(int(label))
        windows = sentence_windows(folded, TRAINING_WINDOWS) if int(label) == 0 else []
        if len(windows) > 1:
            rows += [folded[start:end] for start, end in windows]
            targets += [0] * len(windows)
    return rows, targets


def classifier_features(
    texts: Sequence[str], embedder: Embedder, *, buckets: int, sizes: tuple[int, int]
) -> npt.NDArray[np.float64]:
    """The classifier's input: n-gram features, then the embedding."""
    vectors = np.asarray(embedder.embed(list(texts)), dtype=np.float64)
    return np.hstack([ngram_features(texts, buckets=buckets, sizes=sizes), vectors])


def _objective(
    kernel: npt.NDArray[np.float64],
    dual: npt.NDArray[np.float64],
    target: npt.NDArray[np.float64],
    l2: float,
) -> float:
    logits = kernel @ dual
    loss = np.logaddexp(0.0, logits) - target * logits
    return float(loss.sum() + 0.5 * l2 * dual @ logits)


def _newton_dual(
    design: npt.NDArray[np.float64], target: npt.NDArray[np.float64], l2: float, iterations: int
) -> npt.NDArray[np.float64]:
    """Weights of an L2-regularised logistic regression, by Newton's method in the dual.

    The weights are `design.T @ dual`, so each step solves an n-by-n system (n samples)
    whatever the number of features. Steps are halved while they do not lower the objective.
    """
    kernel = design @ design.T
    dual = np.zeros(len(design))
    current = _objective(kernel, dual, target, l2)
    for _ in range(iterations):
        predicted = _sigmoid(kernel @ dual)
        curvature = predicted * (1.0 - predicted)
        system = curvature[:, None] * kernel + l2 * np.eye(len(design))
        step = np.linalg.solve(system, predicted - target + l2 * dual)
        for _ in range(20):
            candidate = _objective(kernel, dual - step, target, l2)
            if candidate <= current:
                break
            step = step / 2.0
        dual, change, current = dual - step, current - candidate, candidate
        if change < 1e-10 * max(1.0, abs(current)):
            break
    weights: npt.NDArray[np.float64] = design.T @ dual
    return weights


def fit_logistic(
    texts: Sequence[str],
    labels: Sequence[int],
    embedder: Embedder,
    *,
    l2: float = 0.1,
    buckets: int = NGRAM_BUCKETS,
    sizes: tuple[int, int] = NGRAM_SIZES,
    iterations: int = 30,
) -> LogisticWeights:
    """Fit the injection classifier on labelled texts (1 = attack), normalised as in checks."""
    if len(set(labels)) != 2 or len(texts) != len(labels):
        raise BadInputError("fitting needs texts with labels of both kinds, one label per text")
    folded = [normalise(text).text for text in texts]
    features = classifier_features(folded, embedder, buckets=buckets, sizes=sizes)
    # a large constant column carries the bias, so that the penalty barely shrinks it
    design = np.hstack([features, np.full((len(features), 1), _BIAS_COLUMN)])
    beta = _newton_dual(design, np.asarray(labels, dtype=np.float64), l2, iterations)
    return LogisticWeights(
        embedder.model_id,
        tuple(float(v) for v in beta[:-1]),
        float(beta[-1]) * _BIAS_COLUMN,
        buckets,
        sizes,
    )


def save_classifier(weights: LogisticWeights, path: Path) -> None:
    """Write the weights as JSON, for the detector's `classifier` setting."""
    body = {
        "kind": CLASSIFIER_KIND,
        "embedder": weights.embedder,
        "buckets": weights.buckets,
        "sizes": list(weights.sizes),
        "bias": weights.bias,
        "weights": list(weights.weights),
    }
    path.write_text(json.dumps(body) + "\n", encoding="utf-8")


def load_classifier(path: Path) -> LogisticWeights:
    """Weights written by `save_classifier`."""
    try:
        body = parse_json(path.read_text(encoding="utf-8"))
        if body.get("kind") != CLASSIFIER_KIND:
            raise ValueError(f"kind is {body.get('kind')!r}, not {CLASSIFIER_KIND!r}")
        low, high = (int(size) for size in body["sizes"])
        return LogisticWeights(
            str(body["embedder"]),
            tuple(float(v) for v in body["weights"]),
            float(body["bias"]),
            int(body["buckets"]),
            (low, high),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise BadInputError(
            f"cannot read the classifier {path}: {error}",
            hint="write it with steerwise.guardrails.injection_scoring.save_classifier",
        ) from None


class LogisticScorer:
    """A fitted logistic regression over n-grams and embeddings: sigmoid(w . x + b)."""

    def __init__(self, embedder: CachingEmbedder, weights: LogisticWeights) -> None:
        if weights.embedder != embedder.model_id:
            raise BadInputError(
                f"the classifier was fitted on {weights.embedder}, not {embedder.model_id}",
                hint="fit it again with the embedder the detector uses",
            )
        self._embedder = embedder
        self._spec = weights
        self._weights = np.asarray(weights.weights, dtype=np.float64)

    def score(self, texts: Sequence[str]) -> list[float]:
        """The regression's probability of injection per text."""
        if not texts:
            return []
        spec = self._spec
        features = classifier_features(
            texts, self._embedder, buckets=spec.buckets, sizes=spec.sizes
        )
        if features.shape[1] != len(self._weights):
            raise BadInputError(
                f"the classifier has {len(self._weights)} weights for {features.shape[1]}"
                " features; it was fitted with another embedder",
                hint="fit it again with the embedder the detector uses",
            )
        return [float(v) for v in _sigmoid(features @ self._weights + spec.bias)]


def combine(scores: Sequence[float], weights: Sequence[float]) -> float:
    """Noisy-OR: 1 - prod(1 - w_i * s_i); each weighted score is independent evidence."""
    remaining = 1.0
    for score, weight in zip(scores, weights, strict=True):
        remaining *= 1.0 - weight * min(max(score, 0.0), 1.0)
    return 1.0 - remaining
