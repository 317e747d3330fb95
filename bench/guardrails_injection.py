"""Prompt injection: the `prompt_injection` detector on deepset/prompt-injections and our set.

    .venv/bin/python bench/guardrails_injection.py [--repeats 30]

1. Shipped defaults (no deepset data in them): patterns only, similarity to the shipped
   exemplars only, and both combined, on `test.jsonl`. The combined row uses the shipped
   settings exactly; each single-component row uses the threshold that is best on train.
2. Fitted on `train.jsonl` only, every choice by 5-fold cross-validation on train (never on
   test), thresholds at the best balanced accuracy of the out-of-fold scores: (a) the train
   rows as extra exemplars (the `exemplars` setting); (b) a classifier (`fit_classifier`:
   logistic regression over hashed character n-grams and MiniLM vectors, `classifier`
   setting, fitted by `fit_classifier`) alone, and joined with patterns and similarity.
   The chosen classifiers are fitted on all of train, written to `bench/results/`, and
   scored on test. (c) The encoder fine-tuned end to end (`fit_encoder`, its default recipe,
   not tuned): threshold and joining weight from five out-of-fold fine-tunes on train, then
   one fine-tune on all of train (about 10 minutes on 2 cores; `--no-encoder` skips it).
3. Accuracy per language on the project's labelled set (`tests/guardrails/data/`).
4. Microseconds per check of a 1 kB input (median over repeats; each repeat a new text).

The data is read from `../shared/data/prompt_injections/` next to the repository; it is
never copied. Reference: logistic regression 0.966 test accuracy (deepset's model card).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from steerwise.core.guardrails import CheckContext
from steerwise.guardrails.detectors.base import DetectorServices
from steerwise.guardrails.detectors.injection import (
    DEFAULT_THRESHOLD,
    Evidence,
    InjectionDetector,
    InjectionSettings,
    fit_classifier,
)
from steerwise.guardrails.injection_encoder import fit_encoder
from steerwise.guardrails.injection_scoring import combine, save_classifier
from steerwise.guardrails.vectors import CachingEmbedder
from steerwise.models import Embedder

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "prompt_injections"
PROJECT_SET = ROOT / "tests" / "guardrails" / "data" / "injection_multilingual.jsonl"
RESULTS = ROOT / "bench" / "results"
REFERENCE = {"logistic regression": 0.966, "fine-tuned deberta-v3-base": 0.991}
FOLDS = 5
L2_GRID = (0.03, 0.1, 0.3)
SIZES_GRID = ((3, 5), (2, 5))
WEIGHT_GRID = (0.0, 0.5, 1.0)
THRESHOLDS = [round(t, 2) for t in np.arange(0.05, 0.96, 0.01)]
KILOBYTE_TEXT = (
    "Hello, I ordered a pair of hiking boots three weeks ago and the parcel still has not"
    " arrived. The tracking page says it left the warehouse on the fourth, but nothing has"
    " changed since then. Could you check with the courier what happened? If the boots are"
    " lost, I would prefer a replacement in the same size rather than a refund, because I"
    " need them for a trip at the end of the month. My order number is on the invoice I"
    " attached to my first message. I also noticed that I was charged twice for shipping;"
    " please look into that as well and refund the second charge to the same card. By the"
    " way, your new website is much easier to use than the old one, and the size guide was"
    " helpful. Last question: do you sell waterproofing spray for leather, and can it be"
    " added to the replacement parcel? Thank you for your help, and have a good day. Best"
    " regards from a loyal customer who has shopped with you for years."
)

Row = dict[str, Any]


@dataclass(frozen=True)
class Rows:
    """Texts and labels (1 = injection) of one split."""

    texts: list[str]
    labels: npt.NDArray[np.int64]


class MemoEmbedder:
    """Embeds each distinct text once for the whole run, so that settings can be compared."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner
        self._vectors: dict[str, npt.NDArray[np.float32]] = {}

    @property
    def model_id(self) -> str:
        return self._inner.model_id

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        missing = sorted({t for t in texts if t not in self._vectors}, key=len)
        if missing:
            for text, vector in zip(missing, self._inner.embed(missing), strict=True):
                self._vectors[text] = vector
        return np.stack([self._vectors[text] for text in texts])


def read_rows(path: Path) -> list[Row]:
    """JSON objects, one a line."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def as_rows(rows: Sequence[Row]) -> Rows:
    return Rows([str(r["text"]) for r in rows], np.array([int(r["label"]) for r in rows]))


def note(message: str) -> None:
    """Progress on stderr, with the load average."""
    print(f"[{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.2f}] {message}", file=sys.stderr)


# ---- metrics ------------------------------------------------------------------------------


def rates(scores: Sequence[float], labels: npt.NDArray[np.int64], threshold: float) -> Row:
    """Accuracy, true- and false-positive rates at `threshold`."""
    flagged = np.asarray(scores) >= threshold
    attacks = labels == 1
    return {
        "threshold": threshold,
        "accuracy": float((flagged == attacks).mean()),
        "tpr": float(flagged[attacks].mean()) if attacks.any() else float("nan"),
        "fpr": float(flagged[~attacks].mean()) if (~attacks).any() else float("nan"),
        "n": len(labels),
    }


def balanced_accuracy(row: Row) -> float:
    """Mean of TPR and TNR: unlike accuracy, it does not depend on the share of attacks."""
    return (row["tpr"] + 1.0 - row["fpr"]) / 2.0


def best_threshold(scores: Sequence[float], labels: npt.NDArray[np.int64]) -> float:
    """The grid threshold with the best balanced accuracy on train (the middle one of ties).

    Balanced, because train has 37% attacks and a deployment has its own share.
    """
    found = [balanced_accuracy(rates(scores, labels, t)) for t in THRESHOLDS]
    ties = [t for t, value in zip(THRESHOLDS, found, strict=True) if value == max(found)]
    return ties[len(ties) // 2]


def check_metrics() -> None:
    """The metrics on a toy example worked out by hand."""
    found = rates([0.9, 0.2, 0.7, 0.1], np.array([1, 1, 0, 0]), 0.5)
    assert (found["accuracy"], found["tpr"], found["fpr"]) == (0.5, 0.5, 0.5)
    assert abs(combine([0.5, 0.5], [1.0, 1.0]) - 0.75) < 1e-12


# ---- detectors ----------------------------------------------------------------------------


def make_detector(services: DetectorServices, **settings: Any) -> InjectionDetector:
    return InjectionDetector(InjectionSettings(**settings), services)


def weighted(evidence: Sequence[Evidence], weights: dict[str, float]) -> list[float]:
    """Combined scores of precomputed evidence under other component weights."""
    return [
        combine([e.scores.get(n, 0.0) for n in weights], list(weights.values())) for e in evidence
    ]


def write_jsonl(rows: Sequence[Row], path: Path) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def folds_of(count: int) -> npt.NDArray[np.int64]:
    """A fixed assignment of train rows to folds."""
    return np.random.default_rng(0).permutation(count) % FOLDS


def cross_validated(
    train: Rows, work: Path, make: Callable[[Rows, Path], InjectionDetector]
) -> list[Evidence]:
    """Out-of-fold evidence: each fold scored by a detector built from the other folds."""
    folds = folds_of(len(train.texts))
    found: list[Evidence | None] = [None] * len(train.texts)
    for fold in range(FOLDS):
        fit = [i for i in range(len(train.texts)) if folds[i] != fold]
        held = [i for i in range(len(train.texts)) if folds[i] == fold]
        part = Rows([train.texts[i] for i in fit], train.labels[fit])
        detector = make(part, work / f"fold{fold}")
        scored = detector.evidence([train.texts[i] for i in held])
        for index, evidence in zip(held, scored, strict=True):
            found[index] = evidence
    return [e for e in found if e is not None]


def exemplar_detector(services: DetectorServices) -> Callable[[Rows, Path], InjectionDetector]:
    """Builds a detector whose extra exemplars are the given rows."""

    def make(rows: Rows, stem: Path) -> InjectionDetector:
        table = [{"text": t, "label": int(y)} for t, y in zip(rows.texts, rows.labels, strict=True)]
        path = write_jsonl(table, stem.with_suffix(".exemplars.jsonl"))
        return make_detector(services, exemplars=str(path))

    return make


def classifier_detector(
    services: DetectorServices, embedder: Embedder, l2: float, sizes: tuple[int, int]
) -> Callable[[Rows, Path], InjectionDetector]:
    """Builds a detector with a classifier fitted on the given rows."""

    def make(rows: Rows, stem: Path) -> InjectionDetector:
        labels = [int(y) for y in rows.labels]
        weights = fit_classifier(rows.texts, labels, embedder, l2=l2, sizes=sizes)
        path = stem.with_suffix(f".l2-{l2}.n{sizes[0]}-{sizes[1]}.classifier.json")
        save_classifier(weights, path)
        return make_detector(services, classifier=str(path))

    return make


# ---- the runs -----------------------------------------------------------------------------


def default_rows(services: DetectorServices, train: Rows, test: Rows) -> dict[str, Row]:
    """Shipped settings: each component alone (threshold best on train), and combined."""
    detector = make_detector(services)
    on_train, on_test = detector.evidence(train.texts), detector.evidence(test.texts)
    found = {}
    for name, weights in (
        ("patterns only", {"patterns": 1.0}),
        ("similarity only", {"similarity": 1.0}),
    ):
        threshold = best_threshold(weighted(on_train, weights), train.labels)
        found[f"default: {name}"] = rates(weighted(on_test, weights), test.labels, threshold)
    combined_train = [e.combined for e in on_train]
    found["default: combined (shipped settings)"] = {
        **rates([e.combined for e in on_test], test.labels, DEFAULT_THRESHOLD),
        "train_accuracy": rates(combined_train, train.labels, DEFAULT_THRESHOLD)["accuracy"],
        "best_train_threshold": best_threshold(combined_train, train.labels),
    }
    return found


def exemplar_rows(services: DetectorServices, train: Rows, test: Rows, work: Path) -> Row:
    """Train rows as extra exemplars, combined with patterns; threshold by cross-validation."""
    make = exemplar_detector(services)
    threshold = best_threshold(
        [e.combined for e in cross_validated(train, work, make)], train.labels
    )
    detector = make(train, work / "all")
    return rates(detector.scores(test.texts), test.labels, threshold)


def grid_rows(evidence: Sequence[Evidence], labels: npt.NDArray[np.int64], fit: Row) -> list[Row]:
    """One row per similarity weight (and classifier alone): threshold and CV scores."""
    found = []
    options: list[tuple[str, dict[str, float]]] = [("classifier only", {"classifier": 1.0})]
    options += [
        ("joined", {"patterns": 1.0, "similarity": weight, "classifier": 1.0})
        for weight in WEIGHT_GRID
    ]
    for kind, weights in options:
        scores = weighted(evidence, weights)
        threshold = best_threshold(scores, labels)
        result = rates(scores, labels, threshold)
        found.append(
            {
                **fit,
                "kind": kind,
                "similarity_weight": weights.get("similarity", 0.0),
                "threshold": threshold,
                "cv_accuracy": result["accuracy"],
                "cv_balanced_accuracy": balanced_accuracy(result),
            }
        )
    return found


def choose_classifier(
    services: DetectorServices, embedder: Embedder, train: Rows, work: Path
) -> list[Row]:
    """Cross-validated scores of every (l2, n-gram sizes, similarity weight) at its threshold."""
    grid = []
    for sizes in SIZES_GRID:
        for l2 in L2_GRID:
            note(f"classifier: cross-validation with l2={l2}, n-grams {sizes}")
            make = classifier_detector(services, embedder, l2, sizes)
            evidence = cross_validated(train, work, make)
            grid += grid_rows(evidence, train.labels, {"l2": l2, "sizes": list(sizes)})
    return grid


def best_of(grid: Sequence[Row], kind: str) -> Row:
    """The row of that kind with the best CV balanced accuracy (then accuracy)."""
    rows = [row for row in grid if row["kind"] == kind]
    return max(rows, key=lambda row: (row["cv_balanced_accuracy"], row["cv_accuracy"]))


def classifier_rows(
    services: DetectorServices, embedder: Embedder, train: Rows, test: Rows, work: Path
) -> dict[str, Row]:
    """The cross-validated choices, fitted on all of train, alone and joined, on test."""
    grid = choose_classifier(services, embedder, train, work)
    found: dict[str, Row] = {}
    RESULTS.mkdir(parents=True, exist_ok=True)
    for kind, name in (("classifier only", "classifier only"), ("joined", "joined")):
        chosen = best_of(grid, kind)
        labels = [int(y) for y in train.labels]
        sizes = (chosen["sizes"][0], chosen["sizes"][1])
        weights = fit_classifier(train.texts, labels, embedder, l2=chosen["l2"], sizes=sizes)
        path = RESULTS / f"injection_classifier{'' if kind == 'joined' else '_alone'}.json"
        save_classifier(weights, path)
        settings = {
            "classifier": str(path.relative_to(ROOT)),
            "threshold": chosen["threshold"],
            "similarity_weight": chosen["similarity_weight"],
            "pattern_weight": 1.0 if kind == "joined" else 0.0,
        }
        detector = make_detector(services, **{**settings, "classifier": str(path)})
        found[f"fitted: {name}"] = {
            **rates(detector.scores(test.texts), test.labels, chosen["threshold"]),
            "settings": settings,
            "fit": {"l2": chosen["l2"], "sizes": chosen["sizes"]},
            "cv_accuracy": chosen["cv_accuracy"],
            "cv_balanced_accuracy": chosen["cv_balanced_accuracy"],
        }
    found["_grid"] = {"rows": grid}
    return found


def encoder_detector(services: DetectorServices) -> Callable[[Rows, Path], InjectionDetector]:
    """Builds a detector with the encoder fine-tuned on the given rows (default recipe)."""

    def make(rows: Rows, stem: Path) -> InjectionDetector:
        folder = stem.with_suffix(".encoder")
        note(f"fine-tuning the encoder on {len(rows.texts)} rows -> {folder.name}")
        fit_encoder(rows.texts, [int(y) for y in rows.labels], folder)
        return make_detector(services, classifier=str(folder))

    return make


def encoder_rows(services: DetectorServices, train: Rows, test: Rows, work: Path) -> dict[str, Row]:
    """The fine-tuned encoder, alone and joined: the threshold and the similarity weight chosen
    on out-of-fold scores of train (five fine-tunes), then one fine-tune on all of train
    scored once on test. The recipe is the default one (`EncoderRecipe`), not tuned."""
    make = encoder_detector(services)
    grid = grid_rows(cross_validated(train, work, make), train.labels, {"recipe": "default"})
    RESULTS.mkdir(parents=True, exist_ok=True)
    folder = RESULTS / "injection.encoder"
    make(train, RESULTS / "injection")
    found: dict[str, Row] = {}
    for kind, name in (("classifier only", "encoder alone"), ("joined", "encoder + patterns")):
        chosen = best_of(grid, kind)
        settings = {
            "threshold": chosen["threshold"],
            "similarity_weight": chosen["similarity_weight"],
            "pattern_weight": 1.0 if kind == "joined" else 0.0,
        }
        settings["classifier"] = str(folder)
        detector = make_detector(services, **settings)
        found[f"fitted: fine-tuned {name}"] = {
            **rates(detector.scores(test.texts), test.labels, chosen["threshold"]),
            "settings": settings,
            "cv_accuracy": chosen["cv_accuracy"],
            "cv_balanced_accuracy": chosen["cv_balanced_accuracy"],
        }
    found["_encoder_grid"] = {"rows": grid}
    return found


def per_language(detector: InjectionDetector, rows: Sequence[Row]) -> dict[str, Row]:
    """Accuracy, TPR and FPR per language of the project's set, at the detector's threshold."""
    found = {}
    for lang in sorted({r["lang"] for r in rows}):
        part = as_rows([r for r in rows if r["lang"] == lang])
        found[lang] = rates(detector.scores(part.texts), part.labels, detector.settings.threshold)
    return found


def microseconds(detector: InjectionDetector, repeats: int) -> float:
    """Median µs of `detect` on a 1 kB text made new each time (no cached vectors)."""
    context = CheckContext()
    detector.detect(KILOBYTE_TEXT, context)
    seconds = []
    for repeat in range(repeats):
        text = KILOBYTE_TEXT.replace(". ", f" ({repeat}). ")
        start = time.perf_counter()
        detector.detect(text, context)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds) * 1e6


def embedding_microseconds(real: Embedder, detector: InjectionDetector, repeats: int) -> float:
    """Median µs of the embedder alone on the segments a 1 kB check embeds (for scale)."""
    seconds = []
    for repeat in range(repeats):
        text = KILOBYTE_TEXT.replace(". ", f" ({repeat}). ")
        pieces = [piece.text for piece in detector.analyse(text).segments]
        start = time.perf_counter()
        real.embed(pieces)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds) * 1e6


def timings(real: Embedder, classifier: str, repeats: int) -> dict[str, float]:
    """µs per 1 kB check: patterns only, shipped defaults, with the fitted classifier.

    Each detector gets services of its own, so no check finds another's vectors in the cache;
    the embedder alone is timed on the uncached model.
    """
    model = real.inner if isinstance(real, CachingEmbedder) else real

    def fresh(**settings: Any) -> InjectionDetector:
        return make_detector(DetectorServices(lambda: model), **settings)

    default = fresh()
    return {
        "patterns only": microseconds(fresh(use_embeddings=False), repeats),
        "default": microseconds(default, repeats),
        "fitted classifier": microseconds(fresh(classifier=classifier), repeats),
        "embedder alone, same segments": embedding_microseconds(model, default, repeats),
    }


# ---- report -------------------------------------------------------------------------------


def print_table(found: dict[str, Row]) -> None:
    print("\n| deepset test.jsonl (116 rows) | threshold | accuracy | TPR | FPR |")
    print("|---|---:|---:|---:|---:|")
    for name, row in found.items():
        if not name.startswith("_"):
            print(
                f"| {name} | {row['threshold']:.2f} | {row['accuracy']:.3f} | {row['tpr']:.3f}"
                f" | {row['fpr']:.3f} |"
            )
    for name, accuracy in REFERENCE.items():
        print(f"| reference: {name} | | {accuracy:.3f} | | |")


def print_languages(found: dict[str, dict[str, Row]]) -> None:
    print("\n| project set | language | n | accuracy | TPR | FPR |")
    print("|---|---|---:|---:|---:|---:|")
    for setting, languages in found.items():
        for lang, row in languages.items():
            print(
                f"| {setting} | {lang} | {row['n']} | {row['accuracy']:.3f} | {row['tpr']:.3f}"
                f" | {row['fpr']:.3f} |"
            )


def warm(detector: InjectionDetector, texts: Sequence[str]) -> None:
    """Embed every segment of every text in one pass (the memo keeps them)."""
    segments = [piece.text for text in texts for piece in detector.analyse(text).segments]
    detector.scorers()[0][2].score(segments)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed checks per setting")
    parser.add_argument(
        "--no-encoder", action="store_true", help="skip the fine-tuned encoder (six fine-tunes)"
    )
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"deepset/prompt-injections not found at {DATA}; nothing to measure.")
        return
    check_metrics()
    began = time.perf_counter()
    train, test = as_rows(read_rows(DATA / "train.jsonl")), as_rows(read_rows(DATA / "test.jsonl"))
    project = read_rows(PROJECT_SET)
    real = DetectorServices().embedder()
    embedder = MemoEmbedder(real)
    services = DetectorServices(lambda: embedder)
    note("embedding every segment of train, test and the project set")
    warm(make_detector(services), [*train.texts, *test.texts, *(r["text"] for r in project)])
    found = default_rows(services, train, test)
    with tempfile.TemporaryDirectory(prefix="steerwise-injection-") as tmp:
        note("train rows as exemplars: cross-validation")
        found["fitted: train rows as exemplars + patterns"] = exemplar_rows(
            services, train, test, Path(tmp)
        )
        found.update(classifier_rows(services, embedder, train, test, Path(tmp)))
        if not args.no_encoder:
            found.update(encoder_rows(services, train, test, Path(tmp)))
    fitted = dict(found["fitted: joined"]["settings"])
    fitted["classifier"] = str(ROOT / fitted["classifier"])
    languages = {
        "default": per_language(make_detector(services), project),
        "fitted": per_language(make_detector(services, **fitted), project),
    }
    encoder = found.get("fitted: fine-tuned encoder alone", {}).get("settings")
    if encoder:
        languages["fine-tuned encoder"] = per_language(make_detector(services, **encoder), project)
    note("timing 1 kB checks")
    load_timing = os.getloadavg()[0]
    speed = timings(real, fitted["classifier"], args.repeats)
    if encoder:
        speed["fine-tuned encoder alone"] = microseconds(
            make_detector(DetectorServices(lambda: real.inner), **encoder), args.repeats
        )
    print_table(found)
    print_languages(languages)
    print("\n| µs per 1 kB check (median) | " + " | ".join(speed) + " |")
    print("|---|" + "---:|" * len(speed))
    print("| | " + " | ".join(f"{value:,.0f}" for value in speed.values()) + " |")
    print(f"(load average {load_timing:.2f} before timing; compare columns of one run)")
    report = {
        "deepset_test": found,
        "project_set": languages,
        "microseconds_per_1kb_check": speed,
        "load_before_timing": load_timing,
        "reference_accuracy": REFERENCE,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_end": list(os.getloadavg()),
        "wall_s": time.perf_counter() - began,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "guardrails_injection.json").write_text(
        json.dumps(report, indent=2) + "\n", encoding="utf-8"
    )
    print(f"\nwall time: {report['wall_s']:.0f} s")


if __name__ == "__main__":
    main()
