"""Gated promotion: what a deployment label requires before a release may serve under it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PROMOTION_STATES = ("evaluating", "awaiting_approval", "deployed", "rejected")


class PromotionGate(BaseModel):
    """One `[[promotion.gates]]`: the evaluation gate and approvals a deployment requires."""

    model_config = ConfigDict(extra="forbid")
    deployment: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    """`NAME@LABEL`, e.g. `support-bot@production`."""
    dataset: str = Field(min_length=1)
    scorers: list[str] = Field(min_length=1)
    rules: list[str] = Field(min_length=1)
    """Gate rules (`f1>=0.6`, `f1_delta>=-0.02`), checked when the workspace opens; the
    baseline is what the label serves when the promotion is asked for."""
    approvals: int = Field(default=1, ge=0, le=10)
    """Distinct approvers needed after the gate passes (0: deploy when it passes); the
    requester's own approval does not count."""


@dataclass(frozen=True)
class Promotion:
    """A request to serve a release under a gated label, and what became of it."""

    id: str
    deployment: str
    release: str
    baseline: str | None
    status: str
    requested_by: str
    requested_at: str
    gate: dict[str, Any] | None
    approvals_needed: int
    approvals: list[dict[str, str]]
    decided_at: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
