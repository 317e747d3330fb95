"""Trace domain types: one request as a tree of timed steps with the versions it used."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Span:
    """One step of a request: when it started (milliseconds from the start of the request),
    how long it took, what it used and found, and any error."""

    name: str
    duration_ms: float
    attributes: dict[str, Any] = field(default_factory=dict)
    children: tuple[Span, ...] = ()
    error: str | None = None
    start_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, children included."""
        return {
            "name": self.name,
            "start_ms": round(self.start_ms, 3),
            "duration_ms": round(self.duration_ms, 3),
            "attributes": self.attributes,
            "error": self.error,
            "children": [child.to_dict() for child in self.children],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Span:
        """The span `to_dict` wrote (a trace stored before start offsets were kept: 0.0)."""
        return cls(
            str(data["name"]),
            float(data["duration_ms"]),
            dict(data.get("attributes") or {}),
            tuple(cls.from_dict(child) for child in data.get("children") or ()),
            data.get("error"),
            float(data.get("start_ms", 0.0)),
        )


@dataclass(frozen=True)
class Trace:
    """One request: target, pinned release, outcome, redacted input and output, the steps."""

    id: str
    created_at: str
    target: str
    release: str
    release_id: str
    outcome: str
    status: str
    latency_ms: float
    input: dict[str, Any]
    output: str
    root: Span

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "created_at": self.created_at,
            "target": self.target,
            "release": self.release,
            "release_id": self.release_id,
            "outcome": self.outcome,
            "status": self.status,
            "latency_ms": round(self.latency_ms, 3),
            "input": self.input,
            "output": self.output,
            "root": self.root.to_dict(),
        }
