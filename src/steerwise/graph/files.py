"""Fact files: CSV and JSONL triples to import, and the JSONL artifact of a graph version."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from steerwise.core.errors import BadInputError
from steerwise.core.graph import Fact, Provenance
from steerwise.core.json_input import parse_json

REQUIRED = ("subject", "predicate", "object")


def read_fact_file(path: Path) -> list[Fact]:
    """Facts from `subject,predicate,object[,confidence]` CSV (with a header) or JSONL."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BadInputError(f"{path}: cannot read: {error}") from None
    if path.suffix.lower() == ".csv":
        rows = list(enumerate(csv.DictReader(io.StringIO(text)), start=2))
    elif path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = _json_lines(path, text)
    else:
        raise BadInputError(f"{path}: unsupported fact file", hint="use .csv or .jsonl")
    return [_fact(path, line, row) for line, row in rows]


def _json_lines(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = parse_json(raw)
        except json.JSONDecodeError as error:
            raise BadInputError(f"{path}:{line}: malformed JSON: {error.msg}") from None
        if not isinstance(value, dict):
            raise BadInputError(
                f"{path}:{line}: expected an object with subject, predicate, object"
            )
        rows.append((line, value))
    return rows


def _fact(path: Path, line: int, row: dict[str, Any]) -> Fact:
    missing = [key for key in REQUIRED if not str(row.get(key) or "").strip()]
    if missing:
        raise BadInputError(f"{path}:{line}: missing {', '.join(missing)}")
    try:
        confidence = float(row.get("confidence") or 1.0)
    except ValueError:
        raise BadInputError(f"{path}:{line}: confidence must be a number") from None
    if not 0 <= confidence <= 1:
        raise BadInputError(f"{path}:{line}: confidence must be between 0 and 1")
    return Fact(
        str(row["subject"]).strip(),
        str(row["predicate"]).strip(),
        str(row["object"]).strip(),
        confidence,
        Provenance("import", source=path.name),
    )


def write_graph(path: Path, facts: Sequence[Fact]) -> None:
    """Write a graph version's facts as JSONL, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".partial-{os.getpid()}")
    with partial.open("w", encoding="utf-8") as handle:
        for fact in facts:
            handle.write(json.dumps(fact.as_dict(), sort_keys=True, ensure_ascii=False) + "\n")
    os.replace(partial, path)


def read_graph(path: Path) -> list[Fact]:
    """The facts of a graph version's artifact."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Fact.from_dict(parse_json(line)) for line in lines if line.strip()]
