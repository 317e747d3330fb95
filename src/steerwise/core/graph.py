"""Knowledge-graph domain types: facts with provenance and confidence, and graph versions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

_SPACES = re.compile(r"\s+")
Origin = Literal["import", "pattern", "llm"]


def entity_key(name: str) -> str:
    """How entity names are compared: case-folded, spaces collapsed, edge punctuation dropped."""
    return _SPACES.sub(" ", name.casefold()).strip(" .,:;!?\"'()[]")


@dataclass(frozen=True)
class Provenance:
    """Where a fact came from: an imported file, or a chunk of a document version in a snapshot."""

    origin: Origin
    source: str = ""
    doc_id: str | None = None
    doc_version: int | None = None
    chunk_id: str | None = None
    snapshot_id: str | None = None
    quote: str = ""


@dataclass(frozen=True)
class Fact:
    """One relation: subject, predicate, object; `value` holds the object when it is a quantity
    (e.g. "500 charge cycles"), written as text and parsed when checking."""

    subject: str
    predicate: str
    object: str
    confidence: float = 1.0
    provenance: Provenance = field(default_factory=lambda: Provenance("import"))

    @property
    def key(self) -> tuple[str, str, str]:
        """The fact's identity: normalised subject, predicate and object."""
        return (entity_key(self.subject), entity_key(self.predicate), entity_key(self.object))

    def sentence(self) -> str:
        """The fact as a line for a prompt: `Membership — annual fee: £40`."""
        return f"{self.subject} — {self.predicate}: {self.object}"

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the graph artifact."""
        return {
            "subject": self.subject,
            "predicate": self.predicate,
            "object": self.object,
            "confidence": self.confidence,
            "provenance": self.provenance.__dict__,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fact:
        """The inverse of `as_dict`."""
        provenance = Provenance(**data.get("provenance", {"origin": "import"}))
        return cls(
            str(data["subject"]),
            str(data["predicate"]),
            str(data["object"]),
            float(data.get("confidence", 1.0)),
            provenance,
        )


@dataclass(frozen=True)
class GraphInfo:
    """An immutable graph version."""

    id: str
    created_at: str
    created_by: str
    fact_count: int
    entity_count: int
    snapshot_id: str | None
    artifact: str


@dataclass(frozen=True)
class ClaimVerdict:
    """One claim of an answer and what the graph says about it."""

    claim: str
    start: int
    end: int
    label: Literal["supported", "contradicted", "unknown"]
    facts: list[Fact] = field(default_factory=list)
    reason: str = ""
