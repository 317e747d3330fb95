"""Claim-check accuracy of the knowledge graph on the labelled set the tests ship.

    .venv/bin/python bench/graph.py

Reads tests/graph/claims_labelled.jsonl (facts, then claims labelled supported, contradicted
or unknown by what the facts alone say), checks every claim, and prints accuracy, the
confusion matrix, per-label precision and recall, and claims checked per second.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from steerwise.core.graph import Fact
from steerwise.graph.checking import check_claims

LABELLED = Path(__file__).resolve().parents[1] / "tests" / "graph" / "claims_labelled.jsonl"
RESULTS = Path(__file__).resolve().parent / "results" / "graph.json"
LABELS = ("supported", "contradicted", "unknown")
REPEATS = 20


def load() -> tuple[list[Fact], list[tuple[str, str]]]:
    """The facts and the (claim, label) pairs of the labelled set."""
    facts, claims = [], []
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["kind"] == "fact":
            facts.append(Fact(row["subject"], row["predicate"], row["object"]))
        else:
            claims.append((row["text"], row["label"]))
    return facts, claims


def predict(text: str, facts: list[Fact]) -> str:
    """The label of a one-claim text: contradicted wins, then supported."""
    labels = {verdict.label for verdict in check_claims(text, facts)}
    return next((label for label in ("contradicted", "supported") if label in labels), "unknown")


def main() -> None:
    facts, claims = load()
    pairs = Counter((gold, predict(text, facts)) for text, gold in claims)
    correct = sum(count for (gold, said), count in pairs.items() if gold == said)
    started = time.perf_counter()
    for _ in range(REPEATS):
        for text, _gold in claims:
            check_claims(text, facts)
    per_second = REPEATS * len(claims) / (time.perf_counter() - started)
    print(f"{len(facts)} facts, {len(claims)} claims; accuracy {correct / len(claims):.3f}")
    print("| gold \\ checker | " + " | ".join(LABELS) + " |")
    print("|---|" + "---:|" * len(LABELS))
    for gold in LABELS:
        print(f"| {gold} | " + " | ".join(str(pairs[(gold, said)]) for said in LABELS) + " |")
    for label in LABELS:
        said = sum(pairs[(gold, label)] for gold in LABELS)
        truth = sum(pairs[(label, other)] for other in LABELS)
        precision = pairs[(label, label)] / said if said else 0.0
        recall = pairs[(label, label)] / truth if truth else 0.0
        print(f"{label}: precision {precision:.3f}, recall {recall:.3f}")
    print(f"{per_second:,.0f} claims checked per second")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    matrix = {f"{gold}->{said}": count for (gold, said), count in sorted(pairs.items())}
    RESULTS.write_text(
        json.dumps({"accuracy": correct / len(claims), "matrix": matrix, "per_second": per_second})
        + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
