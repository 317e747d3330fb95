"""The offline PII detector on Presidio's synthetic PII set: precision, recall, F2, speed.

    .venv/bin/python bench/guardrails_pii.py [--repeats 7]

Reads `../shared/data/pii_presidio/synth_dataset_v2.json` (presidio-research, MIT; 1,500
template texts, 17 entity types) next to the repository; it is never copied. Each steerwise
type is mapped to Presidio's name; a predicted span is a true positive when it has the same
type and a character-level IoU >= 0.9 with a not yet matched gold span (the presidio-research
notebooks use span IoU >= 0.9 and F-beta with beta = 2). Findings of types with no Presidio
counterpart (SECRET) are left out. Figures are given per covered type, micro-averaged over the
covered types, and micro-averaged over all 17 gold types (uncovered gold spans count as
misses), which is the figure comparable to Presidio's published F2: 0.618 default, 0.845 tuned.
Also times `detect()` on a 1 kB English text holding a few PII items.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steerwise.core.guardrails import CheckContext
from steerwise.guardrails.detectors.base import DetectorServices
from steerwise.guardrails.detectors.pii import PiiDetector
from timing import per_call

DATA = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "pii_presidio"
    / "synth_dataset_v2.json"
)
RESULTS = Path(__file__).resolve().parent / "results" / "guardrails_pii.json"
TO_PRESIDIO = {
    "EMAIL": "EMAIL_ADDRESS",
    "PHONE": "PHONE_NUMBER",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN": "IBAN_CODE",
    "SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
}
PUBLISHED_F2 = {"Presidio default": 0.618, "Presidio tuned": 0.845}
MIN_IOU = 0.9
TIMING_TEXT = (
    "Hello support team, I am writing about my account. Last week I moved from Boston to "
    "Berlin and my details changed. Please update my email to maria.gonzalez@example.org and "
    "my phone number to +49 30 12345678. The old number (617) 555-0148 no longer works. "
    "Refunds should go to my new bank account, IBAN DE89 3704 0044 0532 0130 00, not to the "
    "card ending in 1111. I also noticed a login from 203.0.113.42 that was not me, around "
    "midnight on Tuesday, so I changed my password right away. Could you check whether "
    "anything else was accessed? I have been a customer for over ten years and have never had "
    "a problem like this before. The app version on my phone is 4.12.3 and I use the web site "
    "on a laptop as well. My order number from March was 100200300, if that helps you find "
    "the account. Please reply by email rather than by phone, since I travel a lot for work "
    "and rarely pick up calls from unknown numbers. Thank you for your help, kind regards, "
    "Maria Gonzalez."
)
Span = tuple[str, int, int]


@dataclass
class Tally:
    """True positives, false positives and false negatives of one type."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Tally) -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn

    def figures(self) -> dict[str, float | int]:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f2 = 5 * precision * recall / (4 * precision + recall) if precision + recall else 0.0
        return {
            "precision": precision,
            "recall": recall,
            "f2": f2,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


def load() -> list[dict[str, Any]]:
    """The labelled texts, or exit 0 with a message when the shared data is absent."""
    if not DATA.is_file():
        print(f"Presidio PII data not found at {DATA}; skipping (needs ../shared/data).")
        sys.exit(0)
    rows: list[dict[str, Any]] = json.loads(DATA.read_text(encoding="utf-8"))
    return rows


def iou(first: Span, second: Span) -> float:
    """Character-level intersection over union of two spans."""
    overlap = min(first[2], second[2]) - max(first[1], second[1])
    union = max(first[2], second[2]) - min(first[1], second[1])
    return max(overlap, 0) / union if union else 0.0


def score_text(gold: list[Span], predicted: list[Span], tallies: dict[str, Tally]) -> None:
    """Add one text's matches to the per-type tallies (each gold span matches at most once)."""
    unmatched = list(gold)
    for span in predicted:
        best = max(
            (g for g in unmatched if g[0] == span[0]), key=lambda g: iou(g, span), default=None
        )
        if best is not None and iou(best, span) >= MIN_IOU:
            unmatched.remove(best)
            tallies[span[0]].tp += 1
        else:
            tallies[span[0]].fp += 1
    for span in unmatched:
        tallies[span[0]].fn += 1


def evaluate(rows: list[dict[str, Any]], detector: PiiDetector) -> dict[str, Tally]:
    """Per-Presidio-type tallies over the whole set."""
    tallies: dict[str, Tally] = {}
    for row in rows:
        gold = [(s["entity_type"], s["start_position"], s["end_position"]) for s in row["spans"]]
        predicted = [
            (TO_PRESIDIO[f.type], f.start or 0, f.end or 0)
            for f in detector.detect(row["full_text"], CheckContext())
            if f.type in TO_PRESIDIO
        ]
        for kind, _, _ in gold + predicted:
            tallies.setdefault(kind, Tally())
        score_text(gold, predicted, tallies)
    return tallies


def summarise(tallies: dict[str, Tally]) -> dict[str, Any]:
    """Per covered type, micro over covered types, micro over all gold types."""
    covered, everything = Tally(), Tally()
    for kind, tally in tallies.items():
        everything.add(tally)
        if kind in TO_PRESIDIO.values():
            covered.add(tally)
    uncovered = {k: t.fn for k, t in tallies.items() if k not in TO_PRESIDIO.values()}
    return {
        "per_type": {k: tallies.get(k, Tally()).figures() for k in TO_PRESIDIO.values()},
        "micro_covered": covered.figures(),
        "micro_all_types": everything.figures(),
        "uncovered_gold_spans": dict(sorted(uncovered.items(), key=lambda kv: -kv[1])),
    }


def time_detect(detector: PiiDetector, repeats: int) -> dict[str, Any]:
    """Microseconds per `detect()` on the 1 kB text: median over repeats of 200-call means."""
    found = detector.detect(TIMING_TEXT, CheckContext())
    seconds = per_call(lambda _: detector.detect(TIMING_TEXT, CheckContext()), 200, repeats)
    other_types = [kind for kind in detector.settings.types if kind != "PHONE"]
    no_phone = PiiDetector(PiiDetector.Settings(types=other_types), DetectorServices())
    without = per_call(lambda _: no_phone.detect(TIMING_TEXT, CheckContext()), 200, repeats)
    return {
        "text_chars": len(TIMING_TEXT),
        "findings": dict(Counter(f.type for f in found)),
        "us_per_detect": seconds * 1e6,
        "us_per_detect_without_phone": without * 1e6,
    }


def print_report(summary: dict[str, Any], timing: dict[str, Any], texts: int) -> None:
    print(f"{texts} texts; match = same type and character IoU >= {MIN_IOU}; F-beta, beta = 2")
    print("\n| type (Presidio) | precision | recall | F2 | TP | FP | FN |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = {**summary["per_type"], "micro, covered types": summary["micro_covered"]}
    rows["micro, all 17 types"] = summary["micro_all_types"]
    for name, row in rows.items():
        print(
            f"| {name} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f2']:.3f} "
            f"| {row['tp']} | {row['fp']} | {row['fn']} |"
        )
    print("\nPublished, all types: " + ", ".join(f"{k} F2 {v}" for k, v in PUBLISHED_F2.items()))
    missed = ", ".join(f"{k} ({n})" for k, n in summary["uncovered_gold_spans"].items())
    print(f"Not covered (gold spans): {missed}")
    print(
        f"detect() on {timing['text_chars']} chars with {timing['findings']}: "
        f"{timing['us_per_detect']:.0f} µs per call (median); "
        f"{timing['us_per_detect_without_phone']:.0f} µs without PHONE"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rows = load()
    detector = PiiDetector(PiiDetector.Settings(), DetectorServices())
    summary = summarise(evaluate(rows, detector))
    timing = time_detect(detector, args.repeats)
    print_report(summary, timing, len(rows))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "data": "presidio-research synth_dataset_v2.json",
        "texts": len(rows),
        "match": f"same type, character IoU >= {MIN_IOU}",
        "settings": detector.settings.model_dump(),
        **summary,
        "published_f2_all_types": PUBLISHED_F2,
        "timing": timing,
        "machine": platform.platform(),
    }
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
