"""Timeline: times the steps of one request and builds its span tree.

Every span carries its start as milliseconds from the start of the request (`start_ms`). A
step may hand in child spans (`_children`) whose starts count from the step's own start;
the timeline moves them onto the request's clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from steerwise.core.traces import Span


class Timeline:
    """Collects the top-level steps of one request, in order, each with its own clock."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.spans: list[Span] = []

    @contextmanager
    def step(self, name: str, **attributes: Any) -> Iterator[dict[str, Any]]:
        """Time a step; the yielded dict takes attributes (and `_children`: spans whose starts
        count from this step's start); an exception is recorded, re-raised."""
        began = time.perf_counter()
        start_ms = (began - self.started) * 1000
        found: dict[str, Any] = dict(attributes)
        error = None
        try:
            yield found
        except Exception as failure:
            error = f"{type(failure).__name__}: {failure}"
            raise
        finally:
            elapsed = (time.perf_counter() - began) * 1000
            children = shifted(found.pop("_children", ()), start_ms)
            self.spans.append(Span(name, elapsed, found, children, error, start_ms))

    def elapsed_ms(self) -> float:
        """Milliseconds since the timeline started."""
        return (time.perf_counter() - self.started) * 1000

    def root(self, name: str, **attributes: Any) -> Span:
        """The request's span, holding every step (it starts at 0)."""
        error = next((span.error for span in self.spans if span.error), None)
        return Span(name, self.elapsed_ms(), attributes, tuple(self.spans), error)


def shifted(spans: Iterable[Span], by_ms: float) -> tuple[Span, ...]:
    """`spans` and their descendants with `by_ms` added to every start."""
    return tuple(
        replace(span, start_ms=span.start_ms + by_ms, children=shifted(span.children, by_ms))
        for span in spans
    )


def in_turn(spans: Iterable[Span]) -> list[Span]:
    """`spans` laid out one after another from 0: each starts where the durations of the
    earlier ones end. For steps that run in turn but whose own starts were not taken: the
    untimed work between them is left out, so each start is a lower bound and the last span
    ends no later than the parent that timed them all."""
    placed: list[Span] = []
    at = 0.0
    for span in spans:
        moved = shifted(span.children, at - span.start_ms)
        placed.append(replace(span, start_ms=at, children=moved))
        at += span.duration_ms
    return placed
