"""Prometheus metrics of the gateway, kept in memory, in the text exposition format.

Series: `steerwise_requests_total{deployment,outcome}`, `steerwise_request_seconds`
(histogram per deployment), `steerwise_tokens_total{deployment,direction}`,
`steerwise_guardrail_decisions_total{deployment,direction,outcome}` and
`steerwise_errors_total{status}`. They count since the server started.
"""

from __future__ import annotations

import threading
from collections import defaultdict

from steerwise.pipeline.request import Answer

BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
Labels = tuple[tuple[str, str], ...]


class Metrics:
    """Thread-safe counters and latency histograms (module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[Labels, float]] = defaultdict(lambda: defaultdict(float))
        self._histograms: dict[str, list[float]] = {}

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
            self._histogram(deployment, seconds)

    def observe_error(self, status: int) -> None:
        """Count one request answered with an error status."""
        with self._lock:
            self._add("steerwise_errors_total", status=str(status))

    def render(self) -> str:
        """Every series in the Prometheus text format."""
        with self._lock:
            lines = []
            for name, series in sorted(self._counters.items()):
                lines.append(f"# TYPE {name} counter")
                lines += [
                    f"{name}{_labels(labels)} {value:g}" for labels, value in sorted(series.items())
                ]
            if self._histograms:
                lines.append("# TYPE steerwise_request_seconds histogram")
            for deployment, counts in sorted(self._histograms.items()):
                lines += _histogram_lines(deployment, counts)
        return "\n".join(lines) + "\n"

    def _add(self, name: str, value: float = 1.0, **labels: str) -> None:
        self._counters[name][tuple(sorted(labels.items()))] += value

    def _histogram(self, deployment: str, seconds: float) -> None:
        counts = self._histograms.setdefault(deployment, [0.0] * (len(BUCKETS) + 2))
        for index, bound in enumerate(BUCKETS):
            if seconds <= bound:
                counts[index] += 1
        counts[-2] += 1  # count
        counts[-1] += seconds  # sum


def _histogram_lines(deployment: str, counts: list[float]) -> list[str]:
    name, base = "steerwise_request_seconds", (("deployment", deployment),)
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
