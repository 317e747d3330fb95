"""Drift: has a deployment's traffic moved away from a reference period?

`DriftCheck.run(target, reference=(start, end), current=(start, end))` compares the two
windows' stored trace facts, feature by feature:

- numeric features (input and output length, latency, confidence, grounding): the
  population stability index (PSI, over the reference's deciles) and the two-sample
  Kolmogorov-Smirnov test;
- categorical features (the outcome; whether any rail fired): Pearson's chi-square test on
  the contingency table, and the Jensen-Shannon distance.

Which statistic decides follows Evidently's defaults: with at most 1,000 requests in the
reference, a p-value at or below 0.05 (KS or chi-square); with more, where every test finds
tiny differences significant, a distance: PSI of 0.1 or more, Jensen-Shannon of 0.1 or more.
Both thresholds are settings. A feature with fewer than `min_samples` values in either window
is reported as `insufficient data` and never as drift.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from steerwise.core.errors import BadInputError
from steerwise.models.interface import Embedder
from steerwise.monitor.drift_types import DriftReport, DriftSettings, FeatureDrift
from steerwise.monitor.embedding_drift import domain_classifier_drift, topic_shift
from steerwise.monitor.metrics import iso, parse_span
from steerwise.store import Store
from steerwise.store.monitor import Scope

EMBEDDING_FEATURES = ("input_embedding", "output_embedding")
NUMERIC_FEATURES = ("input_chars", "output_chars", "latency_ms", "confidence", "grounding")
CATEGORICAL_FEATURES = ("outcome", "rail_fired")
PSI_BINS = 10
PSI_FLOOR = 1e-4


@dataclass(frozen=True)
class TraceSet:
    """Traces named by id (an evaluation run's), compared as one window would be."""

    label: str
    ids: tuple[str, ...]


Traffic = tuple[datetime, datetime] | TraceSet
"""What a side of a check covers: a time window of a deployment, or a set of traces."""


class TraceTexts(Protocol):
    """Where the texts of requests come from (`traces.TraceLog`)."""

    def texts(self, target: str, since: str, until: str, limit: int) -> list[tuple[str, str]]: ...

    def texts_of(self, trace_ids: Sequence[str]) -> list[tuple[str, str]]: ...


class DriftCheck:
    """Compares two windows of a deployment's traffic (module docstring)."""

    def __init__(
        self,
        store: Store,
        settings: DriftSettings | None = None,
        *,
        flush: Callable[[], object] = lambda: None,
        texts: TraceTexts | None = None,
        embedder: Callable[[], Embedder] | None = None,
        eval_traces: Callable[[str], list[str]] | None = None,
    ) -> None:
        self._store = store
        self._settings = settings or DriftSettings()
        self._flush = flush  # writes the traces still queued, so that a check sees them
        self._texts = texts
        self._embedder = embedder
        self._eval_traces = eval_traces  # an eval run's id to the ids of its items' traces

    def run(self, target: str, *, reference: Traffic, current: Traffic) -> DriftReport:
        """Every feature of `current` against `reference` (windows or trace sets)."""
        for name, side in (("reference", reference), ("current", current)):
            if isinstance(side, tuple) and side[0] >= side[1]:
                raise BadInputError(f"the {name} window ends before it starts")
        self._flush()
        before = self._sample(target, reference)
        after = self._sample(target, current)
        settings = self._settings
        features = [numeric_drift(n, before[n], after[n], settings) for n in NUMERIC_FEATURES]
        features += [
            categorical_drift(n, before[n], after[n], settings) for n in CATEGORICAL_FEATURES
        ]
        if self._texts is not None and self._embedder is not None:
            pairs = (
                self._pairs(self._texts, target, reference),
                self._pairs(self._texts, target, current),
            )
            features += self._embedding_features(pairs, self._embedder)
        return DriftReport(target, _described(reference), _described(current), features)

    def check(self, target: str, *, reference: str, current: str = "1h") -> DriftReport:
        """`run` with windows written as `START/END` (ISO 8601) or a duration: the current
        window ends now (or at its END); a reference duration ends where the current starts;
        `eval:RUN_ID` takes an evaluation run's traces as the reference."""
        current_span = parse_span(current, ending=datetime.now(UTC))
        if reference.startswith("eval:"):
            return self.run(target, reference=self._eval_set(reference), current=current_span)
        reference_span = parse_span(reference, ending=current_span[0])
        return self.run(target, reference=reference_span, current=current_span)

    def _eval_set(self, reference: str) -> TraceSet:
        if self._eval_traces is None:
            raise BadInputError("this drift check cannot read evaluation runs")
        ids = self._eval_traces(reference.removeprefix("eval:"))
        return TraceSet(reference, tuple(ids))

    def _sample(self, target: str, side: Traffic) -> dict[str, list[Any]]:
        """Each feature's values on one side (at most the newest `max_rows` of a window)."""
        with self._store.read() as tx:
            if isinstance(side, TraceSet):
                rows = tx.monitor.feature_rows_of(side.ids, NUMERIC_FEATURES)
                fired = set(tx.monitor.fired_among(side.ids))
            else:
                scope = Scope(target, *_iso_pair(side))
                rows = tx.monitor.feature_rows(scope, NUMERIC_FEATURES, self._settings.max_rows)
                fired = set(tx.monitor.fired_trace_ids(scope))
        columns: dict[str, list[Any]] = {name: [] for name in NUMERIC_FEATURES}
        for row in rows:
            for name, value in zip(NUMERIC_FEATURES, row[2:], strict=True):
                if value is not None:
                    columns[name].append(float(value))
        columns["outcome"] = [str(row[1]) for row in rows]
        columns["rail_fired"] = ["yes" if row[0] in fired else "no" for row in rows]
        return columns

    def _pairs(self, texts: TraceTexts, target: str, side: Traffic) -> list[tuple[str, str]]:
        """(input, output) of at most `max_texts` requests on one side."""
        limit = self._settings.max_texts
        if isinstance(side, TraceSet):
            return texts.texts_of(side.ids[:limit])
        return texts.texts(target, *_iso_pair(side), limit)

    def _embedding_features(
        self,
        pairs: tuple[list[tuple[str, str]], list[tuple[str, str]]],
        embedder_of: Callable[[], Embedder],
    ) -> list[FeatureDrift]:
        """Inputs and outputs compared in embedding space (`monitor.embedding_drift`)."""
        settings = self._settings
        before, after = pairs
        if min(len(before), len(after)) < settings.min_samples:
            return [
                _insufficient(name, "embedding", len(before), len(after), settings)
                for name in (*EMBEDDING_FEATURES, "input_topics")
            ]
        embedder = embedder_of()
        vectors = {
            side: [embedder.embed([pair[column] for pair in rows]) for column in (0, 1)]
            for side, rows in (("before", before), ("after", after))
        }
        found = [
            domain_classifier_drift(
                name, vectors["before"][column], vectors["after"][column], settings
            )
            for column, name in enumerate(EMBEDDING_FEATURES)
        ]
        found.append(topic_shift(vectors["before"][0], vectors["after"][0], settings))
        return found


def numeric_drift(
    feature: str, before: Sequence[float], after: Sequence[float], settings: DriftSettings
) -> FeatureDrift:
    """KS and PSI on a numeric feature; the verdict by KS's p-value for small samples, by PSI
    for large ones."""
    reference = np.asarray(before, dtype=np.float64)
    current = np.asarray(after, dtype=np.float64)
    if min(len(reference), len(current)) < settings.min_samples:
        return _insufficient(feature, "numeric", len(reference), len(current), settings)
    from scipy.stats import ks_2samp

    ks = ks_2samp(reference, current)
    psi = population_stability_index(reference, current)
    sizes = (len(reference), len(current))
    measured = _Measured(float(ks.statistic), float(ks.pvalue), psi, sizes)
    return _judged(feature, "numeric", measured, ("ks", "psi"), settings)


def categorical_drift(
    feature: str, before: Sequence[str], after: Sequence[str], settings: DriftSettings
) -> FeatureDrift:
    """Chi-square and Jensen-Shannon on a categorical feature; the verdict by the p-value for
    small samples, by the distance for large ones."""
    if min(len(before), len(after)) < settings.min_samples:
        return _insufficient(feature, "categorical", len(before), len(after), settings)
    categories = sorted(set(before) | set(after))
    table = np.array(
        [[Counter(before)[c] for c in categories], [Counter(after)[c] for c in categories]],
        dtype=np.float64,
    )
    statistic, p_value = _chi_square(table)
    distance = _jensen_shannon(table[0], table[1])
    measured = _Measured(statistic, p_value, distance, (len(before), len(after)))
    return _judged(feature, "categorical", measured, ("chi_square", "jensen_shannon"), settings)


@dataclass(frozen=True)
class _Measured:
    statistic: float
    p_value: float
    distance: float
    sizes: tuple[int, int]


_TEST_NAMES = {
    "ks": "Kolmogorov-Smirnov p",
    "chi_square": "chi-square p",
    "psi": "PSI",
    "jensen_shannon": "Jensen-Shannon distance",
}


def _judged(
    feature: str, kind: str, measured: _Measured, tests: tuple[str, str], settings: DriftSettings
) -> FeatureDrift:
    """The verdict: by the p-value test up to `large_sample` reference requests, else by the
    distance (Evidently's rule)."""
    before, after = measured.sizes
    if before <= settings.large_sample:
        test, value, threshold = tests[0], measured.p_value, settings.p_value
        drifted, sign = value <= threshold, "<="
    else:
        test, value = tests[1], measured.distance
        threshold = settings.psi if test == "psi" else settings.jensen_shannon
        drifted, sign = value >= threshold, ">="
    return FeatureDrift(
        feature,
        kind,
        test,
        round(measured.statistic, 6),
        round(measured.p_value, 6),
        round(measured.distance, 6),
        threshold,
        before,
        after,
        "drift" if drifted else "no drift",
        f"{_TEST_NAMES[test]} = {value:.4f} (drift at {sign} {threshold})",
    )


def population_stability_index(
    reference: npt.NDArray[np.float64], current: npt.NDArray[np.float64]
) -> float:
    """PSI over the reference's deciles (shares floored at 1e-4, so an empty bin counts)."""
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, PSI_BINS + 1)[1:-1]))
    expected = np.bincount(
        np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1
    )
    actual = np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1)
    p = np.maximum(expected / expected.sum(), PSI_FLOOR)
    q = np.maximum(actual / actual.sum(), PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def _chi_square(table: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Pearson's chi-square on a 2 x k table; one category in both: no difference."""
    kept = table[:, table.sum(axis=0) > 0]
    if kept.shape[1] < 2:
        return 0.0, 1.0
    from scipy.stats import chi2_contingency

    found = chi2_contingency(kept, correction=False)
    return float(found.statistic), float(found.pvalue)


def _jensen_shannon(first: npt.NDArray[np.float64], second: npt.NDArray[np.float64]) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) between two count vectors."""
    from scipy.spatial.distance import jensenshannon

    return float(jensenshannon(first / first.sum(), second / second.sum(), base=2))


def _insufficient(
    feature: str, kind: str, before: int, after: int, settings: DriftSettings
) -> FeatureDrift:
    reason = (
        f"too few samples to test ({before} in the reference, {after} in the current window;"
        f" at least {settings.min_samples} each): no claim of drift"
    )
    return FeatureDrift(
        feature, kind, "none", None, None, None, 0.0, before, after, "insufficient data", reason
    )


def _iso_pair(window: tuple[datetime, datetime]) -> tuple[str, str]:
    return iso(window[0]), iso(window[1])


def _described(side: Traffic) -> tuple[str, str]:
    """A side as the report shows it: its window's bounds, or the trace set's name."""
    return (side.label, "") if isinstance(side, TraceSet) else _iso_pair(side)
