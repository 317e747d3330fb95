"""Drift check settings: `[drift]` in steerwise.toml, or `DriftSettings(...)` in Python."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DriftSettings(BaseModel):
    """Thresholds (Evidently's defaults) and the smallest sample a test is run on."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    p_value: float = Field(default=0.05, gt=0.0, lt=1.0)
    """Up to `large_sample` requests: drift at a p-value at or below this (KS, chi-square)."""
    psi: float = Field(default=0.1, gt=0.0)
    """Over `large_sample` requests: drift at a population stability index at or above this."""
    jensen_shannon: float = Field(default=0.1, gt=0.0, le=1.0)
    """Over `large_sample` requests: drift at a Jensen-Shannon distance at or above this."""
    large_sample: int = Field(default=1000, ge=1)
    min_samples: int = Field(default=30, ge=2)
    """Fewer values than this in either window: `insufficient data`, never drift."""
    max_rows: int = Field(default=200_000, ge=1)
    roc_auc: float = Field(default=0.55, gt=0.5, le=1.0)
    """Embeddings: the domain classifier's ROC AUC at which the windows count as apart."""
    novel_similarity: float = Field(default=0.5, gt=0.0, lt=1.0)
    """Topic shift: an input whose best cosine to the reference's is lower is near none."""
    topic_shift: float = Field(default=0.1, gt=0.0, le=1.0)
    """Topic shift: how much larger the current share of such inputs may be."""
    max_texts: int = Field(default=1000, ge=2)
    """Embeddings: at most this many of each window's newest requests are embedded."""
