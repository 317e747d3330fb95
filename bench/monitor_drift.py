"""Drift checks: time on 100,000 traces, false alarm rate and power of each test.

    .venv/bin/python bench/monitor_drift.py [--traces 100000] [--trials 400]

1. Time: 100,000 synthetic traces' facts (as `bench/monitor_dashboard.py` writes them) in a
   SQLite store, half in a reference day and half in the current one; `DriftCheck.run` over
   all seven features, median of 3 after a warm-up.
2. False alarms: `--trials` pairs of windows drawn from the same distribution (lognormal
   lengths for the numeric test, outcomes allow/flag/block at 80/12/8% for the categorical
   one), at several sample sizes; the share called drift should be near the nominal 5% where
   the p-value decides (up to 1,000 requests) and near 0 where the distance does.
3. Power: the same with a known shift (the lognormal's location up by 0.1, about +10% in
   length; the block share from 8% to 14%): the share called drift.
4. Embeddings (`--embedding-trials`, skipped without `../shared/data/squad_v11`): the SQuAD
   v1.1 dev questions, embedded once with the default embedder. False alarms: two windows of
   300 questions drawn from all 48 articles; power: a reference from the first 24 articles
   and a current window in which 30% of the questions come from the other 24 (a new topic).
   The share called drift by the domain classifier (ROC AUC >= 0.55) and by topic shift, and
   the seconds of one embedding comparison (600 questions embedded, classifier, topics).
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from monitor_dashboard import END, synthetic_facts
from steerwise.models.embeddings import build_embedder
from steerwise.monitor.drift import DriftCheck, DriftSettings, categorical_drift, numeric_drift
from steerwise.monitor.embedding_drift import domain_classifier_drift, topic_shift
from steerwise.monitor.sums import store_facts
from steerwise.store import open_store
from timing import save_results

RESULTS = Path(__file__).resolve().parent / "results" / "monitor_drift.json"
SIZES = (100, 500, 1000, 5000)
OUTCOMES = np.array(["allow", "flag", "block"])


def check_time(total: int) -> dict[str, Any]:
    """Seconds of one drift check over `total` traces (half reference, half current)."""
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{Path(folder) / 'drift.db'}")
        try:
            rng = np.random.default_rng(0)
            for start in range(0, total, 10_000):
                with store.write() as tx:
                    store_facts(tx, synthetic_facts(start, 10_000, total, rng))
            check = DriftCheck(store, DriftSettings(max_rows=total))
            # synthetic_facts spreads the traces over the seven days before END
            middle = END - timedelta(days=3.5)
            reference = (END - timedelta(days=7), middle)
            current = (middle, END)
            report = check.run("support-bot@production", reference=reference, current=current)
            runs = []
            for _ in range(3):
                began = time.perf_counter()
                check.run("support-bot@production", reference=reference, current=current)
                runs.append(time.perf_counter() - began)
        finally:
            store.close()
    first = report.features[0]
    return {
        "traces": total,
        "reference_n": first.reference_n,
        "current_n": first.current_n,
        "median_s": round(statistics.median(runs), 3),
        "drifted": report.drifted,
    }


def alarm_rates(trials: int, *, shift: bool) -> dict[str, dict[str, float]]:
    """Share of trials called drift per sample size, numeric and categorical."""
    settings = DriftSettings()
    rng = np.random.default_rng(1 if shift else 2)
    found: dict[str, dict[str, float]] = {}
    for size in SIZES:
        numeric = categorical = 0
        for _ in range(trials):
            before = rng.lognormal(4.0, 0.5, size)
            after = rng.lognormal(4.1 if shift else 4.0, 0.5, size)
            numeric += numeric_drift("length", before, after, settings).verdict == "drift"
            shares = [0.80, 0.12, 0.08]
            moved = [0.74, 0.12, 0.14] if shift else shares
            first = list(rng.choice(OUTCOMES, size, p=shares))
            second = list(rng.choice(OUTCOMES, size, p=moved))
            categorical += categorical_drift("outcome", first, second, settings).verdict == "drift"
        test = "p-value" if size <= settings.large_sample else "distance"
        found[str(size)] = {
            "decided_by": test,  # type: ignore[dict-item]
            "numeric": round(numeric / trials, 4),
            "categorical": round(categorical / trials, 4),
        }
    return found


SQUAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "squad_v11" / "dev-v1.1.json.gz"
WINDOW = 300


def squad_questions() -> tuple[list[str], list[int]] | None:
    """The dev questions and the article each belongs to (None without the data)."""
    if not SQUAD.is_file():
        return None
    with gzip.open(SQUAD, "rt", encoding="utf-8") as handle:
        articles = json.load(handle)["data"]
    questions, owners = [], []
    for number, article in enumerate(articles):
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                questions.append(qa["question"])
                owners.append(number)
    return questions, owners


def embedding_rates(trials: int) -> dict[str, Any] | None:
    found = squad_questions()
    if found is None:
        print(f"skipping the embedding figures: {SQUAD} is absent")
        return None
    questions, owners = found
    embedder = build_embedder("default", root=Path("."), named={})
    vectors = embedder.embed(questions)
    first_half = np.array(owners) < 24
    rng = np.random.default_rng(3)
    settings = DriftSettings()
    tallies = {"false_alarm": [0, 0], "power": [0, 0]}
    for _ in range(trials):
        everything = rng.permutation(len(questions))
        same = (everything[:WINDOW], everything[WINDOW : 2 * WINDOW])
        old = rng.permutation(np.flatnonzero(first_half))
        new = rng.permutation(np.flatnonzero(~first_half))
        moved = (old[:WINDOW], np.concatenate([old[WINDOW : WINDOW + 210], new[:90]]))
        for name, (before, after) in (("false_alarm", same), ("power", moved)):
            classifier = domain_classifier_drift(
                "inputs", vectors[before], vectors[after], settings
            )
            topics = topic_shift(vectors[before], vectors[after], settings)
            tallies[name][0] += classifier.verdict == "drift"
            tallies[name][1] += topics.verdict == "drift"
    started = time.perf_counter()
    sample = [questions[i] for i in rng.permutation(len(questions))[: 2 * WINDOW]]
    both = embedder.embed(sample)
    domain_classifier_drift("inputs", both[:WINDOW], both[WINDOW:], settings)
    topic_shift(both[:WINDOW], both[WINDOW:], settings)
    return {
        "questions": len(questions),
        "window": WINDOW,
        "trials": trials,
        "comparison_s": round(time.perf_counter() - started, 3),
        **{
            name: {"domain_classifier": round(c / trials, 4), "topic_shift": round(t / trials, 4)}
            for name, (c, t) in tallies.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--embedding-trials", type=int, default=40)
    args = parser.parse_args()
    found = {
        "check": check_time(args.traces),
        "false_alarm_rate": alarm_rates(args.trials, shift=False),
        "power": alarm_rates(args.trials, shift=True),
        "embeddings": embedding_rates(args.embedding_trials),
        "trials": args.trials,
    }
    save_results(RESULTS, found)


if __name__ == "__main__":
    main()
