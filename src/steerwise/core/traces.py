"""Trace domain types: one request as a tree of timed steps with the versions it used."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

TRACE_STEPS = (
    "retrieval",
    "graph_facts",
    "input_rails",
    "model_call",
    "output_rails",
    "citations",
)
"""The steps of a request whose durations metrics keep (`steerwise.monitor`)."""

_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")


def new_trace_id() -> str:
    """A new trace id: 32 hex digits, the milliseconds since the epoch (12) then 80 random
    bits (20). Traces made one after another get ids in order, so the store's id indexes
    grow at their end instead of on a random page each (fewer pages written and read per
    stored trace), and the random part keeps them unique and satisfies W3C Trace Context,
    which wants the right-most bytes of a trace id random."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


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

    def walk(self) -> Iterator[Span]:
        """This span and every span below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

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


@dataclass(frozen=True)
class TraceParent:
    """The caller's place in its own distributed trace (a W3C `traceparent` header): the
    trace id, the caller's span id, and whether the caller samples it. A request that
    carries one is exported to OpenTelemetry as a child of the caller's span."""

    trace_id: str
    span_id: str
    sampled: bool

    @classmethod
    def parse(cls, header: str | None) -> TraceParent | None:
        """The header's value, or None where it is absent or invalid (W3C Trace Context: an
        invalid `traceparent` is ignored, and the request starts a trace of its own)."""
        matched = _TRACEPARENT.fullmatch((header or "").strip())
        if matched is None:
            return None
        version, trace_id, span_id, flags, rest = matched.groups()
        if version == "ff" or (version == "00" and rest) or not int(trace_id, 16):
            return None
        if not int(span_id, 16):
            return None
        return cls(trace_id, span_id, bool(int(flags, 16) & 1))

    def header(self) -> str:
        """The `traceparent` value (version 00)."""
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"
