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


@dataclass(frozen=True)
class ItemResult:
    """One dataset item in an eval run: the answer (scrubbed of personal data), its trace,
    figures, what the scorers need to judge it again, and each scorer's verdict (or error).

    `error` is set when no answer was produced (the model or a rail failed); `cached` when
    the answer was taken from an earlier run of the same release over the same dataset."""

    item_id: str
    output: str
    trace_id: str = ""
    latency_ms: float | None = None
    cost_usd: float | None = None
    error: str | None = None
    context: tuple[ContextDocument, ...] = ()
    cited_doc_ids: tuple[str, ...] = ()
    declined: bool = False
    cached: bool = False
    scores: dict[str, Score | str] = field(default_factory=dict)
    """Scorer -> its Score, or the text of the error it raised."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what is stored)."""
        return {
            "item_id": self.item_id,
            "output": self.output,
            "trace_id": self.trace_id,
            "latency_ms": self.latency_ms,
            "cost_usd": self.cost_usd,
            "error": self.error,
            "context": [
                vars(doc) | {"stale_reasons": list(doc.stale_reasons)} for doc in self.context
            ],
            "cited_doc_ids": list(self.cited_doc_ids),
            "declined": self.declined,
            "cached": self.cached,
            "scores": {
                name: score.to_dict() if isinstance(score, Score) else {"error": score}
                for name, score in self.scores.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ItemResult:
        """The result `to_dict` wrote."""
        context = tuple(
            ContextDocument(**{**doc, "stale_reasons": tuple(doc.get("stale_reasons", ()))})
            for doc in data.get("context", ())
        )
        scores: dict[str, Score | str] = {}
        for name, value in dict(data.get("scores") or {}).items():
            scores[name] = (
                str(value["error"])
                if "error" in value
                else Score(float(value["value"]), bool(value["passed"]), str(value["reason"]))
            )
        return cls(
            item_id=str(data["item_id"]),
            output=str(data["output"]),
            trace_id=str(data.get("trace_id") or ""),
            latency_ms=data.get("latency_ms"),
            cost_usd=data.get("cost_usd"),
            error=data.get("error"),
            context=context,
            cited_doc_ids=tuple(data.get("cited_doc_ids") or ()),
            declined=bool(data.get("declined")),
            cached=bool(data.get("cached")),
            scores=scores,
        )

    def sample(self, item: DatasetItem) -> Sample:
        """What scorers judge: this answer with the item's references."""
        return Sample(
            output=self.output,
            references=item.references,
            variables=item.variables,
            reference_doc_ids=tuple(item.reference_doc_ids),
            context=self.context,
            cited_doc_ids=self.cited_doc_ids,
            latency_ms=self.latency_ms,
            cost_usd=self.cost_usd,
            declined=self.declined,
        )


@dataclass(frozen=True)
class EvalRunInfo:
    """An eval run: what answered, over which dataset version, with which scorers."""

    id: str
    created_at: str
    created_by: str
    target: str
    release: str
    release_id: str
    dataset: str
    scorers: tuple[str, ...]
    status: str
    finished_at: str | None = None


@dataclass(frozen=True)
class ScorerSummary:
    """One scorer over a run: the mean value and pass rate of the items it judged."""

    scorer: str
    mean: float | None
    pass_rate: float | None
    scored: int
    errors: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "scorer": self.scorer,
            "mean": _rounded(self.mean),
            "pass_rate": _rounded(self.pass_rate),
            "scored": self.scored,
            "errors": self.errors,
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


@dataclass(frozen=True)
class EvalReport:
    """A run with its items' results and each scorer's summary."""

    run: EvalRunInfo
    results: list[ItemResult]
    summary: list[ScorerSummary]
    item_count: int

    @property
    def failed_items(self) -> int:
        """Items that produced no answer."""
        return sum(1 for result in self.results if result.error is not None)

    def to_dict(self, *, with_items: bool = False) -> dict[str, Any]:
        """JSON-ready form: the run, counts and summaries (and every item, if asked)."""
        found: dict[str, Any] = {
            "id": self.run.id,
            "status": self.run.status,
            "target": self.run.target,
            "release": self.run.release,
            "release_id": self.run.release_id,
            "dataset": self.run.dataset,
            "created_at": self.run.created_at,
            "created_by": self.run.created_by,
            "finished_at": self.run.finished_at,
            "items": self.item_count,
            "done": len(self.results),
            "failed": self.failed_items,
            "cached": sum(1 for result in self.results if result.cached),
            "scores": {s.scorer: s.to_dict() for s in self.summary},
        }
        if with_items:
            found["results"] = [result.to_dict() for result in self.results]
        return found
