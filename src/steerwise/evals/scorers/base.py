"""The scorer interface, the registry of scorer kinds, and building a scorer from its name.

A scorer is a small class: `name` (what a run or a file names), `Settings` (a pydantic model,
unknown keys refused), and `score(sample)` returning a `Score` in [0, 1] with `passed` and a
reason. Scorers that need a model, the embedder or a policy get it from `ScorerServices`, on
first use. A scorer that cannot judge a sample (a missing reference, no latency recorded)
raises `ScorerError`; an eval run records that as the item's error for that scorer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from steerwise.core.errors import BadInputError, SteerwiseError
from steerwise.core.evals import Sample, Score
from steerwise.core.kinds import registrar

if TYPE_CHECKING:
    from steerwise.core.models import ChatResult
    from steerwise.guardrails.policy import Policy
    from steerwise.models.interface import Embedder


class ScorerError(SteerwiseError):
    """A scorer could not judge one sample (what it needs is missing)."""


class ScorerSettings(BaseModel):
    """Base of every scorer's settings: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ThresholdSettings(ScorerSettings):
    """Settings of a scorer with a continuous value: where it passes."""

    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    """The score at which a sample passes."""


AskPrompt = Callable[[str, Mapping[str, Any], "str | None"], "ChatResult"]
"""(prompt ref, variables, model ref or None) -> the model's checked answer."""


class ScorerServices:
    """What scorers may ask of the workspace, each on first use: the embedder, policies,
    and prompts run against models (for judges)."""

    def __init__(
        self,
        embedder: Callable[[], Embedder] | None = None,
        policy: Callable[[str], Policy] | None = None,
        ask: AskPrompt | None = None,
    ) -> None:
        self._embedder_factory = embedder
        self._policy = policy
        self._ask = ask
        self._embedder: Embedder | None = None

    def embedder(self) -> Embedder:
        """The workspace's default embedder (the bundled MiniLM without a workspace)."""
        if self._embedder is None:
            if self._embedder_factory is not None:
                self._embedder = self._embedder_factory()
            else:
                from steerwise.models.embeddings import build_embedder

                self._embedder = build_embedder("default", root=Path.cwd(), named={})
        return self._embedder

    def policy(self, ref: str) -> Policy:
        """A policy version, compiled (needs a workspace)."""
        if self._policy is None:
            raise ScorerError("the guardrail scorer needs a workspace: open one first")
        return self._policy(ref)

    def ask(self, prompt: str, variables: Mapping[str, Any], model: str | None) -> ChatResult:
        """Run a prompt of the workspace against a model (needs a workspace)."""
        if self._ask is None:
            raise ScorerError("a judge needs a workspace: open one first")
        return self._ask(prompt, variables, model)


class Scorer(Protocol):
    """Judges one sample."""

    name: ClassVar[str]
    Settings: ClassVar[type[ScorerSettings]]

    def score(self, sample: Sample) -> Score:
        """The sample's score, or ScorerError when it cannot be judged."""
        ...


SCORERS: dict[str, type[Any]] = {}


register_scorer = registrar(SCORERS, "scorer")
"""Class decorator: make a scorer kind available under its `name`."""


def build_scorer(
    name: str, settings: Mapping[str, Any] | None = None, services: ScorerServices | None = None
) -> Scorer:
    """The scorer `name` with `settings` (validated), or BadInputError naming what is wrong."""
    kind = SCORERS.get(name)
    if kind is None:
        known = ", ".join(sorted(SCORERS))
        raise BadInputError(f"unknown scorer {name!r}", hint=f"scorers: {known}")
    try:
        parsed = kind.Settings.model_validate(dict(settings or {}))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        raise BadInputError(f"scorer {name!r}: {where}: {first['msg']}") from None
    scorer: Scorer = kind(parsed, services or ScorerServices())
    return scorer


class ThresholdScorer:
    """Base of the scorers whose one setting is `threshold`."""

    Settings: ClassVar[type[ScorerSettings]] = ThresholdSettings

    def __init__(self, settings: ThresholdSettings, services: ScorerServices) -> None:
        self.settings = settings
        self.services = services


def threshold_score(value: float, threshold: float, reason: str) -> Score:
    """A score that passes at `threshold` or above (values clipped to [0, 1])."""
    clipped = min(1.0, max(0.0, value))
    return Score(clipped, clipped >= threshold, reason)
