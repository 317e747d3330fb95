"""Guardrail domain types: what a detector found, what a rail decided, what a check returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from steerwise.core.versioning import SpecModel

Direction = Literal["input", "output"]
ActionName = Literal["block", "redact", "reask", "fallback", "flag"]
Outcome = Literal["allow", "block", "redact", "reask", "fallback", "flag"]
ACTIONS: tuple[ActionName, ...] = ("block", "redact", "reask", "fallback", "flag")


@dataclass(frozen=True)
class Finding:
    """One thing a detector found: its type, where it is, how sure, and why.

    `start`/`end` are character offsets into the checked text (None when the finding is about
    the whole text, e.g. invalid JSON). `score` is in [0, 1]. `reason` is safe to store: it
    never repeats the matched text.
    """

    detector: str
    type: str
    score: float
    reason: str
    start: int | None = None
    end: int | None = None

    def span(self, text: str) -> str:
        """The matched text (empty for whole-text findings)."""
        return text[self.start : self.end] if self.start is not None else ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, without the matched text."""
        return {
            "detector": self.detector,
            "type": self.type,
            "score": round(self.score, 4),
            "reason": self.reason,
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True)
class ContextDocument:
    """One retrieved passage an answer may rest on (for grounding, citations, freshness)."""

    id: str
    text: str
    document: str = ""
    valid_until: str | None = None
    stale: bool = False
    stale_reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckContext:
    """Everything a rail may look at besides the text itself."""

    documents: tuple[ContextDocument, ...] = ()
    citations: tuple[str, ...] = ()
    today: str | None = None
    response_schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class RailResult:
    """What one rail found and did."""

    rail: str
    detector: str
    action: ActionName
    findings: tuple[Finding, ...]
    triggered: bool
    error: str | None = None
    elapsed_us: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "rail": self.rail,
            "detector": self.detector,
            "action": self.action,
            "triggered": self.triggered,
            "error": self.error,
            "elapsed_us": round(self.elapsed_us, 1),
            "findings": [finding.to_dict() for finding in self.findings],
        }


@dataclass(frozen=True)
class Decision:
    """The outcome of checking one text against one direction of a policy.

    `text` is what may go on (redacted where a rail redacts; the fallback message where a rail
    falls back; empty when blocked). `reason_code` names the first rail that decided.
    """

    direction: Direction
    outcome: Outcome
    text: str
    rails: tuple[RailResult, ...]
    policy: str = ""
    reason_code: str = ""
    message: str = ""
    placeholders: dict[str, str] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        """Whether the text (possibly redacted or flagged) may go on."""
        return self.outcome in ("allow", "redact", "flag")

    @property
    def findings(self) -> list[Finding]:
        """Every finding of every rail, in rail order."""
        return [finding for rail in self.rails for finding in rail.findings]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; placeholder values (the original PII) are left out."""
        return {
            "policy": self.policy,
            "direction": self.direction,
            "outcome": self.outcome,
            "allowed": self.allowed,
            "reason_code": self.reason_code,
            "message": self.message,
            "text": self.text,
            "placeholders": sorted(self.placeholders),
            "rails": [rail.to_dict() for rail in self.rails],
        }


class Rail(BaseModel):
    """One rule of a policy: a detector, its settings, and what to do when it finds something."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    detector: str
    action: ActionName
    name: str = ""
    settings: dict[str, Any] = Field(default_factory=dict)
    message: str | None = None
    fail_open: bool = False
    max_reasks: int = Field(default=1, ge=1, le=3)
    restore: bool = False

    @property
    def rail_name(self) -> str:
        """The name decisions use: `name` if given, else the detector's."""
        return self.name or self.detector


class PolicySpec(SpecModel):
    """The content of one `*.policy.yaml` file; its hash identifies a version."""

    refusal: str = "I can't help with that request."
    input: list[Rail] = Field(default_factory=list)
    output: list[Rail] = Field(default_factory=list)

    def rails(self, direction: Direction) -> list[Rail]:
        """The rails of one direction, in order."""
        return self.input if direction == "input" else self.output
