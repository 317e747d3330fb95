"""Prometheus metrics of the gateway, kept in memory, in the text exposition format.

Series: `steerwise_requests_total{deployment,outcome}`, `steerwise_request_seconds`
(histogram per deployment), `steerwise_step_seconds{deployment,step}` (histogram per step of
the request path), `steerwise_cost_usd_total{deployment}`,
`steerwise_tokens_total{deployment,direction}`,
`steerwise_guardrail_decisions_total{deployment,direction,outcome}` and
`steerwise_errors_total{status}`. They count since the server started. Gauges read when
scraped (the gateway's: `steerwise_trace_backlog`, traces queued and not yet stored).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Mapping

from steerwise.pipeline.request import Answer

BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
Labels = tuple[tuple[str, str], ...]


class Metrics:
    """Thread-safe counters and latency histograms (module docstring)."""

    def __init__(self, gauges: Mapping[str, Callable[[], float]] | None = None) -> None:
        self._gauges = dict(gauges or {})
        self._lock = threading.Lock()
        self._counters: dict[str, dict[Labels, float]] = defaultdict(lambda: defaultdict(float))
        self._histograms: dict[tuple[str, Labels], list[float]] = {}

    def observe(self, deployment: str, answer: Answer, seconds: float) -> None:
        """Count one answered request."""
        with self._lock:
            self._add("steerwise_requests_total", deployment=deployment, outcome=answer.outcome)
            for run in answer.runs:
                usage = run.answer.usage
                self._add(
                    "steerwise_tokens_total",
                    usage.input_tokens,
                    deployment=deployment,
                    direction="input",
                )
                self._add(
                    "steerwise_tokens_total",
                    usage.output_tokens,
                    deployment=deployment,
                    direction="output",
                )
            for decision in (*answer.input_decisions, *answer.output_decisions):
                self._add(
                    "steerwise_guardrail_decisions_total",
                    deployment=deployment,
                    direction=decision.direction,
                    outcome=decision.outcome,
                )
            self._add("steerwise_cost_usd_total", answer.cost_usd, deployment=deployment)
            self._histogram("steerwise_request_seconds", seconds, deployment=deployment)
            for step, ms in answer.steps.items():
                self._histogram(
                    "steerwise_step_seconds", ms / 1000, deployment=deployment, step=step
                )

    def observe_error(self, status: int) -> None:
        """Count one request answered with an error status."""
        with self._lock:
            self._add("steerwise_errors_total", status=str(status))

    def count(self, name: str, **labels: str) -> None:
        """Add one to the counter `name` with `labels`."""
        with self._lock:
            self._add(name, 1.0, **labels)

    def render(self) -> str:
        """Every series in the Prometheus text format."""
        lines = [
            line
            for name, read in sorted(self._gauges.items())
            for line in (f"# TYPE {name} gauge", f"{name} {read():g}")
        ]
        with self._lock:
            for name, series in sorted(self._counters.items()):
                lines.append(f"# TYPE {name} counter")
                lines += [
                    f"{name}{_labels(labels)} {value:g}" for labels, value in sorted(series.items())
                ]
            for name in sorted({name for name, _ in self._histograms}):
                lines.append(f"# TYPE {name} histogram")
                lines += [
                    line
                    for (series, labels), counts in sorted(self._histograms.items())
                    if series == name
                    for line in _histogram_lines(name, labels, counts)
                ]
        return "\n".join(lines) + "\n"

    def _add(self, name: str, value: float = 1.0, **labels: str) -> None:
        self._counters[name][tuple(sorted(labels.items()))] += value

    def _histogram(self, name: str, seconds: float, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        counts = self._histograms.setdefault(key, [0.0] * (len(BUCKETS) + 2))
        for index, bound in enumerate(BUCKETS):
            if seconds <= bound:
                counts[index] += 1
        counts[-2] += 1  # count
        counts[-1] += seconds  # sum


def _histogram_lines(name: str, base: Labels, counts: list[float]) -> list[str]:
    lines = [
        f"{name}_bucket{_labels((*base, ('le', f'{bound:g}')))} {counts[i]:g}"
        for i, bound in enumerate(BUCKETS)
    ]
    lines.append(f"{name}_bucket{_labels((*base, ('le', '+Inf')))} {counts[-2]:g}")
    lines.append(f"{name}_count{_labels(base)} {counts[-2]:g}")
    lines.append(f"{name}_sum{_labels(base)} {counts[-1]:g}")
    return lines


def _labels(labels: Labels) -> str:
    escaped = (
        f'{key}="{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for key, value in labels
    )
    return "{" + ",".join(escaped) + "}" if labels else ""
