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
from typing import Any

import numpy as np
import numpy.typing as npt

from steerwise.core.errors import BadInputError
from steerwise.models.interface import Embedder
from steerwise.monitor.drift_types import DriftReport, DriftSettings, FeatureDrift
from steerwise.monitor.embedding_drift import domain_classifier_drift, topic_shift
from steerwise.monitor.metrics import iso, parse_span
from steerwise.store import Store
from steerwise.store.monitor import Scope

TextSource = Callable[[str, str, str, int], list[tuple[str, str]]]
"""(target, since, until, limit) to the (input, output) texts of the newest requests."""
EMBEDDING_FEATURES = ("input_embedding", "output_embedding")
NUMERIC_FEATURES = ("input_chars", "output_chars", "latency_ms", "confidence", "grounding")
CATEGORICAL_FEATURES = ("outcome", "rail_fired")
PSI_BINS = 10
PSI_FLOOR = 1e-4


class DriftCheck:
    """Compares two windows of a deployment's trace facts (module docstring)."""

    def __init__(
        self,
        store: Store,
        settings: DriftSettings | None = None,
        *,
        flush: Callable[[], object] = lambda: None,
        texts: TextSource | None = None,
        embedder: Callable[[], Embedder] | None = None,
    ) -> None:
        self._store = store
        self._settings = settings or DriftSettings()
        self._flush = flush  # writes the traces still queued, so that a check sees them
        self._texts = texts
        self._embedder = embedder

    def run(
        self,
        target: str,
        *,
        reference: tuple[datetime, datetime],
        current: tuple[datetime, datetime],
    ) -> DriftReport:
        for name, (start, end) in (("reference", reference), ("current", current)):
            if start >= end:
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
            windows = (reference, current)
            features += self._embedding_features(target, windows, self._texts, self._embedder)
        return DriftReport(target, _iso_pair(reference), _iso_pair(current), features)

    def _embedding_features(
        self,
        target: str,
        windows: tuple[tuple[datetime, datetime], tuple[datetime, datetime]],
        texts: TextSource,
        embedder_of: Callable[[], Embedder],
    ) -> list[FeatureDrift]:
        """Inputs and outputs compared in embedding space (`monitor.embedding_drift`)."""
        settings = self._settings
        before = texts(target, *_iso_pair(windows[0]), settings.max_texts)
        after = texts(target, *_iso_pair(windows[1]), settings.max_texts)
        if min(len(before), len(after)) < settings.min_samples:
            return [
                _insufficient(name, "embedding", len(before), len(after), settings)
                for name in (*EMBEDDING_FEATURES, "input_topics")
            ]
        embedder = embedder_of()
        vectors = {
            side: [embedder.embed([pair[column] for pair in pairs]) for column in (0, 1)]
            for side, pairs in (("before", before), ("after", after))
        }
        found = [
            domain_classifier_drift(
                name, vectors["before"][column], vectors["after"][column], settings
            )
            for column, name in enumerate(EMBEDDING_FEATURES)
        ]
        found.append(topic_shift(vectors["before"][0], vectors["after"][0], settings))
        return found

    def check(self, target: str, *, reference: str, current: str = "1h") -> DriftReport:
        """`run` with windows written as `START/END` (ISO 8601) or a duration: the current
        window ends now (or at its END); a reference duration ends where the current starts."""
        current_span = parse_span(current, ending=datetime.now(UTC))
        reference_span = parse_span(reference, ending=current_span[0])
        return self.run(target, reference=reference_span, current=current_span)

    def _sample(self, target: str, window: tuple[datetime, datetime]) -> dict[str, list[Any]]:
        """Each feature's values in a window (the newest `max_rows` requests)."""
        since, until = _iso_pair(window)
        scope = Scope(target, since, until)
        with self._store.read() as tx:
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
