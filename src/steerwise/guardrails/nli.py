"""Natural language inference by a configured model: do the passages entail a sentence?

The grounding detector asks this when its `nli_model` setting names a model (any reference
the workspace's model registry resolves: the bundled `local:smollm2-135m`, an OpenAI-
compatible server, a hosted model, or a `[models.NAME]` entry). The model answers with a
JSON object constrained by a schema, `{"verdict": "entailment" | "neutral" |
"contradiction"}`, at temperature 0; an answer that does not parse is re-asked by the model
registry and then raises, which fails the rail closed.

The judge's instructions are fixed here, not a user prompt, so that a verdict means the same
thing in every policy; what varies is the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, cast

from steerwise.core.models import ChatParams, Message, StructuredOutputError
from steerwise.models.registry import ModelRegistry

Verdict = Literal["entailment", "neutral", "contradiction"]
VERDICTS: tuple[Verdict, ...] = ("entailment", "neutral", "contradiction")
VERDICT_SCHEMA = {
    "type": "object",
    "properties": {"verdict": {"type": "string", "enum": list(VERDICTS)}},
    "required": ["verdict"],
    "additionalProperties": False,
}
INSTRUCTIONS = (
    "You check whether a statement is supported by source passages. Read the PASSAGES and the"
    ' STATEMENT. Answer with JSON: verdict "entailment" if the passages state or directly'
    ' imply the statement, "contradiction" if they state the opposite, "neutral" otherwise.'
    " Judge only by the passages, not by what you know."
)


@dataclass(frozen=True)
class Judgement:
    """One verdict and the model that gave it."""

    verdict: Verdict
    model: str


class NliJudge:
    """Asks one model, through the registry (retries, fallbacks, schema checks), for verdicts."""

    def __init__(self, models: ModelRegistry, ref: str, *, timeout_s: float = 30.0) -> None:
        self._models = models
        self._ref = ref
        self._params = ChatParams(
            temperature=0.0, max_tokens=24, response_format=VERDICT_SCHEMA, timeout_s=timeout_s
        )

    def judge(self, passages: Sequence[str], statement: str) -> Judgement:
        """Whether `passages` entail `statement`."""
        numbered = "\n".join(f"[{n}] {text}" for n, text in enumerate(passages, 1))
        messages: list[Message] = [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": f"PASSAGES:\n{numbered}\n\nSTATEMENT: {statement}"},
        ]
        result = self._models.chat(self._ref, messages, self._params)
        verdict = result.parsed.get("verdict") if isinstance(result.parsed, dict) else None
        if verdict not in VERDICTS:
            raise StructuredOutputError(
                f"NLI model {result.model} answered {result.text[:80]!r}, not a verdict",
                hint="use a model that follows JSON schemas, or drop nli_model",
            )
        return Judgement(cast(Verdict, verdict), result.model)
