"""The nouns of drift checks: their settings, one feature's verdict, and the report."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from steerwise.core.drift import DriftSettings

__all__ = ["DriftReport", "DriftSettings", "FeatureDrift"]


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
