"""The `exact_match` and `f1` scorers against the official SQuAD v1.1 evaluation.

    .venv/bin/python bench/eval_squad.py [--data ../shared/data/squad_v11]

Scores the five leaderboard prediction files in `predictions/` on `dev-v1.1.json.gz`
(10,570 questions) with steerwise's scorers, as the official `evaluate-v1.1.py` does (the
maximum over each question's reference answers; an unanswered question scores 0; the means
times 100), and compares each figure with `reference_scores.json`, which the official script
produced. Prints a Markdown table and exits 1 if any figure differs by more than 1e-9.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path
from typing import Any

from steerwise.core.evals import Sample
from steerwise.evals.scorers import build_scorer

TOLERANCE = 1e-9


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "squad_v11"
    parser.add_argument("--data", type=Path, default=default)
    folder = parser.parse_args().data
    questions = _questions(folder / "dev-v1.1.json.gz")
    expected = json.loads((folder / "reference_scores.json").read_text(encoding="utf-8"))
    scorers = {name: build_scorer(name) for name in ("exact_match", "f1")}
    print("| predictions | EM (steerwise) | EM (official) | F1 (steerwise) | F1 (official) | s |")
    print("|---|---:|---:|---:|---:|---:|")
    worst = 0.0
    for path in sorted((folder / "predictions").glob("*.json")):
        predictions = json.loads(path.read_text(encoding="utf-8"))
        started = time.perf_counter()
        figures = {name: _mean(scorer, questions, predictions) for name, scorer in scorers.items()}
        elapsed = time.perf_counter() - started
        official = expected[path.name]
        worst = max(worst, *(abs(figures[name] - official[name]) for name in figures))
        print(
            f"| {path.stem} | {figures['exact_match']:.6f} | {official['exact_match']:.6f}"
            f" | {figures['f1']:.6f} | {official['f1']:.6f} | {elapsed:.1f} |"
        )
    print(f"\nlargest difference: {worst:.2e} over {len(questions)} questions")
    return 0 if worst <= TOLERANCE else 1


def _questions(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """(question id, reference answers) of every question of the dev set."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        articles: list[dict[str, Any]] = json.load(handle)["data"]
    return [
        (qa["id"], tuple(answer["text"] for answer in qa["answers"]))
        for article in articles
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    ]


def _mean(
    scorer: Any, questions: list[tuple[str, tuple[str, ...]]], predictions: dict[str, str]
) -> float:
    total = 0.0
    for question_id, references in questions:
        if question_id in predictions:  # the official script: unanswered questions score 0
            total += scorer.score(Sample(predictions[question_id], references=references)).value
    return 100.0 * total / len(questions)


if __name__ == "__main__":
    sys.exit(main())
