"""A compiled policy: its rails bound to detectors, checking texts and deciding what happens.

Rails run in the order written. A rail that finds something acts: `redact` replaces the
spans with placeholders and the next rails see the redacted text; `flag` lets the text pass
and queues it for review; `block`, `fallback` and `reask` decide at once. A rail whose
detector raises blocks (reason `rail_error`) unless it says `fail_open: true`; either way the
failure is reported to the policy's event sink. Every decision a check returns goes to the
`on_decision` sink (the registry's decision log).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from steerwise.core.guardrails import (
    CheckContext,
    Decision,
    Direction,
    Finding,
    Outcome,
    PolicySpec,
    Rail,
    RailResult,
)
from steerwise.core.versioning import SpecVersion
from steerwise.guardrails.detectors import (
    DETECTORS,
    Detector,
    DetectorServices,
    judges_whole_text,
)
from steerwise.guardrails.redaction import has_whole_text_findings, redact, restore

PolicyVersion = SpecVersion[PolicySpec]
Scope = Literal["all", "sentence", "whole"]
"""Which rails a check runs: all, those that judge pieces (sentences), or whole-text ones."""
EventSink = Callable[[str, Decision, RailResult, str], None]
"""Called with (kind, decision, rail result, the text checked) for flags and rail failures."""


@dataclass(frozen=True)
class CompiledRail:
    """A rail and the detector built from its settings."""

    rail: Rail
    detector: Detector


def build_detector(rail: Rail, services: DetectorServices) -> Detector:
    """The detector a rail names, with its validated settings (checked at push already)."""
    kind = DETECTORS[rail.detector]
    detector: Detector = kind(kind.Settings.model_validate(rail.settings), services)
    return detector


@dataclass
class _Run:
    """The state of one check while its rails run."""

    text: str
    placeholders: dict[str, str]
    inherited: dict[str, str]
    results: list[RailResult] = field(default_factory=list)
    redacted: bool = False
    flagged: list[RailResult] = field(default_factory=list)


@dataclass
class PendingCheck:
    """A check whose text-changing rails have run (`Policy.begin`); `text` is what the rails
    after them judge, and what a model may read while they do."""

    direction: Direction
    run: _Run
    context: CheckContext
    judging: list[CompiledRail]
    decided: Decision | None

    @property
    def text(self) -> str:
        """The text after redaction (final: the judging rails do not change it)."""
        return self.run.text

    @property
    def placeholders(self) -> dict[str, str]:
        """The placeholders of the redactions so far."""
        return self.run.placeholders


class Policy:
    """One policy version, ready to check input and output texts."""

    def __init__(
        self,
        version: PolicyVersion,
        services: DetectorServices,
        *,
        on_event: EventSink | None = None,
        on_decision: Callable[[Decision], None] | None = None,
    ) -> None:
        self.version = version
        self._on_event = on_event
        self._on_decision = on_decision
        self._rails: dict[Direction, list[CompiledRail]] = {
            direction: [
                CompiledRail(rail, build_detector(rail, services))
                for rail in version.spec.rails(direction)
            ]
            for direction in ("input", "output")
        }

    def rails(self, direction: Direction, scope: Scope = "all") -> list[CompiledRail]:
        """The compiled rails of one direction, in order, limited to `scope`."""
        rails = self._rails[direction]
        if scope == "all":
            return rails
        whole = scope == "whole"
        return [rail for rail in rails if judges_whole_text(rail.detector) == whole]

    @property
    def reask_budget(self) -> int:
        """How many times an answer may be asked for again (the most any output rail allows)."""
        return max(
            (r.max_reasks for r in self.version.spec.output if r.action == "reask"), default=0
        )

    @property
    def ref(self) -> str:
        """`name@version` of the policy."""
        return self.version.ref

    def check_input(
        self,
        text: str,
        context: CheckContext | None = None,
        placeholders: Mapping[str, str] | None = None,
    ) -> Decision:
        """Run the input rails on `text` (a user message, a variable, a retrieved passage)."""
        return self.check("input", text, context or CheckContext(), placeholders or {})

    def check_output(
        self,
        text: str,
        context: CheckContext | None = None,
        placeholders: Mapping[str, str] | None = None,
    ) -> Decision:
        """Run the output rails on a model's answer; put back placeholders the input rails allow."""
        return self.check("output", text, context or CheckContext(), placeholders or {})

    def check(
        self,
        direction: Direction,
        text: str,
        context: CheckContext,
        placeholders: Mapping[str, str],
        scope: Scope = "all",
    ) -> Decision:
        """Run one direction's rails (of `scope`); the first deciding rail ends the check."""
        run = _Run(text, dict(placeholders), dict(placeholders))
        decision = self._run_rails(direction, self.rails(direction, scope), run, context)
        return self._record(decision or self._finish(direction, run))

    def begin(
        self,
        direction: Direction,
        text: str,
        context: CheckContext | None = None,
        placeholders: Mapping[str, str] | None = None,
    ) -> PendingCheck:
        """Run the rails that may change the text (up to the last `redact` rail) now, and
        leave the rails after them, which only judge, to `complete`: the text the pending
        check holds is final, so a model may read it while the judging rails still run.
        `complete(begin(...))` decides exactly as `check` does."""
        rails = self.rails(direction)
        cut = max((i + 1 for i, c in enumerate(rails) if c.rail.action == "redact"), default=0)
        run = _Run(text, dict(placeholders or {}), dict(placeholders or {}))
        context = context or CheckContext()
        decided = self._run_rails(direction, rails[:cut], run, context)
        return PendingCheck(direction, run, context, [] if decided else rails[cut:], decided)

    def complete(self, pending: PendingCheck) -> Decision:
        """Run a pending check's judging rails and record its decision."""
        direction, run = pending.direction, pending.run
        decision = pending.decided or self._run_rails(
            direction, pending.judging, run, pending.context
        )
        return self._record(decision or self._finish(direction, run))

    def prepare(self, direction: Direction, context: CheckContext) -> None:
        """Let the rails of `direction` do ahead of time what depends on the context only
        (grounding embeds the passages' sentences), so that the check later is shorter. A
        rail whose preparation fails is left to fail (and be reported) in the check itself."""
        for compiled in self.rails(direction):
            prepare = getattr(compiled.detector, "prepare", None)
            if prepare is not None:
                with contextlib.suppress(Exception):
                    prepare(context)

    @property
    def prepares_answers(self) -> bool:
        """Whether an output rail can do part of its check on an answer still being written
        (`prepare_answer`)."""
        return any(_answer_preparer(compiled) is not None for compiled in self.rails("output"))

    def prepare_answer(self, text: str, context: CheckContext) -> None:
        """Let the output rails work ahead on a partial answer (grounding embeds its finished
        sentences), so that the check of the whole answer is shorter. As with `prepare`, a
        failure here is left to the check itself."""
        for compiled in self.rails("output"):
            prepare = _answer_preparer(compiled)
            if prepare is not None:
                with contextlib.suppress(Exception):
                    prepare(text, context)

    def _run_rails(
        self, direction: Direction, rails: list[CompiledRail], run: _Run, context: CheckContext
    ) -> Decision | None:
        """Apply `rails` in order until one decides (None: none did)."""
        for compiled in rails:
            decision = self._apply(direction, compiled, run, context)
            if decision is not None:
                return decision
        return None

    def _record(self, decision: Decision) -> Decision:
        if self._on_decision is not None:
            self._on_decision(decision)
        return decision

    def _apply(
        self, direction: Direction, compiled: CompiledRail, run: _Run, context: CheckContext
    ) -> Decision | None:
        result = _run_rail(compiled, run.text, context)
        run.results.append(result)
        rail = compiled.rail
        if result.error is not None:
            decision = self._failed(direction, rail, run)
            self._emit("rail_error", decision, result, run.text)
            return None if rail.fail_open else decision
        if not result.triggered:
            return None
        if rail.action == "redact" and not has_whole_text_findings(result.findings):
            run.text, run.placeholders = redact(run.text, result.findings, run.placeholders)
            run.redacted = True
            return None
        if rail.action == "flag":
            run.flagged.append(result)
            return None
        return self._decide(direction, rail, result, run)

    def _decide(self, direction: Direction, rail: Rail, result: RailResult, run: _Run) -> Decision:
        """A deciding action: block, fallback or reask (redact of a spanless finding blocks)."""
        action: Outcome = "block" if rail.action == "redact" else rail.action
        code = _reason_code(direction, rail, result.findings[0])
        reasons = "; ".join(finding.reason for finding in result.findings[:5])
        if action == "fallback":
            text, message = rail.message or self.version.spec.refusal, reasons
        elif action == "reask":
            text, message = run.text, _reask_message(result.findings)
        else:
            text, message = "", rail.message or self.version.spec.refusal
        return Decision(
            direction, action, text, tuple(run.results), self.ref, code, message, run.placeholders
        )

    def _failed(self, direction: Direction, rail: Rail, run: _Run) -> Decision:
        outcome: Outcome = "allow" if rail.fail_open else "block"
        return Decision(
            direction,
            outcome,
            run.text if rail.fail_open else "",
            tuple(run.results),
            self.ref,
            f"{direction}.{rail.rail_name}.rail_error",
            rail.message or self.version.spec.refusal,
            run.placeholders,
        )

    def _finish(self, direction: Direction, run: _Run) -> Decision:
        text = restore(run.text, run.inherited) if self._restores(direction) else run.text
        outcome: Outcome = "redact" if run.redacted else "flag" if run.flagged else "allow"
        first = run.flagged[0] if run.flagged else None
        code = ""
        if first is not None:
            code = _reason_code(direction, self._rail(direction, first.rail), first.findings[0])
        decision = Decision(
            direction, outcome, text, tuple(run.results), self.ref, code, "", run.placeholders
        )
        for flagged in run.flagged:
            self._emit("flag", decision, flagged, run.text)
        return decision

    def _restores(self, direction: Direction) -> bool:
        """Output placeholders go back only where an input redact rail says `restore: true`."""
        return direction == "output" and any(
            rail.restore for rail in self.version.spec.input if rail.action == "redact"
        )

    def _rail(self, direction: Direction, name: str) -> Rail:
        return next(c.rail for c in self._rails[direction] if c.rail.rail_name == name)

    def _emit(self, kind: str, decision: Decision, result: RailResult, text: str) -> None:
        if self._on_event is not None:
            self._on_event(kind, decision, result, text)


def _run_rail(compiled: CompiledRail, text: str, context: CheckContext) -> RailResult:
    rail = compiled.rail
    start = time.perf_counter()
    try:
        findings = tuple(compiled.detector.detect(text, context))
        error = None
    except Exception as failure:  # a crashing detector must never let text through unchecked
        findings, error = (), f"{type(failure).__name__}: {failure}"
    elapsed = (time.perf_counter() - start) * 1e6
    return RailResult(
        rail.rail_name,
        rail.detector,
        rail.action,
        findings,
        bool(findings) or error is not None,
        error,
        elapsed,
    )


def _reason_code(direction: Direction, rail: Rail, finding: Finding) -> str:
    return f"{direction}.{rail.rail_name}.{finding.type}"


def _reask_message(findings: tuple[Finding, ...]) -> str:
    problems = "\n".join(f"- {finding.reason}" for finding in findings[:5])
    return (
        "Your previous answer broke these rules:\n"
        f"{problems}\n"
        "Answer again, fixing every problem listed, and change nothing else."
    )


def describe(decision: Decision) -> dict[str, Any]:
    """A decision as stored in a review item: no placeholder values, no raw text."""
    return {key: value for key, value in decision.to_dict().items() if key != "text"}


def _answer_preparer(compiled: CompiledRail) -> Callable[[str, CheckContext], None] | None:
    """The rail's detector's `prepare_answer`, if it has one and says it does work there
    (`prepares_answers`: grounding by word overlap alone has nothing to do ahead)."""
    prepare: Callable[[str, CheckContext], None] | None
    prepare = getattr(compiled.detector, "prepare_answer", None)
    return prepare if getattr(compiled.detector, "prepares_answers", False) else None
