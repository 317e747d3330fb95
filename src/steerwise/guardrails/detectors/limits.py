"""Shape rails: length and token limits, JSON validity and JSON Schema conformance."""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import Field, field_validator

from steerwise.core.guardrails import CheckContext, Finding
from steerwise.core.json_input import parse_json
from steerwise.guardrails.detectors.base import (
    DetectorServices,
    DetectorSettings,
    register_detector,
)

_TOKEN_PIECE = re.compile(r"\w{1,4}|[^\w\s]", re.UNICODE)


def estimate_tokens(text: str) -> int:
    """A tokenizer-free token count: word pieces of up to four characters and punctuation.

    Within about 15% of BPE tokenizers on English prose, and never below them by much, which
    is what a limit needs; a model's own count is used where the request path has one.
    """
    return len(_TOKEN_PIECE.findall(text))


class LengthSettings(DetectorSettings):
    """Bounds on size; each is off when None."""

    max_chars: int | None = Field(default=None, ge=1)
    min_chars: int | None = Field(default=None, ge=0)
    max_tokens: int | None = Field(default=None, ge=1)


@register_detector
class LengthDetector:
    """Finds texts longer (or shorter) than the policy allows."""

    name: ClassVar[str] = "length"
    whole_text: ClassVar[bool] = True
    Settings: ClassVar[type[DetectorSettings]] = LengthSettings

    def __init__(self, settings: LengthSettings, services: DetectorServices) -> None:
        self._settings = settings

    def detect(self, text: str, context: CheckContext) -> list[Finding]:
        """One finding per bound that is broken."""
        limits = self._settings
        found: list[Finding] = []
        if limits.max_chars is not None and len(text) > limits.max_chars:
            found.append(self._finding("too_long", f"{len(text)} characters > {limits.max_chars}"))
        if limits.min_chars is not None and len(text.strip()) < limits.min_chars:
            found.append(self._finding("too_short", f"fewer than {limits.min_chars} characters"))
        if limits.max_tokens is not None:
            tokens = estimate_tokens(text)
            if tokens > limits.max_tokens:
                found.append(
                    self._finding("too_many_tokens", f"{tokens} tokens > {limits.max_tokens}")
                )
        return found

    def _finding(self, kind: str, reason: str) -> Finding:
        return Finding(self.name, kind, 1.0, reason)


class JsonSettings(DetectorSettings):
    """`schema` to check against; else the request's response schema, if it has one."""

    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    use_response_schema: bool = True

    @field_validator("schema_")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            try:
                Draft202012Validator.check_schema(value)
            except SchemaError as error:
                raise ValueError(f"not a valid JSON Schema: {error.message}") from None
        return value


@register_detector
class JsonDetector:
    """Finds output that is not JSON, or JSON that breaks its schema."""

    name: ClassVar[str] = "json"
    whole_text: ClassVar[bool] = True
    Settings: ClassVar[type[DetectorSettings]] = JsonSettings

    def __init__(self, settings: JsonSettings, services: DetectorServices) -> None:
        self._settings = settings
        self._validators: dict[str, Draft202012Validator] = {}

    def detect(self, text: str, context: CheckContext) -> list[Finding]:
        """`invalid_json` with where parsing stopped, or one `schema_violation` per error."""
        try:
            value = parse_json(text)
        except json.JSONDecodeError as error:
            reason = f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
            return [Finding(self.name, "invalid_json", 1.0, reason)]
        schema = self._schema(context)
        if schema is None:
            return []
        validator = self._validator(schema)
        return [
            Finding(
                self.name,
                "schema_violation",
                1.0,
                f"at {'/'.join(map(str, error.absolute_path)) or '(root)'}: breaks the schema's"
                f" {error.validator!r} rule",
            )
            for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        ]

    def _schema(self, context: CheckContext) -> dict[str, Any] | None:
        if self._settings.schema_ is not None:
            return self._settings.schema_
        return context.response_schema if self._settings.use_response_schema else None

    def _validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        key = json.dumps(schema, sort_keys=True)
        found = self._validators.get(key)
        if found is None:
            found = self._validators[key] = Draft202012Validator(schema)
        return found
