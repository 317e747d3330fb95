"""Guardrails as evaluation scorers: what is enforced in production is what is measured.

`PolicyScorer` scores a text with one direction of a policy exactly as `check_input` /
`check_output` decide it; `RailScorer` scores with one rail's detector alone, so an eval run
can report each rail's pass rate. Both return a `Score`: 1.0 passes, 0.0 fails.
"""

from __future__ import annotations

from dataclasses import dataclass

from steerwise.core.guardrails import CheckContext, Direction, Finding
from steerwise.guardrails.policy import CompiledRail, Policy


@dataclass(frozen=True)
class Score:
    """One scorer's verdict on one text."""

    scorer: str
    value: float
    passed: bool
    reasons: tuple[str, ...]
    findings: tuple[Finding, ...] = ()


class PolicyScorer:
    """Scores a text with one direction of a policy.

    By default a text passes when the policy lets it through (allowed, redacted or flagged);
    with `strict=True` only an untouched `allow` passes.
    """

    def __init__(self, policy: Policy, direction: Direction = "output", *, strict: bool = False):
        self._policy = policy
        self._direction = direction
        self._strict = strict
        self.name = f"policy:{policy.ref}:{direction}"

    def score(self, text: str, context: CheckContext | None = None) -> Score:
        """The policy's decision as a score."""
        decision = self._policy.check(self._direction, text, context or CheckContext(), {})
        passed = decision.outcome == "allow" if self._strict else decision.allowed
        reasons = tuple(f.reason for f in decision.findings)
        if decision.reason_code:
            reasons = (decision.reason_code, *reasons)
        return Score(self.name, 1.0 if passed else 0.0, passed, reasons, tuple(decision.findings))


class RailScorer:
    """Scores a text with one rail's detector: passes when it finds nothing."""

    def __init__(self, rail: CompiledRail, direction: Direction):
        self._rail = rail
        self.name = f"rail:{direction}.{rail.rail.rail_name}"

    def score(self, text: str, context: CheckContext | None = None) -> Score:
        """1.0 when the detector finds nothing, else 0.0 with its reasons."""
        findings = tuple(self._rail.detector.detect(text, context or CheckContext()))
        passed = not findings
        reasons = tuple(finding.reason for finding in findings)
        return Score(self.name, 1.0 if passed else 0.0, passed, reasons, findings)


def rail_scorers(policy: Policy, direction: Direction = "output") -> list[RailScorer]:
    """One scorer per rail of a direction, in policy order."""
    return [RailScorer(rail, direction) for rail in policy.rails(direction)]
