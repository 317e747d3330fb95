"""Timeline: times the steps of one request and builds its span tree."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from steerwise.core.traces import Span


class Timeline:
    """Collects the top-level steps of one request, in order, each with its own clock."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.spans: list[Span] = []

    @contextmanager
    def step(self, name: str, **attributes: Any) -> Iterator[dict[str, Any]]:
        """Time a step; the yielded dict takes attributes; an exception is recorded, re-raised."""
        began = time.perf_counter()
        found: dict[str, Any] = dict(attributes)
        error = None
        try:
            yield found
        except Exception as failure:
            error = f"{type(failure).__name__}: {failure}"
            raise
        finally:
            elapsed = (time.perf_counter() - began) * 1000
            children = tuple(found.pop("_children", ()))
            self.spans.append(Span(name, elapsed, found, children, error))

    def elapsed_ms(self) -> float:
        """Milliseconds since the timeline started."""
        return (time.perf_counter() - self.started) * 1000

    def root(self, name: str, **attributes: Any) -> Span:
        """The request's span, holding every step."""
        error = next((span.error for span in self.spans if span.error), None)
        return Span(name, self.elapsed_ms(), attributes, tuple(self.spans), error)
