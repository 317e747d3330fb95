"""Scorer specs as a run names them: `NAME` or `NAME:key=value,key=value`.

A value is read as JSON where it parses (`threshold=0.6`, `all=true`, `value=["a","b"]`) and
as text otherwise (`pattern=\\d+`). The spec text is also the scorer's key in results.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from steerwise.core.errors import BadInputError
from steerwise.core.json_input import parse_json
from steerwise.evals.scorers import Scorer

BuildScorer = Callable[[str, Mapping[str, Any] | None], Scorer]


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """(scorer name, settings) of one spec."""
    name, _, rest = spec.partition(":")
    settings: dict[str, Any] = {}
    for part in _split(rest):
        key, equals, value = part.partition("=")
        if not equals or not key.strip():
            raise BadInputError(
                f"scorer {spec!r}: {part!r} is not key=value",
                hint="write NAME or NAME:key=value,key=value (e.g. f1:threshold=0.6)",
            )
        settings[key.strip()] = _value(value.strip())
    return name.strip(), settings


def build_scorers(specs: Sequence[str], build: BuildScorer) -> dict[str, Scorer]:
    """Every spec's scorer, keyed by the spec; all are checked before any is used."""
    if not specs:
        raise BadInputError("no scorer given", hint="add --scorer NAME (see docs/evals.md)")
    duplicates = sorted({spec for spec in specs if specs.count(spec) > 1})
    if duplicates:
        raise BadInputError(f"scorer {duplicates[0]!r} is given twice")
    return {spec: build(*parse_spec(spec)) for spec in specs}


def _split(text: str) -> list[str]:
    """`text` split at commas outside brackets and quotes (so JSON lists stay whole)."""
    parts, depth, quoted, escaped, current = [], 0, False, False, ""
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char in "[{":
            depth += 1
        elif not quoted and char in "]}":
            depth -= 1
        if char == "," and depth == 0 and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    return [part for part in (*parts, current) if part.strip()]


def _value(text: str) -> Any:
    try:
        return parse_json(text)
    except json.JSONDecodeError:
        return text
