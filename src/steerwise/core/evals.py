"""Evaluation domain types: what a scorer judges (a Sample) and what it says (a Score)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from steerwise.core.guardrails import ContextDocument
from steerwise.core.versioning import SpecModel

Origin = Literal["file", "trace", "review"]


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


class DatasetItem(BaseModel):
    """One evaluation (or fine-tuning) item: its inputs, reference answers, the documents a
    good answer rests on, tags (slices) and where it came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=200)
    variables: dict[str, Any] = Field(default_factory=dict)
    reference: str | list[str] | None = None
    reference_doc_ids: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    origin: Origin = "file"
    origin_ref: str = ""
    """The file and line, trace id or review id the item came from."""

    @field_validator("id")
    @classmethod
    def _no_edge_spaces(cls, value: str) -> str:
        if value != value.strip():
            raise ValueError("must not start or end with white space")
        return value

    @property
    def references(self) -> tuple[str, ...]:
        """The reference answers (none, one or several)."""
        if self.reference is None:
            return ()
        return (self.reference,) if isinstance(self.reference, str) else tuple(self.reference)

    def without_origin(self) -> dict[str, Any]:
        """What the item says, without where it came from (what a diff compares)."""
        return self.model_dump(mode="json", exclude={"origin", "origin_ref"})


class DatasetSpec(SpecModel):
    """A dataset version's content: its items, in order, ids unique."""

    items: list[DatasetItem] = Field(min_length=1)

    @field_validator("items")
    @classmethod
    def _unique_ids(cls, items: list[DatasetItem]) -> list[DatasetItem]:
        seen: set[str] = set()
        for item in items:
            if item.id in seen:
                raise ValueError(f"duplicate item id {item.id!r}")
            seen.add(item.id)
        return items
