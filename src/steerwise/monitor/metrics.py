"""Per-deployment metrics over a time window, from the facts stored with each trace.

`Monitor.metrics("support-bot@production", window="1h")` answers what an on-call engineer
asks first: how much traffic, how fast (p50, p95, p99 overall and per step), how many errors
and refusals, which rails fired, what it cost, how confident and grounded the answers were,
and how many cited stale sources. A deployment is the target asked (`bot@production`) or a
release name (`bot`: every version of it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from steerwise.core.errors import BadInputError
from steerwise.core.traces import TRACE_STEPS
from steerwise.core.windows import parse_window
from steerwise.monitor.facts import REFUSALS, bucket_value
from steerwise.monitor.sums import WindowSums, hourly_sums, raw_sums
from steerwise.store import Store
from steerwise.store.monitor import MonitorRecords, Scope

QUANTILES = (0.5, 0.95, 0.99)
RAW_UP_TO = timedelta(hours=3)
"""Windows up to this long are summed from the facts themselves (series per minute)."""


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


def parse_span(text: str, *, ending: datetime) -> tuple[datetime, datetime]:
    """`START/END` (ISO 8601), or a window (`7d`) that ends at `ending`."""
    if "/" in text:
        start, _, end = text.partition("/")
        return parse_time(start), parse_time(end)
    return ending - parse_window(text), ending


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
    feedback_count: int = 0
    feedback_mean: float | None = None
    feedback_negative_share: float = 0.0
    review_items: dict[str, int] = field(default_factory=dict)
    """Review items about the deployment queued in the window, by status (open, done)."""
    review_verdicts: dict[str, int] = field(default_factory=dict)
    """Their verdicts by kind (approve, reject, correct)."""
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
        self._flush()
        scope = Scope(target, iso(start), iso(end))
        with self._store.read() as tx:
            sums = window_sums(tx.monitor, target, start, end)
            rated, score, negative = tx.feedback.totals(scope.where, scope.params)
            items = tx.monitor.review_items(scope)
            verdicts = tx.monitor.review_verdicts(scope)
        found = _assemble(scope, sums)
        return replace(
            found,
            feedback_count=int(rated),
            feedback_mean=_mean(score, rated),
            feedback_negative_share=_share(int(negative), int(rated)),
            review_items={str(k): int(n) for k, n in sorted(items)},
            review_verdicts={str(k): int(n) for k, n in sorted(verdicts)},
        )

    def examples(
        self,
        target: str,
        condition: str,
        *,
        window: str,
        until: datetime | None = None,
        limit: int = 5,
    ) -> list[str]:
        """Ids of the newest traces of `target` in the window ending at `until` (default:
        now) that are errors, refusals, stale or `any`."""
        end = until or datetime.now(UTC)
        scope = Scope(target, iso(end - parse_window(window)), iso(end))
        self._flush()
        with self._store.read() as tx:
            return tx.monitor.examples(scope, condition, limit)


def window_sums(records: MonitorRecords, target: str, start: datetime, end: datetime) -> WindowSums:
    """The window's sums: from the facts for windows up to `RAW_UP_TO`, else whole hours from
    the roll-up and the partial hours at either end from the facts."""
    width = _series_width(end - start)
    if end - start <= RAW_UP_TO:
        return raw_sums(records, Scope(target, iso(start), iso(end)), width)
    first = _next_hour(start)
    last = end.replace(minute=0, second=0, microsecond=0)
    sums = hourly_sums(records, Scope(target, iso(first), iso(last)), width)
    for edge_start, edge_end in ((start, first), (last, end)):
        if edge_start < edge_end:
            sums.add(raw_sums(records, Scope(target, iso(edge_start), iso(edge_end)), width))
    return sums


def _next_hour(moment: datetime) -> datetime:
    whole = moment.replace(minute=0, second=0, microsecond=0)
    return whole if whole == moment else whole + timedelta(hours=1)


def _series_width(span: timedelta) -> int:
    """Timestamp prefix length of the series' periods: minutes up to 3 hours, hours up to
    3 days, else days."""
    if span <= RAW_UP_TO:
        return 16
    return 13 if span <= timedelta(days=3) else 10


def _assemble(scope: Scope, sums: WindowSums) -> DeploymentMetrics:
    totals = sums.totals
    requests, errors, refusals = (int(totals[k]) for k in ("requests", "errors", "refusals"))
    cost = float(totals["cost_usd"])
    return DeploymentMetrics(
        target=scope.params["target"],
        since=scope.params["since"],
        until=scope.params["until"],
        requests=requests,
        errors=errors,
        error_rate=_share(errors, requests),
        refusals=refusals,
        refusal_rate=_share(refusals, requests),
        outcomes=dict(sorted(sums.outcomes.items())),
        latency=percentiles(sums.latency.items()),
        steps={s: percentiles(sums.steps[s].items()) for s in TRACE_STEPS if s in sums.steps},
        input_tokens=int(totals["input_tokens"]),
        output_tokens=int(totals["output_tokens"]),
        cost_usd=round(cost, 6),
        cost_per_1k_requests=round(1000 * cost / requests, 6) if requests else 0.0,
        retries=max(0, int(totals["attempts"]) - requests),
        confidence_mean=_mean(totals["confidence_sum"], totals["confidence_n"]),
        confidence_tenths=[sums.confidence[i] for i in range(10)],
        grounding_mean=_mean(totals["grounding_sum"], totals["grounding_n"]),
        grounding_tenths=[sums.grounding[i] for i in range(10)],
        stale_citations=int(totals["stale"]),
        stale_share=_share(int(totals["stale"]), requests),
        mean_input_chars=round(totals["input_chars"] / requests, 1) if requests else 0.0,
        mean_output_chars=round(totals["output_chars"] / requests, 1) if requests else 0.0,
        releases=dict(sorted(sums.releases.items())),
        rails=_rail_rates(sums.rails, requests),
        series=[
            Period(period, counts["requests"], counts["errors"], counts["refusals"])
            for period, counts in sorted(sums.series.items())
        ],
    )


def _rail_rates(rails: Counter[tuple[str, str, str, str]], requests: int) -> list[RailRate]:
    tally: dict[tuple[str, str], list[int]] = {}
    for (stage, rail, result, decision), count in rails.items():
        counts = tally.setdefault((stage, rail), [0, 0, 0])
        counts[0 if result == "triggered" else 1] += count
        if decision in REFUSALS:
            counts[2] += count
    return [
        RailRate(stage, rail, fired, failed, refused, _share(fired, requests))
        for (stage, rail), (fired, failed, refused) in sorted(tally.items())
    ]


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _mean(total: Any, count: Any) -> float | None:
    return round(float(total) / int(count), 4) if count else None
