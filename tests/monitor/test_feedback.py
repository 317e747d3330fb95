"""User feedback on answers and review outcomes: stored, audited, counted in the metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from steerwise import Workspace
from steerwise.core.clock import utc_now
from steerwise.core.errors import BadInputError, NotFoundError
from steerwise.store.records import ReviewRow
from tests.cli.runner import steerwise
from tests.monitor.builders import make_trace


def recent(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


def test_feedback_is_kept_scrubbed_audited_and_counted(workspace: Workspace) -> None:
    for number in range(4):
        workspace.traces.record(make_trace(number, at=recent(60), latency_ms=100, model_ms=80))
    workspace.traces.flush()
    workspace.feedback.add("trace-00000", 1.0, "Spot on, thanks", by="user:ana")
    workspace.feedback.add("trace-00001", 0.0, "Wrong! write to me at jo@example.org")
    workspace.feedback.add("trace-00002", 0.25)
    (kept,) = workspace.feedback.of_trace("trace-00001")
    assert kept.score == 0.0 and "jo@example.org" not in kept.comment
    assert "[EMAIL" in kept.comment and kept.actor == "user:tester"
    found = workspace.monitor.metrics("bot@production", window="15m")
    assert found.feedback_count == 3
    assert found.feedback_mean == pytest.approx(1.25 / 3, abs=1e-4)
    assert found.feedback_negative_share == pytest.approx(2 / 3, abs=1e-4)
    events = [e for e in workspace.audit.events(limit=10) if e.action == "feedback.add"]
    assert [e.actor for e in events] == ["user:ana", "user:tester", "user:tester"]
    assert events[0].target == "trace:trace-00000"


def test_feedback_on_no_trace_or_out_of_range_is_refused(sqlite_workspace: Workspace) -> None:
    with pytest.raises(NotFoundError, match="no single trace"):
        sqlite_workspace.feedback.add("missing", 1.0)
    sqlite_workspace.traces.record(make_trace(1, at=recent(5), latency_ms=1, model_ms=1))
    sqlite_workspace.traces.flush()
    with pytest.raises(BadInputError, match="outside 0 to 1"):
        sqlite_workspace.feedback.add("trace-00001", 1.5)
    assert sqlite_workspace.monitor.metrics("bot", window="1h").feedback_count == 0


def test_the_cli_rates_an_answer(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    with Workspace.init(root) as ws:
        ws.traces.record(make_trace(7, at=recent(30), latency_ms=10, model_ms=5))
    down = steerwise("traces", "feedback", "trace-00007", "--down", "--comment", "no", cwd=root)
    assert down.code == 0, down.err
    up = steerwise("traces", "feedback", "trace-0000", "--score", "0.9", "--json", cwd=root)
    assert up.code == 0 and up.json()["score"] == 0.9
    shown = steerwise("monitor", "show", "bot", "--json", cwd=root)
    assert shown.json()["feedback_count"] == 2
    bad = steerwise("traces", "feedback", "trace-00007", "--score", "7", cwd=root)
    assert bad.code == 2 and "outside 0 to 1" in bad.err
    neither = steerwise("traces", "feedback", "trace-00007", cwd=root)
    assert neither.code == 2 and "--up, --down or --score" in neither.err


def test_review_outcomes_about_a_deployment_are_counted(workspace: Workspace) -> None:
    at = utc_now()
    rows = [
        ReviewRow(at, "review.trace", subject, "sampled", {"output": "Ten days."}, "sampled")
        for subject in ("bot@production", "bot@production", "bot@staging", "other@production")
    ]
    workspace.reviews.enqueue(rows)
    first, second, *_ = sorted(item.id for item in workspace.reviews.items(queue="sampled"))
    workspace.reviews.submit(first, "approve")
    workspace.reviews.submit(second, "reject")
    found = workspace.monitor.metrics("bot@production", window="15m")
    assert found.review_items == {"done": 2} and found.review_verdicts == {
        "approve": 1,
        "reject": 1,
    }
    by_name = workspace.monitor.metrics("bot", window="15m")
    assert by_name.review_items == {"done": 2, "open": 1}  # bot@staging's item too
    assert (
        workspace.monitor.metrics("bot@production", window="15m", until="2026-01-01").review_items
        == {}
    )
