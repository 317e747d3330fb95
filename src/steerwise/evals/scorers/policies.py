"""Guardrail and custom scorers: a policy (or one rail of it) as a scorer, and your own
Python function as a scorer.

`guardrail` judges the answer exactly as the policy's output rails (or input rails, with
`direction: input`) decide it in production: 1 when the policy lets it through. An empty
answer or a refusal is checked like any text. `python` calls `module:function` with the
Sample; the function returns a Score, a number in [0, 1] (passing at `threshold`) or a bool.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import field_validator

from steerwise.core.evals import Sample, Score
from steerwise.core.guardrails import CheckContext, Direction
from steerwise.evals.scorers.base import (
    ScorerError,
    ScorerServices,
    ScorerSettings,
    ThresholdSettings,
    register_scorer,
    threshold_score,
)
from steerwise.guardrails.scorers import PolicyScorer, RailScorer


class GuardrailSettings(ScorerSettings):
    policy: str
    """A policy reference: `support`, `support@3`, `support@production`."""
    direction: Direction = "output"
    rail: str | None = None
    """One rail's detector alone (its name in the policy), instead of the whole policy."""
    strict: bool = False
    """Only an untouched `allow` passes (not a redaction or a flag)."""


@register_scorer
class Guardrail:
    """1 when the policy (or the rail) lets the answer through, else 0 with the reason."""

    name: ClassVar[str] = "guardrail"
    Settings: ClassVar[type[ScorerSettings]] = GuardrailSettings

    def __init__(self, settings: GuardrailSettings, services: ScorerServices) -> None:
        self.settings = settings
        self._services = services
        self._scorer: PolicyScorer | RailScorer | None = None

    def score(self, sample: Sample) -> Score:
        """The policy's decision on the answer, with the retrieved passages as context."""
        found = self._judge().score(sample.output, CheckContext(documents=sample.context))
        return Score(found.value, found.passed, "; ".join(found.reasons) or "allowed")

    def _judge(self) -> PolicyScorer | RailScorer:
        if self._scorer is None:
            settings = self.settings
            policy = self._services.policy(settings.policy)
            if settings.rail is None:
                self._scorer = PolicyScorer(policy, settings.direction, strict=settings.strict)
            else:
                rails = {r.rail.rail_name: r for r in policy.rails(settings.direction)}
                if settings.rail not in rails:
                    known = ", ".join(rails) or "none"
                    raise ScorerError(
                        f"guardrail: policy {policy.ref} has no {settings.direction} rail"
                        f" {settings.rail!r} (it has: {known})"
                    )
                self._scorer = RailScorer(rails[settings.rail], settings.direction)
        return self._scorer


def _load(path: str) -> Callable[[Sample], Any]:
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ValueError("write it as module:function")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"cannot import {path}: {error}") from None
    if not callable(found):
        raise ValueError(f"{path} is not callable")
    return found  # type: ignore[no-any-return]


class PythonSettings(ThresholdSettings):
    function: str
    """`module:function`, importable from the workspace's Python path."""

    @field_validator("function")
    @classmethod
    def _importable(cls, path: str) -> str:
        _load(path)
        return path


@register_scorer
class PythonScorer:
    """Your function as a scorer (module docstring)."""

    name: ClassVar[str] = "python"
    Settings: ClassVar[type[ScorerSettings]] = PythonSettings

    def __init__(self, settings: PythonSettings, services: ScorerServices) -> None:
        self.settings = settings
        self._function = _load(settings.function)

    def score(self, sample: Sample) -> Score:
        """What the function says, as a Score."""
        found = self._function(sample)
        if isinstance(found, Score):
            return found
        if isinstance(found, bool):
            return Score(float(found), found, f"{self.settings.function} said {found}")
        if isinstance(found, int | float):
            return threshold_score(
                float(found), self.settings.threshold, f"{self.settings.function} said {found:g}"
            )
        raise ScorerError(
            f"python: {self.settings.function} returned {type(found).__name__}, not a Score,"
            " a number or a bool"
        )
