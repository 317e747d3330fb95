"""Per-deployment metrics over a time window, from the facts stored with each trace.

`Monitor.metrics("support-bot@production", window="1h")` answers what an on-call engineer
asks first: how much traffic, how fast (p50, p95, p99 overall and per step), how many errors
and refusals, which rails fired, what it cost, how confident and grounded the answers were,
and how many cited stale sources. A deployment is the target asked (`bot@production`) or a
release name (`bot`: every version of it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from steerwise.core.errors import BadInputError
from steerwise.core.traces import TRACE_STEPS
from steerwise.monitor.facts import REFUSALS, bucket_value
from steerwise.store import Store
from steerwise.store.monitor import MonitorRecords, Scope
from steerwise.store.session import Row

WINDOW_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_WINDOW = re.compile(r"(\d+)([smhdw])")
QUANTILES = (0.5, 0.95, 0.99)


def parse_window(text: str) -> timedelta:
    """`90s`, `15m`, `1h`, `7d`, `2w` as a duration; anything else is bad input."""
    found = _WINDOW.fullmatch(text.strip())
    if found is None or int(found.group(1)) == 0:
        raise BadInputError(
            f"window {text!r} is not a duration",
            hint="write a whole number and a unit: 90s, 15m, 1h, 7d or 2w",
        )
    return timedelta(seconds=int(found.group(1)) * WINDOW_UNITS[found.group(2)])


def iso(moment: datetime) -> str:
    """The timestamp form traces are stored with (UTC, microseconds, `Z`)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """An ISO 8601 time (naive means UTC); bad input names the value."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadInputError(
            f"time {text!r} is not ISO 8601", hint="write e.g. 2026-12-06T09:30:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Percentiles:
    """Milliseconds at the 50th, 95th and 99th percentile (None without data), from
    log-scale buckets: within 2.5% of the exact value."""

    p50: float | None
    p95: float | None
    p99: float | None
    count: int


def percentiles(bucket_counts: Iterable[tuple[int, int]]) -> Percentiles:
    """Percentiles of a histogram given as (bucket, count) pairs."""
    ordered = sorted((int(bucket), int(count)) for bucket, count in bucket_counts)
    total = sum(count for _, count in ordered)
    if total == 0:
        return Percentiles(None, None, None, 0)
    found: list[float] = []
    for quantile in QUANTILES:
        rank, seen = quantile * total, 0
        for bucket, count in ordered:
            seen += count
            if seen >= rank:
                found.append(round(bucket_value(bucket), 3))
                break
    return Percentiles(found[0], found[1], found[2], total)


@dataclass(frozen=True)
class RailRate:
    """How often one rail fired (or failed) in the window, and in which decisions."""

    stage: str
    rail: str
    triggered: int
    errors: int
    refused: int
    rate: float


@dataclass(frozen=True)
class Period:
    """One point of the traffic series."""

    start: str
    requests: int
    errors: int
    refusals: int


@dataclass(frozen=True)
class DeploymentMetrics:
    """Everything `monitor show` prints for one deployment and window."""

    target: str
    since: str
    until: str
    requests: int
    errors: int
    error_rate: float
    refusals: int
    refusal_rate: float
    outcomes: dict[str, int]
    latency: Percentiles
    steps: dict[str, Percentiles]
    input_tokens: int
    output_tokens: int
    cost_usd: float
    cost_per_1k_requests: float
    retries: int
    confidence_mean: float | None
    confidence_tenths: list[int]
    grounding_mean: float | None
    grounding_tenths: list[int]
    stale_citations: int
    stale_share: float
    mean_input_chars: float
    mean_output_chars: float
    releases: dict[str, int]
    rails: list[RailRate] = field(default_factory=list)
    series: list[Period] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Monitor:
    """Reads the metrics of a workspace's traces (module docstring)."""

    def __init__(self, store: Store, *, flush: Callable[[], object] = lambda: None) -> None:
        self._store = store
        self._flush = flush  # writes the traces still queued, so that a read sees them

    def metrics(
        self, target: str, *, window: str = "1h", until: str | datetime | None = None
    ) -> DeploymentMetrics:
        """The metrics of `target` over the `window` that ends at `until` (ISO 8601 or a
        datetime; default: now)."""
        end = parse_time(until) if isinstance(until, str) else until or datetime.now(UTC)
        start = end - parse_window(window)
        scope = Scope(target, iso(start), iso(end))
        self._flush()
        with self._store.read() as tx:
            sums = _read(tx.monitor, scope, _series_width(end - start))
        return _assemble(target, scope, sums)

    def examples(self, target: str, condition: str, *, window: str, limit: int = 5) -> list[str]:
        """Ids of recent traces of `target` that are errors, refusals, stale or `any`."""
        end = datetime.now(UTC)
        scope = Scope(target, iso(end - parse_window(window)), iso(end))
        self._flush()
        with self._store.read() as tx:
            return tx.monitor.examples(scope, condition, limit)


def _series_width(span: timedelta) -> int:
    """Timestamp prefix length of the series' periods: minutes up to 3 hours, hours up to
    3 days, else days."""
    if span <= timedelta(hours=3):
        return 16
    return 13 if span <= timedelta(days=3) else 10


@dataclass(frozen=True)
class _Sums:
    """What the queries of one window returned."""

    totals: Sequence[Any]
    outcomes: dict[str, int]
    latency: list[Row]
    steps: dict[str, list[Row]]
    confidence: dict[int, int]
    grounding: dict[int, int]
    releases: dict[str, int]
    rails: list[Row]
    series: list[Row]


def _read(records: MonitorRecords, scope: Scope, width: int) -> _Sums:
    def counted(column: str) -> dict[Any, int]:
        return {key: int(count) for key, count in records.counts_by(column, scope)}

    return _Sums(
        totals=records.totals(scope),
        outcomes=counted("outcome"),
        latency=records.counts_by("latency_bucket", scope),
        steps={step: records.counts_by(f"{step}_bucket", scope) for step in TRACE_STEPS},
        confidence=counted("confidence_bin"),
        grounding=counted("grounding_bin"),
        releases=counted("release"),
        rails=records.rails(scope),
        series=records.series(scope, width),
    )


def _assemble(target: str, scope: Scope, sums: _Sums) -> DeploymentMetrics:
    totals, outcomes = sums.totals, sums.outcomes
    requests, errors = int(totals[0]), int(totals[1])
    refusals = sum(int(count) for outcome, count in outcomes.items() if outcome in REFUSALS)
    cost = float(totals[4])
    return DeploymentMetrics(
        target=target,
        since=scope.params["since"],
        until=scope.params["until"],
        requests=requests,
        errors=errors,
        error_rate=_share(errors, requests),
        refusals=refusals,
        refusal_rate=_share(refusals, requests),
        outcomes={str(k): int(v) for k, v in sorted(outcomes.items())},
        latency=percentiles(sums.latency),
        steps={step: percentiles(rows) for step, rows in sums.steps.items() if rows},
        input_tokens=int(totals[2]),
        output_tokens=int(totals[3]),
        cost_usd=round(cost, 6),
        cost_per_1k_requests=round(1000 * cost / requests, 6) if requests else 0.0,
        retries=max(0, int(totals[5]) - requests),
        confidence_mean=_mean(totals[6], totals[7]),
        confidence_tenths=[sums.confidence.get(i, 0) for i in range(10)],
        grounding_mean=_mean(totals[8], totals[9]),
        grounding_tenths=[sums.grounding.get(i, 0) for i in range(10)],
        stale_citations=int(totals[10]),
        stale_share=_share(int(totals[10]), requests),
        mean_input_chars=round(int(totals[11]) / requests, 1) if requests else 0.0,
        mean_output_chars=round(int(totals[12]) / requests, 1) if requests else 0.0,
        releases=dict(sorted(sums.releases.items())),
        rails=_rail_rates(sums.rails, requests),
        series=[Period(str(p), int(n), int(e), int(r)) for p, n, e, r in sums.series],
    )


def _rail_rates(rows: list[Any], requests: int) -> list[RailRate]:
    tally: dict[tuple[str, str], list[int]] = {}
    for stage, rail, result, decision, count in rows:
        counts = tally.setdefault((str(stage), str(rail)), [0, 0, 0])
        counts[0 if result == "triggered" else 1] += int(count)
        if decision in REFUSALS:
            counts[2] += int(count)
    return [
        RailRate(stage, rail, fired, failed, refused, _share(fired, requests))
        for (stage, rail), (fired, failed, refused) in sorted(tally.items())
    ]


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _mean(total: Any, count: Any) -> float | None:
    return round(float(total) / int(count), 4) if count else None
