"""Trace ids: unique, in the order they were made, and valid W3C / OpenTelemetry trace ids."""

from __future__ import annotations

import time

from steerwise.core.traces import new_trace_id


def test_trace_ids_are_unique_and_ordered_by_time() -> None:
    first = [new_trace_id() for _ in range(2000)]
    time.sleep(0.002)
    later = new_trace_id()
    assert len(set(first)) == 2000
    assert all(len(i) == 32 and int(i, 16) > 0 for i in first)  # 128 bits, never all zero
    assert max(first) < later  # a later millisecond sorts after every earlier id
    made_at_ms = int(later[:12], 16)
    assert abs(made_at_ms - time.time() * 1000) < 5_000
    assert len({i[12:] for i in first}) == 2000  # the random part alone tells them apart
