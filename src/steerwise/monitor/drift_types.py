"""The nouns of drift checks: their settings, one feature's verdict, and the report."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from steerwise.core.errors import BadInputError


@dataclass(frozen=True)
class DriftSettings:
    """Thresholds (Evidently's defaults) and the smallest sample a test is run on."""

    p_value: float = 0.05
    psi: float = 0.1
    jensen_shannon: float = 0.1
    large_sample: int = 1000
    min_samples: int = 30
    max_rows: int = 200_000
    roc_auc: float = 0.55
    """Embeddings: the domain classifier's ROC AUC at which the windows count as apart."""
    novel_similarity: float = 0.5
    """Topic shift: an input whose best cosine to the reference's is lower is near none."""
    topic_shift: float = 0.1
    """Topic shift: how much larger the current share of such inputs may be."""
    max_texts: int = 1000
    """Embeddings: at most this many of each window's newest requests are embedded."""

    def __post_init__(self) -> None:
        if not 0.0 < self.p_value < 1.0:
            raise BadInputError(f"drift p_value {self.p_value} must be between 0 and 1")
        if self.min_samples < 2:
            raise BadInputError(f"drift min_samples {self.min_samples} must be at least 2")


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's verdict: `drift`, `no drift` or `insufficient data`, and why."""

    feature: str
    kind: str
    test: str
    statistic: float | None
    p_value: float | None
    distance: float | None
    threshold: float
    reference_n: int
    current_n: int
    verdict: str
    reason: str


@dataclass(frozen=True)
class DriftReport:
    """Every feature's verdict for a deployment, reference and current window."""

    target: str
    reference: tuple[str, str]
    current: tuple[str, str]
    features: list[FeatureDrift]

    @property
    def drifted(self) -> list[str]:
        return [f.feature for f in self.features if f.verdict == "drift"]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "drifted": self.drifted}
