"""Topic and grounding rails on the project's labelled sets, per language and per setting.

    .venv/bin/python bench/guardrails_quality.py [--skip-nli] [--only-topics]

Data (written for steerwise, in English, German, French and Spanish):

- `tests/guardrails/data/topics_multilingual.jsonl`: a header with four denied topics of a
  bike shop's assistant (keywords in the four languages, English example sentences), then
  160 customer messages labelled with their topic or "none" (hard negatives included).
  A message counts as flagged when any `denied_topic` finding is made; it is correct when
  the first finding names its topic.
- `tests/guardrails/data/grounding_multilingual.jsonl`: 120 (passages, answer sentence)
  pairs labelled supported, unsupported or contradicted, with the kind of each (verbatim,
  paraphrase, summary; extra_fact, wrong_number, off_context; negation, antonym). The
  positive class is "not supported": a finding on the sentence.

Settings compared: topics by keyword alone and with embedding similarity to the examples (at
the default threshold, and at lower ones to show the trade-off);
grounding by word overlap alone, with embeddings (the default), and with the bundled local
model as NLI judge (`nli_model: local:smollm2-135m`). Nothing is tuned on these sets.
Results go to `bench/results/guardrails_quality.json`.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from steerwise.core.guardrails import CheckContext, ContextDocument, Finding
from steerwise.guardrails.detectors.base import DetectorServices
from steerwise.guardrails.detectors.grounding import GroundingDetector, GroundingSettings
from steerwise.guardrails.detectors.topics import TopicDetector, TopicSettings

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "guardrails" / "data"
RESULTS = ROOT / "bench" / "results" / "guardrails_quality.json"
LANGUAGES = ("en", "de", "fr", "es")
SWEEP = (0.5, 0.45, 0.4)
"""Other similarity thresholds for topics, reported to show the trade-off (not tuned)."""
Row = dict[str, Any]


def read_jsonl(path: Path) -> list[Row]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def binary(predicted: Sequence[bool], actual: Sequence[bool]) -> Row:
    """Precision, recall, F1, false-positive rate and accuracy of flagged-or-not."""
    pairs = list(zip(predicted, actual, strict=True))
    tp = sum(p and a for p, a in pairs)
    fp = sum(p and not a for p, a in pairs)
    fn = sum(a and not p for p, a in pairs)
    tn = len(pairs) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "fpr": fp / (fp + tn) if fp + tn else 0.0,
        "accuracy": (tp + tn) / len(pairs),
        "n": len(pairs),
    }


def check_metrics() -> None:
    """The metrics on a toy case worked out by hand."""
    found = binary([True, True, False, False], [True, False, True, False])
    assert (found["precision"], found["recall"], found["fpr"]) == (0.5, 0.5, 0.5)


def per_language(rows: Sequence[Row], flagged: Sequence[bool], actual: Sequence[bool]) -> Row:
    """The binary metrics overall and per language."""
    found = {"all": binary(flagged, actual)}
    for lang in LANGUAGES:
        index = [i for i, row in enumerate(rows) if row["lang"] == lang]
        found[lang] = binary([flagged[i] for i in index], [actual[i] for i in index])
    return found


# ---- topics -------------------------------------------------------------------------------


def topic_figures(services: DetectorServices, use_embeddings: bool, threshold: float) -> Row:
    header, *rows = read_jsonl(DATA / "topics_multilingual.jsonl")
    settings = TopicSettings(
        deny=header["deny"], use_embeddings=use_embeddings, threshold=threshold
    )
    detector = TopicDetector(settings, services)
    started = time.perf_counter()
    findings = [detector.detect(row["text"], CheckContext()) for row in rows]
    elapsed = time.perf_counter() - started
    flagged = [bool(found) for found in findings]
    actual = [row["label"] != "none" for row in rows]
    named = [_topic_of(found) == row["label"] for found, row in zip(findings, rows, strict=True)]
    topical = [i for i, is_topic in enumerate(actual) if is_topic]
    return {
        **per_language(rows, flagged, actual),
        "right_topic_when_flagged": sum(named[i] for i in topical if flagged[i])
        / max(1, sum(flagged[i] for i in topical)),
        "ms_per_text": elapsed * 1000 / len(rows),
    }


def _topic_of(found: Sequence[Finding]) -> str:
    """The topic the first finding names ("denied topic 'NAME' (...)")."""
    return found[0].reason.split("'")[1] if found else "none"


# ---- grounding ----------------------------------------------------------------------------


def grounding_figures(services: DetectorServices, settings: GroundingSettings) -> Row:
    rows = read_jsonl(DATA / "grounding_multilingual.jsonl")
    detector = GroundingDetector(settings, services)
    started = time.perf_counter()
    flagged = [bool(detector.detect(row["sentence"], _context(row))) for row in rows]
    elapsed = time.perf_counter() - started
    actual = [row["label"] != "supported" for row in rows]
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for row, hit in zip(rows, flagged, strict=True):
        by_kind[row["kind"]].append(hit)
    return {
        **per_language(rows, flagged, actual),
        "flagged_share_by_kind": {k: sum(v) / len(v) for k, v in sorted(by_kind.items())},
        "ms_per_sentence": elapsed * 1000 / len(rows),
    }


def _context(row: Row) -> CheckContext:
    return CheckContext(
        tuple(ContextDocument(f"p{i}", text) for i, text in enumerate(row["passages"], 1))
    )


# ---- report -------------------------------------------------------------------------------


def print_table(title: str, found: dict[str, Row]) -> None:
    print(f"\n{title}")
    print(f"{'setting':<26} {'P':>6} {'R':>6} {'F1':>6} {'FPR':>6}  " + "  ".join(LANGUAGES))
    for name, figures in found.items():
        every = figures["all"]
        langs = "  ".join(f"{figures[lang]['f1']:.2f}" for lang in LANGUAGES)
        print(
            f"{name:<26} {every['precision']:6.3f} {every['recall']:6.3f} {every['f1']:6.3f}"
            f" {every['fpr']:6.3f}  {langs}   (F1 per language)"
        )


def run(skip_nli: bool, only_topics: bool) -> dict[str, Any]:
    services = DetectorServices()
    default = TopicSettings.model_fields["threshold"].default
    topics = {"keywords only": topic_figures(services, False, default)}
    for threshold in (default, *SWEEP):
        name = "keywords + examples" + (f" @ {threshold}" if threshold != default else "")
        topics[name] = topic_figures(services, True, threshold)
    if only_topics:
        return {"topics": topics, "grounding": {}}
    grounding_settings: dict[str, GroundingSettings] = {
        "word overlap only": GroundingSettings(use_embeddings=False),
        "overlap + embeddings": GroundingSettings(),
    }
    if not skip_nli:
        grounding_settings["NLI by local SmolLM2"] = GroundingSettings(
            nli_model="local:smollm2-135m"
        )
    grounding = {}
    for name, settings in grounding_settings.items():
        print(f"grounding: {name}", file=sys.stderr)
        grounding[name] = grounding_figures(services, settings)
    return {"topics": topics, "grounding": grounding}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-nli", action="store_true", help="leave out the NLI run (slow)")
    parser.add_argument("--only-topics", action="store_true", help="the topic rail alone")
    args = parser.parse_args()
    check_metrics()
    found = run(args.skip_nli, args.only_topics)
    print_table("topics (positive: any denied topic)", found["topics"])
    for name, figures in found["topics"].items():
        print(f"  {name}: right topic when flagged {figures['right_topic_when_flagged']:.3f}")
    print_table("grounding (positive: not supported)", found["grounding"])
    for name, figures in found["grounding"].items():
        kinds = ", ".join(f"{k} {v:.2f}" for k, v in figures["flagged_share_by_kind"].items())
        print(f"  {name}: flagged share by kind: {kinds}")
    if args.only_topics:
        return
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    found["machine"] = {"python": platform.python_version(), "platform": platform.platform()}
    RESULTS.write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
