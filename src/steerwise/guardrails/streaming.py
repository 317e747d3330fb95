"""Output rails on streamed answers: buffer by sentence, check, then release.

`StreamGate.feed` takes deltas and returns the text that may be shown now: each complete
sentence is checked by the policy's sentence-level output rails before it is released
(redacted where a rail redacts). When a policy has whole-text output rails (json, length,
citations) nothing is released until the whole answer has passed them. A sentence that fails
stops the stream: what was released stays released, nothing more is, and the final decision
says why. Rails are never skipped because an answer was streamed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from steerwise.core.guardrails import CheckContext, Decision, Outcome
from steerwise.guardrails.policy import Policy
from steerwise.guardrails.text import finished_prefix


@dataclass
class _State:
    pending: str = ""
    released: str = ""
    checked: str = ""
    stopped: Decision | None = None


class StreamGate:
    """Checks one streamed answer against a policy's output rails, sentence by sentence."""

    def __init__(
        self,
        policy: Policy,
        context: CheckContext | None = None,
        placeholders: dict[str, str] | None = None,
    ) -> None:
        self._policy = policy
        self._context = context or CheckContext()
        self._placeholders = dict(placeholders or {})
        self._hold_all = bool(policy.rails("output", "whole"))
        self._state = _State()
        self.decisions: list[Decision] = []

    @property
    def stopped(self) -> Decision | None:
        """The decision that stopped the stream, if one did."""
        return self._state.stopped

    def feed(self, delta: str) -> str:
        """Take a delta; return the text that may be released now (often empty)."""
        state = self._state
        if state.stopped is not None:
            return ""
        state.pending += delta
        complete = finished_prefix(state.pending)
        if not complete:
            return ""
        state.pending = state.pending[len(complete) :]
        return self._pass(complete)

    def finish(self) -> tuple[str, Decision]:
        """Check what is left and the whole answer; return the last text to release and the
        decision for the answer as a whole."""
        state = self._state
        tail = "" if state.stopped is not None else self._pass(state.pending)
        state.pending = ""
        if state.stopped is not None:
            return tail, state.stopped
        whole = self._policy.check(
            "output", state.checked, self._context, self._placeholders, scope="whole"
        )
        self.decisions.append(whole)
        if not whole.allowed:
            state.stopped = whole
            return "", whole
        if self._hold_all:
            tail = state.released
        outcome = _combined_outcome(self.decisions)
        return tail, replace(whole, outcome=outcome, text=state.released)

    def _pass(self, piece: str) -> str:
        """Check `piece`; on success add it to what is released (and return it unless held)."""
        state = self._state
        if not piece.strip():
            state.checked += piece
            state.released += piece
            return "" if self._hold_all else piece
        decision = self._policy.check(
            "output", piece, self._context, self._placeholders, scope="sentence"
        )
        self.decisions.append(decision)
        if not decision.allowed:
            state.stopped = decision
            return ""
        self._placeholders.update(decision.placeholders)
        state.checked += piece
        state.released += decision.text
        return "" if self._hold_all else decision.text


def _combined_outcome(decisions: list[Decision]) -> Outcome:
    outcomes = {decision.outcome for decision in decisions}
    return "redact" if "redact" in outcomes else "flag" if "flag" in outcomes else "allow"
