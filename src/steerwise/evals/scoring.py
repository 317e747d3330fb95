"""Scoring answers: every scorer on one sample, each scorer's summary over a run, and
predictions made elsewhere read from JSONL."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from steerwise.core.errors import BadInputError
from steerwise.core.evals import ItemResult, Sample, Score, ScorerSummary
from steerwise.core.json_input import parse_json
from steerwise.evals.scorers import Scorer


def summarise(scorers: Iterable[str], results: Sequence[ItemResult]) -> list[ScorerSummary]:
    """Each scorer's mean and pass rate over the items it judged, and its error count."""
    summaries = []
    for scorer in scorers:
        found = [result.scores[scorer] for result in results if scorer in result.scores]
        scored = [score for score in found if isinstance(score, Score)]
        mean = sum(s.value for s in scored) / len(scored) if scored else None
        rate = sum(s.passed for s in scored) / len(scored) if scored else None
        summaries.append(ScorerSummary(scorer, mean, rate, len(scored), len(found) - len(scored)))
    return summaries


def read_predictions(path: str | Path) -> dict[str, str]:
    """`{"id", "output"}` per line of a JSONL file; a bad line is named."""
    file = Path(path)
    if not file.is_file():
        raise BadInputError(f"{path}: no such file")
    found: dict[str, str] = {}
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = parse_json(line)
        except json.JSONDecodeError as error:
            raise BadInputError(f"{path}:{number}: not valid JSON: {error.msg}") from None
        if not isinstance(row, dict) or not isinstance(row.get("id"), str):
            raise BadInputError(f"{path}:{number}: each line needs a text 'id'")
        if not isinstance(row.get("output"), str):
            raise BadInputError(f"{path}:{number}: 'output' must be text")
        if row["id"] in found:
            raise BadInputError(f"{path}:{number}: duplicate id {row['id']!r}")
        found[row["id"]] = row["output"]
    return found


def judge_all(judges: Mapping[str, Scorer], sample: Sample) -> dict[str, Score | str]:
    """Every scorer's verdict on `sample`, or the text of the error it raised."""
    verdicts: dict[str, Score | str] = {}
    for name, judge in judges.items():
        try:
            verdicts[name] = judge.score(sample)
        except Exception as failure:  # one scorer failing on one item must not stop the run
            verdicts[name] = f"{type(failure).__name__}: {failure}"
    return verdicts
