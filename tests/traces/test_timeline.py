"""Span start offsets: taken by the timeline, laid out for generation steps, kept in storage."""

from __future__ import annotations

import time

import pytest

from steerwise.core.traces import Span
from steerwise.traces import Timeline
from steerwise.traces.timeline import in_turn


def test_each_step_starts_where_the_request_clock_says() -> None:
    timeline = Timeline()
    time.sleep(0.01)
    with timeline.step("first"):
        time.sleep(0.01)
    with timeline.step("second") as span:
        span["_children"] = in_turn([Span("a", 2.0), Span("b", 3.0)])
    first, second = timeline.spans
    assert 10.0 <= first.start_ms < first.start_ms + first.duration_ms <= second.start_ms
    assert [(c.name, c.start_ms - second.start_ms) for c in second.children] == [
        ("a", 0.0),
        ("b", 2.0),
    ]
    assert timeline.root("request").start_ms == 0.0


def test_a_failed_step_keeps_its_start_and_error() -> None:
    timeline = Timeline()
    with pytest.raises(ValueError), timeline.step("broken"):
        raise ValueError("no")
    (broken,) = timeline.spans
    assert broken.error == "ValueError: no" and broken.start_ms >= 0.0


def test_in_turn_moves_grandchildren_with_their_parent() -> None:
    inner = Span("inner", 1.0, start_ms=0.5)
    placed = in_turn([Span("x", 4.0), Span("y", 2.0, children=(inner,))])
    assert [s.start_ms for s in placed] == [0.0, 4.0]
    assert placed[1].children[0].start_ms == 4.5


def test_start_offsets_survive_storage_and_old_traces_read_as_zero() -> None:
    span = Span("request", 9.0, {"k": 1}, (Span("step", 2.0, start_ms=3.25),), None, 0.0)
    assert Span.from_dict(span.to_dict()) == span
    stored_before = {"name": "step", "duration_ms": 2.0, "attributes": {}, "children": []}
    assert Span.from_dict(stored_before).start_ms == 0.0
