"""Structured output: validate answers against a JSON Schema, and re-ask with the error."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from steerwise.core.json_input import parse_json
from steerwise.core.models import Message


@dataclass(frozen=True)
class Verdict:
    """Whether an answer matched the schema: the parsed value, or what is wrong."""

    parsed: Any = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """True when the answer is valid JSON matching the schema."""
        return self.problem is None


def check_answer(text: str, validator: Draft202012Validator) -> Verdict:
    """Parse `text` as JSON (tolerating a ```json fence) and validate it."""
    try:
        parsed = parse_json(_unfenced(text))
    except json.JSONDecodeError as error:
        return Verdict(problem=f"the answer is not JSON ({error.msg} at character {error.pos})")
    mismatch = best_match(validator.iter_errors(parsed))
    if mismatch is not None:
        where = "/".join(str(part) for part in mismatch.absolute_path) or "the top level"
        return Verdict(problem=f"at {where}: {mismatch.message}")
    return Verdict(parsed=parsed)


def reask(messages: Sequence[Message], answer: str, problem: str) -> list[Message]:
    """The conversation extended with the bad answer and a request to correct it."""
    return [
        *messages,
        {"role": "assistant", "content": answer},
        {
            "role": "user",
            "content": (
                f"Your answer does not match the required JSON Schema: {problem}. "
                "Reply again with only the corrected JSON."
            ),
        },
    ]


def json_instruction(schema: dict[str, Any]) -> str:
    """The instruction for models that cannot be constrained to a schema."""
    compact = json.dumps(schema, separators=(",", ":"))
    return f"Reply with only JSON that matches this JSON Schema: {compact}"


def with_json_instruction(messages: Sequence[Message], schema: dict[str, Any]) -> list[Message]:
    """The messages with the JSON instruction added to the system message (or a new one)."""
    instruction = json_instruction(schema)
    if messages and messages[0]["role"] == "system":
        first = messages[0]
        return [{**first, "content": f"{first['content']}\n\n{instruction}"}, *messages[1:]]
    return [{"role": "system", "content": instruction}, *messages]


def _unfenced(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[-1]
        stripped = stripped.rsplit("```", 1)[0]
    return stripped.strip()
