"""Running a prompt behind a guardrail policy: check the input, call, check the answer.

Input rails check every string variable (sharing one placeholder map, so `[EMAIL_1]` means
the same address everywhere). Output rails check the answer; `reask` asks the model again
with the violation, at most the policy's `max_reasks` times, then refuses. Streamed answers
pass through a StreamGate.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from steerwise.core.guardrails import CheckContext, Decision, Outcome
from steerwise.core.models import ChatParams, StreamDelta
from steerwise.guardrails.policy import Policy
from steerwise.guardrails.streaming import StreamGate
from steerwise.pipeline.runner import PromptRunner, RunResult


@dataclass(frozen=True)
class GuardedResult:
    """What the user gets (`text`), why (`outcome`, decisions), and the model runs behind it."""

    text: str
    outcome: Outcome
    input_decisions: list[Decision]
    output_decisions: list[Decision]
    runs: list[RunResult]

    @property
    def reason_code(self) -> str:
        """The reason code of the decision that settled the outcome ('' when allowed)."""
        return settling_reason([*self.input_decisions, *self.output_decisions])


def settling_reason(decisions: Sequence[Decision]) -> str:
    """The reason code of the last decision that has one ('' when every check allowed)."""
    return next((d.reason_code for d in reversed(decisions) if d.reason_code), "")


@dataclass
class _Inputs:
    variables: dict[str, Any]
    decisions: list[Decision]
    placeholders: dict[str, str]
    refused: Decision | None = None


class GuardedRunner:
    """PromptRunner plus a policy's input and output rails."""

    def __init__(self, runner: PromptRunner) -> None:
        self._runner = runner

    def run(
        self,
        ref: str,
        variables: Mapping[str, Any],
        *,
        policy: Policy,
        context: CheckContext | None = None,
        model: str | None = None,
        params: ChatParams | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> GuardedResult:
        """Check inputs, run, check the answer (re-asking where a rail says so).

        `extra` variables (retrieved context, graph facts) join after the input rails: they
        are not the user's words, and the passages reach the rails through `context`.
        """
        inputs = self._check_inputs(policy, variables, context)
        if inputs.refused is not None:
            return _refused(inputs, inputs.refused)
        rendered_with = {**inputs.variables, **(extra or {})}
        runs = [self._runner.run(ref, rendered_with, model=model, params=params)]
        outputs: list[Decision] = []
        for attempt in range(policy.reask_budget + 1):
            decision = policy.check_output(runs[-1].answer.text, context, inputs.placeholders)
            outputs.append(decision)
            if decision.outcome != "reask":
                break
            if attempt < policy.reask_budget:
                runs.append(
                    self._runner.reask(runs[-1], decision.message, model=model, params=params)
                )
        final = outputs[-1]
        outcome: Outcome
        if final.outcome == "reask":
            text, outcome = policy.version.spec.refusal, "block"
        else:
            text, outcome = _shown(final), final.outcome
        return GuardedResult(text, outcome, inputs.decisions, outputs, runs)

    def stream(
        self,
        ref: str,
        variables: Mapping[str, Any],
        *,
        policy: Policy,
        context: CheckContext | None = None,
        model: str | None = None,
        params: ChatParams | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Iterator[StreamDelta | GuardedResult]:
        """Yield checked text as it is released, then the GuardedResult (`extra` as in
        `run`)."""
        inputs = self._check_inputs(policy, variables, context)
        if inputs.refused is not None:
            yield StreamDelta(_shown(inputs.refused))
            yield _refused(inputs, inputs.refused)
            return
        gate = StreamGate(policy, context, inputs.placeholders)
        runs: list[RunResult] = []
        rendered_with = {**inputs.variables, **(extra or {})}
        for event in self._runner.stream(ref, rendered_with, model=model, params=params):
            if isinstance(event, RunResult):
                runs.append(event)
            elif released := gate.feed(event.text):
                yield StreamDelta(released)
        tail, decision = gate.finish()
        if tail:
            yield StreamDelta(tail)
        if not decision.allowed:
            yield StreamDelta(_stop_notice(decision, policy))
        text = decision.text if decision.allowed else _shown(decision)
        streamed: Outcome = decision.outcome
        if decision.outcome == "reask":
            streamed = "block"  # text already released cannot be asked for again
        yield GuardedResult(text, streamed, inputs.decisions, gate.decisions, runs)

    @staticmethod
    def _check_inputs(
        policy: Policy, variables: Mapping[str, Any], context: CheckContext | None
    ) -> _Inputs:
        """Each string variable through the input rails; the retrieved passages go along, so
        an injection rail with `scan_context` catches instructions hidden in them."""
        inputs = _Inputs(dict(variables), [], {})
        for name, value in variables.items():
            if not isinstance(value, str):
                continue
            decision = policy.check_input(value, context, inputs.placeholders)
            inputs.decisions.append(decision)
            if not decision.allowed:
                inputs.refused = decision
                break
            inputs.variables[name] = decision.text
            inputs.placeholders.update(decision.placeholders)
        return inputs


def _shown(decision: Decision) -> str:
    """The text the user sees for a decision: the (redacted) answer, a fallback, a refusal."""
    return decision.text if decision.allowed or decision.outcome == "fallback" else decision.message


def _refused(inputs: _Inputs, decision: Decision) -> GuardedResult:
    return GuardedResult(_shown(decision), decision.outcome, inputs.decisions, [], [])


def _stop_notice(decision: Decision, policy: Policy) -> str:
    if decision.outcome == "fallback":
        return f"\n\n{decision.text}"
    return f"\n\n[{policy.version.spec.refusal}]"
