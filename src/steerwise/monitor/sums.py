"""What a window's queries add up to, from raw facts or from hourly roll-ups, in one shape.

Short windows (up to three hours) are summed from `trace_facts` directly. Longer ones take
their whole hours from `metric_hours`, a roll-up the trace writer keeps beside the facts (one
row per deployment, release, hour, metric and bucket, incremented in the trace's own
transaction), and only the partial hours at either end from the facts. The roll-up holds the
same cells a window's raw queries produce (`hourly_cells`), so both paths give the same
figures; a week of a million traces is then read as a few tens of thousands of cells.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from steerwise.core.traces import TRACE_STEPS
from steerwise.monitor.facts import TraceFacts, latency_bucket, tenth
from steerwise.store.monitor import TOTALS, HourCell, MonitorRecords, Scope
from steerwise.store.records import Transaction

RAIL_SEPARATOR = "|"


@dataclass
class WindowSums:
    """Counts and sums over a window, added up from any number of parts."""

    totals: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    outcomes: Counter[str] = field(default_factory=Counter)
    latency: Counter[int] = field(default_factory=Counter)
    steps: dict[str, Counter[int]] = field(default_factory=dict)
    confidence: Counter[int] = field(default_factory=Counter)
    grounding: Counter[int] = field(default_factory=Counter)
    releases: Counter[str] = field(default_factory=Counter)
    rails: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    series: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, other: WindowSums) -> None:
        for name, value in other.totals.items():
            self.totals[name] += value
        self.outcomes.update(other.outcomes)
        self.releases.update(other.releases)
        self.latency.update(other.latency)
        self.confidence.update(other.confidence)
        self.grounding.update(other.grounding)
        self.rails.update(other.rails)
        for step, buckets in other.steps.items():
            self.steps.setdefault(step, Counter()).update(buckets)
        for period, counts in other.series.items():
            self.series.setdefault(period, Counter()).update(counts)

    def add_cell(self, metric: str, bucket: int, value: float) -> None:
        """One roll-up cell (`hourly_cells`' naming)."""
        kind, _, name = metric.partition(":")
        if kind == "total":
            self.totals[name] += value
        elif kind == "outcome":
            self.outcomes[name] += int(value)
        elif kind == "latency":
            self.latency[bucket] += int(value)
        elif kind == "step":
            self.steps.setdefault(name, Counter())[bucket] += int(value)
        elif kind in ("confidence", "grounding"):
            getattr(self, kind)[bucket] += int(value)
        elif kind == "rail":
            stage, rail, result, decision = name.split(RAIL_SEPARATOR)
            self.rails[stage, rail, result, decision] += int(value)


def raw_sums(records: MonitorRecords, scope: Scope, width: int) -> WindowSums:
    """Sums of a window read from `trace_facts` (series periods: `width` characters)."""
    sums = WindowSums()
    sums.totals.update(
        dict(zip(TOTALS, (float(v or 0) for v in records.totals(scope)), strict=True))
    )
    sums.outcomes.update({str(k): int(n) for k, n in records.counts_by("outcome", scope)})
    sums.latency.update({int(k): int(n) for k, n in records.counts_by("latency_bucket", scope)})
    for step in TRACE_STEPS:
        found = {int(k): int(n) for k, n in records.counts_by(f"{step}_bucket", scope)}
        if found:
            sums.steps[step] = Counter(found)
    sums.confidence.update({int(k): int(n) for k, n in records.counts_by("confidence_bin", scope)})
    sums.grounding.update({int(k): int(n) for k, n in records.counts_by("grounding_bin", scope)})
    sums.releases.update({str(k): int(n) for k, n in records.counts_by("release", scope)})
    for stage, rail, result, decision, count in records.rails(scope):
        sums.rails[str(stage), str(rail), str(result), str(decision)] += int(count)
    for period, requests, errors, refusals in records.series(scope, width):
        sums.series[str(period)] = Counter(
            {"requests": int(requests), "errors": int(errors), "refusals": int(refusals)}
        )
    return sums


def hourly_sums(records: MonitorRecords, scope: Scope, width: int) -> WindowSums:
    """Sums of whole hours read from `metric_hours` (the scope's bounds are hour starts)."""
    sums = WindowSums()
    for release, metric, bucket, value in records.hour_cells(scope):
        sums.add_cell(str(metric), int(bucket), float(value))
        if metric == "total:requests":
            sums.releases[str(release)] += int(value)
    for hour, metric, value in records.hour_series(scope):
        period = str(hour)[:width]
        sums.series.setdefault(period, Counter())[str(metric).removeprefix("total:")] += int(value)
    return sums


def store_facts(tx: Transaction, facts: Sequence[TraceFacts]) -> None:
    """Write traces' facts, their rails and their roll-up increments (in `tx`, the traces'
    own transaction)."""
    tx.monitor.add_many([f.row() for f in facts], [row for f in facts for row in f.rail_rows()])
    tx.monitor.add_hourly(hourly_cells(facts))


def hourly_cells(facts: Iterable[TraceFacts]) -> list[HourCell]:
    """The roll-up increments of a batch of traces, one per distinct cell."""
    cells: defaultdict[tuple[str, str, str, str, str, int], float] = defaultdict(float)
    for fact in facts:
        key = (fact.target, fact.release_name, fact.release, fact.created_at[:13])
        for metric, bucket, value in _cells_of(fact):
            cells[(*key, metric, bucket)] += value
    return [HourCell(*key, value) for key, value in cells.items()]


def _cells_of(fact: TraceFacts) -> Sequence[tuple[str, int, float]]:
    totals = {
        "requests": 1,
        "errors": int(fact.error),
        "refusals": int(fact.refused),
        "input_tokens": fact.input_tokens,
        "output_tokens": fact.output_tokens,
        "cost_usd": fact.cost_usd,
        "attempts": fact.attempts,
        "confidence_sum": fact.confidence or 0.0,
        "confidence_n": int(fact.confidence is not None),
        "grounding_sum": fact.grounding or 0.0,
        "grounding_n": int(fact.grounding is not None),
        "stale": int(fact.stale),
        "input_chars": fact.input_chars,
        "output_chars": fact.output_chars,
    }
    found: list[tuple[str, int, float]] = [(f"total:{k}", 0, v) for k, v in totals.items() if v]
    found.append((f"outcome:{fact.outcome}", 0, 1))
    found.append(("latency", latency_bucket(fact.latency_ms), 1))
    found += [(f"step:{step}", latency_bucket(ms), 1) for step, ms in fact.steps.items()]
    for kind, score in (("confidence", fact.confidence), ("grounding", fact.grounding)):
        if score is not None:
            found.append((kind, tenth(score) or 0, 1))
    for rail in fact.rails:
        name = RAIL_SEPARATOR.join((rail.stage, rail.rail, rail.result, rail.decision))
        found.append((f"rail:{name}", 0, 1))
    return found
