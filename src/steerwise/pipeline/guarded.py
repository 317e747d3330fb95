"""Running a prompt behind a guardrail policy: check the input, call, check the answer.

Input rails check every string variable (sharing one placeholder map, so `[EMAIL_1]` means
the same address everywhere). Output rails check the answer; `reask` asks the model again
with the violation, at most the policy's `max_reasks` times, then refuses. Streamed answers
pass through a StreamGate.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from steerwise.core.guardrails import CheckContext, Decision, Outcome
from steerwise.core.models import ChatParams, StreamDelta
from steerwise.guardrails.policy import PendingCheck, Policy
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


@dataclass
class _Begun:
    """Input checks whose text-changing rails have run (the judging ones may still run)."""

    variables: dict[str, Any]
    pending: list[tuple[str, PendingCheck]]
    placeholders: dict[str, str]
    refused: PendingCheck | None = None


OVERLAP_WORTH_MS = 1.0
"""A judging stage shorter than this runs in the request's thread: a hand-over costs more."""


class GuardedRunner:
    """PromptRunner plus a policy's input and output rails.

    With `overlap` (`[guardrails] overlap`, off by default), the input rails that only judge
    (those after the last `redact` rail) run on a worker thread while the model is already
    called with the final, redacted text, and the output rails prepare what depends on the
    retrieved passages only (grounding embeds their sentences); an input that the judging
    rails block is refused and the model's answer discarded unseen. The model never reads
    text a redact rail has not seen. The checks' cost then hides behind the model's time
    instead of adding to it. Policies whose judging takes under `OVERLAP_WORTH_MS` (rules
    only) judge in the request's own thread: there is nothing to hide, and a thread
    hand-over would cost more.
    """

    def __init__(
        self, runner: PromptRunner, *, overlap: bool = False, prepare_answers: bool = True
    ) -> None:
        self._runner = runner
        self._overlap = overlap
        self._prepare_answers = prepare_answers
        self._judging_ms: dict[str, float] = {}
        """Recent time of each policy's judging stage (moving average, milliseconds)."""
        self._workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="steerwise-rails")

    def close(self) -> None:
        """Stop the worker threads (after the checks they run)."""
        self._workers.shutdown(wait=True)

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
        begun = self._begin_inputs(policy, variables, context)
        judged = self._start_judging(policy, begun, context)
        if judged.done():
            inputs = judged.result()
            if inputs.refused is not None:
                return _refused(inputs, inputs.refused)
        rendered_with = {**begun.variables, **(extra or {})}
        watch = self.answer_watch(policy, context)
        on_text = watch.feed if watch is not None else None
        runs = [self._runner.run(ref, rendered_with, model=model, params=params, on_text=on_text)]
        if watch is not None:
            watch.settle()
        inputs = judged.result()
        if inputs.refused is not None:
            return _refused(inputs, inputs.refused, runs)
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
        `run`). Nothing is released before the judging input rails have allowed the input."""
        begun = self._begin_inputs(policy, variables, context)
        judged = self._start_judging(policy, begun, context)
        if judged.done():
            inputs = judged.result()
            if inputs.refused is not None:
                yield StreamDelta(_shown(inputs.refused))
                yield _refused(inputs, inputs.refused)
                return
        gate = StreamGate(policy, context, begun.placeholders)
        runs: list[RunResult] = []
        rendered_with = {**begun.variables, **(extra or {})}
        events = self._runner.stream(ref, rendered_with, model=model, params=params)
        inputs = yield from _relay(events, gate, runs, judged)
        if inputs.refused is not None:
            yield StreamDelta(_shown(inputs.refused))
            yield _refused(inputs, inputs.refused, runs)
            return
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
    def _begin_inputs(
        policy: Policy, variables: Mapping[str, Any], context: CheckContext | None
    ) -> _Begun:
        """The text-changing input rails on each string variable (sharing one placeholder
        map, so `[EMAIL_1]` means the same address everywhere)."""
        begun = _Begun(dict(variables), [], {})
        for name, value in variables.items():
            if not isinstance(value, str):
                continue
            pending = policy.begin("input", value, context, begun.placeholders)
            begun.pending.append((name, pending))
            if pending.decided is not None:
                begun.refused = pending
                break
            begun.variables[name] = pending.text
            begun.placeholders.update(pending.placeholders)
        return begun

    def _start_judging(
        self, policy: Policy, begun: _Begun, context: CheckContext | None
    ) -> Future[_Inputs]:
        """The judging stage, on a worker where overlapping it is worth a thread hand-over
        (it has taken `OVERLAP_WORTH_MS` or more for this policy lately, or is not measured
        yet), else done here."""
        cost = self._judging_ms.get(policy.ref)
        if self._overlap and begun.refused is None and (cost is None or cost >= OVERLAP_WORTH_MS):
            return self._workers.submit(self._judge, policy, begun, context)
        done: Future[_Inputs] = Future()
        done.set_result(self._judge(policy, begun, context))
        return done

    def answer_watch(self, policy: Policy, context: CheckContext | None) -> AnswerWatch | None:
        """The watch a run puts on its answer while it is written, where the output rails can
        work ahead on it (`[guardrails] prepare_answers`, grounding by embedding, passages);
        None where they cannot, and the model is called for a whole answer."""
        if not self._prepare_answers or context is None or not context.documents:
            return None
        return AnswerWatch(policy, context, self._workers) if policy.prepares_answers else None

    def _judge(self, policy: Policy, begun: _Begun, context: CheckContext | None) -> _Inputs:
        """Finish each variable's input check (the retrieved passages go along, so an injection
        rail with `scan_context` catches instructions hidden in them); then, if the input
        may pass, let the output rails prepare for the answer. Its time is remembered."""
        started = time.perf_counter()
        inputs = _Inputs(dict(begun.variables), [], dict(begun.placeholders))
        for _, pending in begun.pending:
            decision = policy.complete(pending)
            inputs.decisions.append(decision)
            if not decision.allowed:
                inputs.refused = decision
                break
        if inputs.refused is None and context is not None:
            policy.prepare("output", context)
        elapsed = (time.perf_counter() - started) * 1000
        before = self._judging_ms.get(policy.ref, elapsed)
        self._judging_ms[policy.ref] = before + 0.2 * (elapsed - before)
        return inputs


_SENTENCE_ENDS = frozenset(".!?;:\n")


class AnswerWatch:
    """Shows the output rails an answer while the model writes it, once per finished
    sentence, on a worker thread (grounding embeds the new sentences there, on the core the
    model leaves free, instead of after the answer). One preparation runs at a time; sentences
    finished meanwhile go with the next. Only the cache is warmed: the check of the whole
    answer decides, whatever was prepared."""

    def __init__(self, policy: Policy, context: CheckContext, workers: ThreadPoolExecutor) -> None:
        self._policy = policy
        self._context = context
        self._workers = workers
        self._pieces: list[str] = []
        self._sentence_ended = False
        self._running: Future[None] | None = None

    def feed(self, text: str) -> None:
        """One piece of the answer (called between the model's tokens: it must be quick, so
        a piece holding sentence-ending punctuation only marks that a sentence may have
        ended; the next piece hands the text so far to the rails, which find the finished
        sentences themselves: `guardrails.text.finished_prefix`)."""
        self._pieces.append(text)
        if self._sentence_ended and (self._running is None or self._running.done()):
            self._sentence_ended = False
            written, prepare = "".join(self._pieces), self._policy.prepare_answer
            self._running = self._workers.submit(prepare, written, self._context)
        self._sentence_ended = self._sentence_ended or not _SENTENCE_ENDS.isdisjoint(text)

    def settle(self) -> None:
        """Wait for the preparation under way, so that the check does not embed the same
        sentences beside it."""
        if self._running is not None:
            self._running.result()


def _relay(
    events: Iterator[StreamDelta | RunResult],
    gate: StreamGate,
    runs: list[RunResult],
    judged: Future[_Inputs],
) -> Generator[StreamDelta, None, _Inputs]:
    """The model's deltas through the gate; before the first is released, the judging input
    rails must have allowed the input (if they refuse it, the model is stopped)."""
    inputs: _Inputs | None = None
    for event in events:
        if isinstance(event, RunResult):
            runs.append(event)
            continue
        if inputs is None:
            inputs = judged.result()
            if inputs.refused is not None:
                close = getattr(events, "close", None)
                if close is not None:
                    close()
                return inputs
        if released := gate.feed(event.text):
            yield StreamDelta(released)
    return inputs or judged.result()


def _shown(decision: Decision) -> str:
    """The text the user sees for a decision: the (redacted) answer, a fallback, a refusal."""
    return decision.text if decision.allowed or decision.outcome == "fallback" else decision.message


def _refused(inputs: _Inputs, decision: Decision, runs: Sequence[RunResult] = ()) -> GuardedResult:
    """The refusal; `runs` are model calls made while the judging rails ran (their answers
    are discarded, their cost is not)."""
    return GuardedResult(_shown(decision), decision.outcome, inputs.decisions, [], list(runs))


def _stop_notice(decision: Decision, policy: Policy) -> str:
    if decision.outcome == "fallback":
        return f"\n\n{decision.text}"
    return f"\n\n[{policy.version.spec.refusal}]"
