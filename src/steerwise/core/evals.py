"""Evaluation domain types: what a scorer judges (a Sample) and what it says (a Score)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from steerwise.core.guardrails import ContextDocument


@dataclass(frozen=True)
class Sample:
    """One answer to one dataset item, with what scorers compare it against.

    `references` are the item's reference answers; `reference_doc_ids` the documents a good
    answer should rest on. The rest comes from the run that produced the answer: the
    retrieved passages (`context`), the documents it cited, its latency and cost, and whether
    a guardrail or the model declined (`declined`: the pipeline's outcome was a block or a
    fallback).
    """

    output: str
    references: tuple[str, ...] = ()
    variables: Mapping[str, Any] = field(default_factory=dict)
    reference_doc_ids: tuple[str, ...] = ()
    context: tuple[ContextDocument, ...] = ()
    cited_doc_ids: tuple[str, ...] = ()
    latency_ms: float | None = None
    cost_usd: float | None = None
    declined: bool = False


@dataclass(frozen=True)
class Score:
    """A scorer's verdict on one sample: a value in [0, 1] (higher is better), whether it
    passes the scorer's threshold, and why."""

    value: float
    passed: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"value": round(self.value, 6), "passed": self.passed, "reason": self.reason}
