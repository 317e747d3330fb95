"""CI gates: rules over a candidate run and its comparison with a baseline.

A rule is `METRIC OP NUMBER` with OP one of >=, <=, >, <, ==. METRIC is a scorer's key in
the runs (`f1`, `f1:threshold=0.6`) with an optional suffix:

| metric | value |
|---|---|
| `NAME` | the candidate's mean |
| `NAME_pass_rate` | the candidate's pass rate |
| `NAME_delta` | candidate mean - baseline mean (paired items) |
| `NAME_delta_low`, `NAME_delta_high` | the 95% bootstrap interval of that difference |
| `NAME_pass_rate_delta` | candidate pass rate - baseline pass rate |

A gate passes when every rule holds. `junit_xml` writes the result for CI (one test case
per rule, a failure for each rule that does not hold).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from steerwise.core.errors import BadInputError
from steerwise.core.evals import EvalReport
from steerwise.evals.compare import Comparison

_RULE = re.compile(r"^\s*(?P<metric>.+?)\s*(?P<op>>=|<=|==|>|<)\s*(?P<value>-?\d+(?:\.\d+)?)\s*$")
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": lambda a, b: abs(a - b) <= 1e-9,
}
_SUFFIXES = ("_pass_rate_delta", "_delta_low", "_delta_high", "_delta", "_pass_rate", "")


@dataclass(frozen=True)
class Rule:
    """One rule: metric, operator, threshold (and the text it was written as)."""

    text: str
    metric: str
    op: str
    threshold: float


@dataclass(frozen=True)
class RuleResult:
    """One rule checked: the metric's value and whether it holds."""

    rule: Rule
    value: float
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"rule": self.rule.text, "value": round(self.value, 6), "passed": self.passed}


@dataclass(frozen=True)
class GateResult:
    """Every rule checked; the gate passes when all hold."""

    baseline: str
    candidate: str
    results: list[RuleResult]

    @property
    def passed(self) -> bool:
        """Every rule holds."""
        return all(result.passed for result in self.results)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "passed": self.passed,
            "baseline": self.baseline,
            "candidate": self.candidate,
            "rules": [result.to_dict() for result in self.results],
        }


def parse_rule(text: str) -> Rule:
    """A rule from its text, or BadInputError saying how to write one."""
    matched = _RULE.match(text)
    if matched is None:
        raise BadInputError(
            f"rule {text!r} is not METRIC OP NUMBER",
            hint='for example "f1>=0.6" or "f1_delta>=-0.02"',
        )
    return Rule(text.strip(), matched["metric"], matched["op"], float(matched["value"]))


def read_rules(path: str | Path) -> list[str]:
    """Rules from a file, one per line (blank lines and `#` comments skipped)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise BadInputError(f"{path}: cannot read the rules: {error.strerror}") from None
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def check_gate(
    rules: Sequence[str], comparison: Comparison, baseline: EvalReport, candidate: EvalReport
) -> GateResult:
    """Every rule against the runs and their comparison."""
    if not rules:
        raise BadInputError("a gate needs at least one rule", hint='--rule "f1>=0.6"')
    parsed = [parse_rule(text) for text in rules]
    values = _Values(comparison, baseline, candidate)
    results = [
        RuleResult(rule, value, _OPERATORS[rule.op](value, rule.threshold))
        for rule in parsed
        for value in (values.of(rule.metric),)
    ]
    return GateResult(baseline.run.id, candidate.run.id, results)


class _Values:
    """The value of each metric a rule may name."""

    def __init__(self, comparison: Comparison, baseline: EvalReport, candidate: EvalReport):
        self._comparison = comparison
        self._baseline = {s.scorer: s for s in baseline.summary}
        self._candidate = {s.scorer: s for s in candidate.summary}

    def of(self, metric: str) -> float:
        for suffix in _SUFFIXES:
            scorer = metric.removesuffix(suffix) if suffix else metric
            if (suffix and not metric.endswith(suffix)) or scorer not in self._candidate:
                continue
            return self._value(scorer, suffix)
        known = ", ".join(self._candidate) or "none"
        raise BadInputError(f"rule metric {metric!r} names no scorer of the run (it has: {known})")

    def _value(self, scorer: str, suffix: str) -> float:
        if suffix in ("", "_pass_rate"):
            summary = self._candidate[scorer]
            found = summary.mean if suffix == "" else summary.pass_rate
            return _present(found, scorer)
        if suffix == "_pass_rate_delta":
            before = self._baseline.get(scorer)
            if before is None:
                raise BadInputError(f"the baseline run has no scorer {scorer!r}")
            after = _present(self._candidate[scorer].pass_rate, scorer)
            return after - _present(before.pass_rate, scorer)
        metric = self._comparison.metric(scorer)
        return {"_delta": metric.delta, "_delta_low": metric.low, "_delta_high": metric.high}[
            suffix
        ]


def _present(value: float | None, scorer: str) -> float:
    if value is None:
        raise BadInputError(f"scorer {scorer!r} judged no item of the run")
    return value


def junit_xml(result: GateResult) -> str:
    """The gate as JUnit XML: one test case per rule."""
    failures = sum(1 for found in result.results if not found.passed)
    suite = ElementTree.Element(
        "testsuite",
        name="steerwise eval gate",
        tests=str(len(result.results)),
        failures=str(failures),
        errors="0",
    )
    for found in result.results:
        case = ElementTree.SubElement(
            suite, "testcase", classname=f"eval.{result.candidate[:12]}", name=found.rule.text
        )
        if not found.passed:
            failure = ElementTree.SubElement(
                case, "failure", message=f"{found.rule.metric} = {found.value:.6g}"
            )
            failure.text = (
                f"{found.rule.text} does not hold: {found.rule.metric} = {found.value:.6g}"
            )
    ElementTree.indent(suite)
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
