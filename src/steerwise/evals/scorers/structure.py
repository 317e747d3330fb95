"""Scorers of an answer's shape: valid JSON, and JSON that conforms to a JSON Schema.

Both judge with the guardrails' `json` detector, so a schema measured in an eval is checked
the same way by an output rail. An empty answer or a refusal is not JSON: both score 0.
With `extract`, the first JSON object or array inside the text (for example in a fenced
block) is judged instead of the whole text.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import ValidationError, field_validator

from steerwise.core.evals import Sample, Score
from steerwise.core.guardrails import CheckContext
from steerwise.evals.scorers.base import ScorerServices, ScorerSettings, register_scorer
from steerwise.guardrails.detectors import DetectorServices
from steerwise.guardrails.detectors.limits import JsonDetector
from steerwise.guardrails.detectors.limits import JsonSettings as JsonDetectorSettings


def extracted_json(text: str) -> str:
    """The first JSON object or array inside `text`, as text ("" when there is none)."""
    decoder = json.JSONDecoder()
    for index, char in enumerate(text):
        if char in "{[":
            try:
                return text[index : decoder.raw_decode(text, index)[1]]
            except ValueError:
                continue
    return ""


class JsonSettings(ScorerSettings):
    extract: bool = False
    """Judge the first JSON object or array inside the text, not the whole text."""


class SchemaSettings(JsonSettings):
    json_schema: dict[str, Any]

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        try:
            JsonDetectorSettings.model_validate({"schema": schema})
        except ValidationError as error:
            raise ValueError(str(error.errors()[0]["msg"]).removeprefix("Value error, ")) from None
        return schema


class _JsonScorer:
    """1 when the (extracted) answer passes the json detector, else 0 with its first reason."""

    name: ClassVar[str]

    def __init__(self, settings: JsonSettings, schema: dict[str, Any] | None) -> None:
        self.settings = settings
        detector = JsonDetectorSettings.model_validate(
            {"schema": schema, "use_response_schema": False}
        )
        self._detector = JsonDetector(detector, DetectorServices())

    def score(self, sample: Sample) -> Score:
        """Whether the answer is JSON (conforming to the schema, where there is one)."""
        text = extracted_json(sample.output) if self.settings.extract else sample.output
        if not text.strip():
            found = "no JSON in the answer" if sample.output.strip() else "empty answer"
            return Score(0.0, False, found)
        findings = self._detector.detect(text, CheckContext())
        if findings:
            return Score(0.0, False, findings[0].reason)
        return Score(1.0, True, "valid JSON")


@register_scorer
class JsonValid(_JsonScorer):
    """1 when the answer is JSON, else 0."""

    name: ClassVar[str] = "json_valid"
    Settings: ClassVar[type[ScorerSettings]] = JsonSettings

    def __init__(self, settings: JsonSettings, services: ScorerServices) -> None:
        super().__init__(settings, None)


@register_scorer
class JsonSchema(_JsonScorer):
    """1 when the answer is JSON that conforms to `json_schema`, else 0 with the first error."""

    name: ClassVar[str] = "json_schema"
    Settings: ClassVar[type[ScorerSettings]] = SchemaSettings

    def __init__(self, settings: SchemaSettings, services: ScorerServices) -> None:
        super().__init__(settings, settings.json_schema)
