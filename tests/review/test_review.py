"""Review queues end to end on real workspaces: filling by rules, verdicts by several
reviewers, agreement, and corrections that become dataset items."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score

from steerwise import BadInputError, Workspace
from steerwise.core.errors import ConflictError
from steerwise.core.traces import Span, Trace
from steerwise.releases import PinRequest, release_id
from steerwise.review.agreement import cohen_kappa
from steerwise.review.fill import TraceRule, from_traces
from tests.conftest import simple_prompt, write_prompt
from tests.models.fault_server import FaultServer, ok

ANSWER = "Refunds take five working days."


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            ["approve", "reject", "approve", "correct", "approve"],
            ["approve", "reject", "reject", "correct", "approve"],
        ),
        (["approve"] * 4 + ["reject"], ["approve"] * 3 + ["reject"] * 2),
        (["approve", "reject"], ["reject", "approve"]),
    ],
)
def test_kappa_equals_scikit_learns(first: list[str], second: list[str]) -> None:
    assert cohen_kappa(first, second) == pytest.approx(cohen_kappa_score(first, second))


def test_kappa_of_one_label_everywhere_is_one() -> None:
    assert cohen_kappa(["approve"] * 3, ["approve"] * 3) == 1.0


def _trace(trace_id: str, confidence: float | None, status: str = "ok") -> Trace:
    citations = Span("citations", 1.0, {"confidence": confidence})
    root = Span("request", 5.0, {}, (Span("retrieval", 1.0), citations))
    return Trace(
        trace_id,
        "t",
        "bot@production",
        "bot@1",
        "",
        "allow",
        status,
        5.0,
        {"question": f"q {trace_id}"},
        "answer",
        root,
    )


def test_traces_are_queued_by_confidence_or_by_a_seeded_draw() -> None:
    traces = [_trace(f"{n:032x}", n / 10) for n in range(10)]
    low = from_traces(traces, queue="q", rule=TraceRule(confidence_below=0.3))
    assert [row.payload["confidence"] for row in low] == [0.0, 0.1, 0.2]
    assert low[0].reason == "confidence 0.00"
    assert low[0].payload["variables"] == {"question": f"q {0:032x}"}

    def drawn(seed: int) -> list[str]:
        rows = from_traces(traces, queue="q", rule=TraceRule(share=0.5, seed=seed))
        return [row.payload["trace_id"] for row in rows]

    assert drawn(3) == drawn(3) and drawn(3) != drawn(4) and 1 <= len(drawn(3)) <= 9
    failed = [_trace("e" * 32, 0.0, status="error")]
    assert from_traces(failed, queue="q", rule=TraceRule(1.0)) == []
    skipped = from_traces(traces, queue="q", rule=TraceRule(0.3), already={traces[0].id})
    assert skipped[0].payload["confidence"] == 0.1


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Path]:
    """A workspace whose `bot@production` answers from a scripted upstream, asked 4 times."""
    with FaultServer(default=ok(ANSWER)) as upstream:
        root = tmp_path / "ws"
        Workspace.init(root).close()
        url = upstream.base_url
        model = f'\n[models.scripted]\nprovider = "openai"\nmodel = "m"\nbase_url = "{url}"\n'
        (root / "steerwise.toml").write_text((root / "steerwise.toml").read_text() + model)
        with Workspace.open(root, actor="user:lead") as ws:
            ws.prompts.push([write_prompt(root / "prompts", "p", simple_prompt("p"))])
            made = ws.releases.create("bot", PinRequest("p@1", model="scripted"))
            ws.releases.deploy("bot", release_id(made), "production")
            for question in ("Refunds?", "Shipping?", "Warranty?", "Hours?"):
                ws.run("bot@production", {"question": question})
        yield root


def test_two_reviewers_judge_a_queue_and_their_corrections_become_a_dataset(served: Path) -> None:
    with Workspace.open(served, actor="user:lead") as ws:
        traces = ws.traces.items(target="bot@production")
        assert (
            ws.reviews.fill_from_traces(
                traces, queue="sampled", rule=TraceRule(share=1.0, required_reviews=2)
            )
            == 4
        )
        assert (
            ws.reviews.fill_from_traces(traces, queue="sampled", rule=TraceRule(share=1.0)) == 0
        )  # once each
        with pytest.raises(BadInputError, match="give a rule"):
            ws.reviews.fill_from_traces(traces, queue="sampled", rule=TraceRule())
    verdicts = {
        "user:ann": ["approve", "reject", "correct", "approve"],
        "user:bob": ["approve", "reject", "correct", "reject"],
    }
    for reviewer, given in verdicts.items():
        with Workspace.open(served, actor=reviewer) as ws:
            for verdict in given:
                item = ws.reviews.next("sampled")
                assert item is not None
                correction = "Five business days." if verdict == "correct" else None
                ws.reviews.submit(item.id, verdict, correction=correction, rubric={"helpful": 3})
            assert ws.reviews.next("sampled") is None
            with pytest.raises(ConflictError, match=r"has already judged|is done, not open"):
                ws.reviews.submit(item.id, "approve")
    with Workspace.open(served, actor="user:lead") as ws:
        (summary,) = ws.reviews.queues()
        assert (summary.queue, summary.open, summary.done) == ("sampled", 0, 4)
        stats = ws.reviews.stats(queue="sampled")
        (pair,) = stats.agreement
        assert (pair.first, pair.second, pair.items) == ("user:ann", "user:bob", 4)
        expected = cohen_kappa_score(verdicts["user:ann"], verdicts["user:bob"])
        assert pair.kappa == pytest.approx(expected)
        assert stats.verdicts == {"approve": 3, "reject": 3, "correct": 2}
        items = ws.reviews.dataset_items(queue="sampled")
        assert [item.references for item in items] == [(ANSWER,), ("Five business days.",)]
        assert items[0].variables == {"question": "Refunds?"} and items[0].origin == "review"
        made = ws.datasets.import_items("reviewed", items, source="reviews")
        assert made.ref == "reviewed@1"
        actions = [event.action for event in ws.audit.events(limit=1000)]
        assert actions.count("review.submit") == 8


def test_a_verdict_must_be_whole(served: Path) -> None:
    with Workspace.open(served, actor="user:ann") as ws:
        ws.reviews.fill_from_traces(
            ws.traces.items(target="bot@production"), queue="q", rule=TraceRule(share=1.0)
        )
        item = ws.reviews.next("q")
        assert item is not None
        for verdict, correction, rubric, message in (
            ("maybe", None, {}, "unknown verdict 'maybe'"),
            ("correct", None, {}, "a correction goes with the verdict 'correct'"),
            ("approve", "Other text.", {}, "a correction goes with the verdict 'correct'"),
            ("approve", None, {"helpful": 11}, "rubric score helpful=11 is not an integer 0 to 10"),
        ):
            with pytest.raises(BadInputError, match=message):
                ws.reviews.submit(item.id, verdict, correction=correction, rubric=rubric)
        ws.reviews.submit(item.id, "correct", correction="Write to jo@example.org.")
        (stored,) = ws.reviews.verdicts(item_id=item.id)
        assert stored.correction == "Write to [EMAIL_1]."  # scrubbed before storage
