"""`llm_judge`: a rubric judged by a model, through a versioned prompt.

The judge is a prompt of the workspace (`llm-judge` by default; push the bundled one with
`steerwise prompt push $(python -c "import steerwise.evals; print(steerwise.evals.JUDGE_PROMPT)")`
and version it like any prompt). It gets `rubric`, `question` (the item's question, or its
variables as JSON), `reference` (the first reference, or empty) and `answer`, and must answer
JSON `{"score": 1..5, "reason": ...}` (its response format; the model's answer is checked
against it, and anything else is the item's ScorerError). The value is (score - 1) / 4,
passing at `threshold` (0.75: a 4 or a 5). An empty answer scores 0 without asking the
model; a refusal is judged like any answer (a rubric may ask for one).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import Field

from steerwise.core.errors import NotFoundError
from steerwise.core.evals import Sample, Score
from steerwise.core.models import ModelError
from steerwise.evals.scorers.base import (
    ScorerError,
    ScorerServices,
    ScorerSettings,
    register_scorer,
    threshold_score,
)

LOWEST, HIGHEST = 1, 5


class JudgeSettings(ScorerSettings):
    rubric: str = Field(min_length=1)
    """What a good answer does, in words."""
    prompt: str = "llm-judge@latest"
    """The judge's prompt (a reference to a prompt of the workspace)."""
    model: str | None = None
    """The judging model (a model reference); default: the prompt's own."""
    threshold: float = Field(default=0.75, ge=0.0, le=1.0)


@register_scorer
class LlmJudge:
    """A model grades the answer against `rubric` (module docstring)."""

    name: ClassVar[str] = "llm_judge"
    Settings: ClassVar[type[ScorerSettings]] = JudgeSettings

    def __init__(self, settings: JudgeSettings, services: ScorerServices) -> None:
        self.settings = settings
        self._services = services

    def score(self, sample: Sample) -> Score:
        """The judge's grade, normalised to [0, 1]."""
        if not sample.output.strip():
            return Score(0.0, False, "empty answer")
        settings = self.settings
        try:
            answer = self._services.ask(settings.prompt, self._variables(sample), settings.model)
        except NotFoundError as missing:
            raise ScorerError(
                f"llm_judge: {missing.message}",
                hint="push the bundled judge: steerwise prompt push"
                " \"$(python -c 'import steerwise.evals as e; print(e.JUDGE_PROMPT)')\"",
            ) from None
        except ModelError as failure:
            raise ScorerError(f"llm_judge: the judge failed: {failure.message}") from None
        grade, reason = _grade(answer.parsed)
        value = (grade - LOWEST) / (HIGHEST - LOWEST)
        return threshold_score(value, settings.threshold, f"judged {grade}/5: {reason}")

    def _variables(self, sample: Sample) -> dict[str, Any]:
        question = sample.variables.get("question")
        if not isinstance(question, str):
            question = json.dumps(dict(sample.variables), ensure_ascii=False)
        reference = sample.references[0] if sample.references else ""
        return {
            "rubric": self.settings.rubric,
            "question": question,
            "reference": reference,
            "answer": sample.output,
        }


def _grade(parsed: Any) -> tuple[int, str]:
    """The score and reason of the judge's JSON, checked strictly."""
    if not isinstance(parsed, dict):
        raise ScorerError("llm_judge: the judge did not answer JSON (check its response_format)")
    score, reason = parsed.get("score"), parsed.get("reason")
    if not isinstance(score, int) or isinstance(score, bool) or not LOWEST <= score <= HIGHEST:
        raise ScorerError(f"llm_judge: the judge's score {score!r} is not an integer 1 to 5")
    return score, str(reason or "").strip() or "no reason given"
