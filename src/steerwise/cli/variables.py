"""Variables from `--var KEY=VALUE` and `--vars-file`, typed by the prompt's schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from steerwise.core.errors import BadInputError
from steerwise.core.json_input import parse_json


def collect_variables(
    schema: dict[str, Any], pairs: tuple[str, ...], vars_file: str | None
) -> dict[str, Any]:
    """Merge the file's variables with `--var` pairs (pairs win)."""
    variables = _read_vars_file(vars_file) if vars_file else {}
    properties = schema.get("properties", {})
    for key, raw in split_pairs(pairs, "--var").items():
        variables[key] = _typed(key, raw, properties.get(key, {}))
    return variables


def split_pairs(pairs: tuple[str, ...], option: str) -> dict[str, str]:
    """`KEY=VALUE` pairs as a dict (a later key wins); `option` names them in errors."""
    found = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise BadInputError(f"{option} {pair!r}: expected KEY=VALUE")
        found[key] = raw
    return found


def _read_vars_file(path: str) -> dict[str, Any]:
    try:
        data = parse_json(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise BadInputError(f"--vars-file {path}: cannot read: {error}") from None
    except json.JSONDecodeError as error:
        raise BadInputError(f"{path}:{error.lineno}: malformed JSON: {error.msg}") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{path}: expected a JSON object of variables")
    return data


def _typed(key: str, raw: str, schema: dict[str, Any]) -> Any:
    """Strings stay strings; other declared types are read as JSON (`--var n=3`)."""
    declared = schema.get("type", "string")
    if declared == "string" or (isinstance(declared, list) and "string" in declared):
        return raw
    try:
        return parse_json(raw)
    except json.JSONDecodeError:
        raise BadInputError(
            f"--var {key}={raw!r}: the schema wants {declared}, which must be written as JSON"
        ) from None
