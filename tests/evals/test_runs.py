"""Eval runs against a scripted upstream (fast, exact) and the real local model: answers and
traces, per-item failures, interruption and resume, reuse, rescoring, predictions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from steerwise import BadInputError, NotFoundError, Workspace
from steerwise.core.evals import DatasetItem, Score
from steerwise.core.models import ModelError
from steerwise.evals.runs import EvalInterrupted
from steerwise.releases import PinRequest, release_id
from tests.conftest import simple_prompt, write_prompt
from tests.models.fault_server import FaultServer, ok, status

ANSWER = "Refunds take five working days."
ITEMS = [
    DatasetItem(id="exact", variables={"question": "Refund time?"}, reference=ANSWER),
    DatasetItem(id="partial", variables={"question": "Days?"}, reference="five days"),
    DatasetItem(id="wrong", variables={"question": "Shipping?"}, reference="Two weeks."),
    DatasetItem(id="unreferenced", variables={"question": "Hello?"}, tags=["chat"]),
    DatasetItem(id="e5", variables={"question": "More?"}, reference=ANSWER),
    DatasetItem(id="e6", variables={"question": "Again?"}, reference=ANSWER),
]


@pytest.fixture
def upstream() -> Iterator[FaultServer]:
    with FaultServer(default=ok(ANSWER)) as server:
        yield server


@pytest.fixture
def ws(tmp_path: Path, upstream: FaultServer) -> Iterator[Workspace]:
    root = tmp_path / "ws"
    Workspace.init(root).close()
    model = (
        f'\n[models.scripted]\nprovider = "openai"\nmodel = "m"\nbase_url = "{upstream.base_url}"'
        "\nmax_retries = 0\n"
    )
    (root / "steerwise.toml").write_text((root / "steerwise.toml").read_text() + model)
    with Workspace.open(root, actor="user:eval") as workspace:
        workspace.prompts.push([write_prompt(root / "prompts", "p", simple_prompt("p"))])
        made = workspace.releases.create("bot", PinRequest("p@1", model="scripted"))
        workspace.releases.deploy("bot", release_id(made), "production")
        workspace.datasets.import_items("qa", ITEMS, source="test")
        yield workspace


def test_a_run_answers_scores_and_links_every_item_to_its_trace(
    ws: Workspace, upstream: FaultServer
) -> None:
    seen: list[tuple[int, int]] = []
    report = ws.evals.run(
        "bot@production",
        "qa",
        ["exact_match", "f1", "contains:value=working days"],
        concurrency=3,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert report.run.status == "finished" and report.run.dataset == "qa@1"
    assert report.run.release == "bot@1" and len(upstream.requests) == 6
    assert [r.item_id for r in report.results] == [item.id for item in ITEMS]
    assert seen[0] == (0, 6) and seen[-1] == (6, 6)
    by_scorer = {summary.scorer: summary for summary in report.summary}
    # exact_match: exact, e5, e6 (1) and partial, wrong (0); "unreferenced" cannot be judged
    assert (by_scorer["exact_match"].mean, by_scorer["exact_match"].errors) == (0.6, 1)
    # f1 of "refunds take five working days" against "five days": P 2/5, R 1 -> 4/7
    partial = report.results[1].scores["f1"]
    assert isinstance(partial, Score) and partial.value == pytest.approx(4 / 7)
    assert by_scorer["contains:value=working days"].pass_rate == 1.0
    first = report.results[0]
    trace = ws.traces.get(first.trace_id)
    assert trace.target == "bot@production" and trace.output == ANSWER
    assert first.latency_ms is not None and first.latency_ms > 0
    kinds = [event.action for event in ws.audit.events(limit=100)]
    assert "eval.run" in kinds


def test_a_failing_item_and_a_failing_scorer_do_not_stop_the_run(
    ws: Workspace, upstream: FaultServer
) -> None:
    upstream.schedule.append(status(500))
    report = ws.evals.run("bot@production", "qa", ["f1"], concurrency=1)
    assert report.run.status == "finished" and report.failed_items == 1
    failed = report.results[0]
    assert failed.item_id == "exact" and "ModelError" in (failed.error or "")
    assert failed.scores == {}
    unreferenced = next(r for r in report.results if r.item_id == "unreferenced")
    assert unreferenced.scores["f1"] == "ScorerError: f1: the item has no reference answer"


def test_an_interrupted_run_resumes_without_asking_twice(
    ws: Workspace, upstream: FaultServer
) -> None:
    def stop_after_two(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(EvalInterrupted, match="stopped after 2 of 6 items") as caught:
        ws.evals.run(
            "bot@production", "qa", ["exact_match"], concurrency=1, progress=stop_after_two
        )
    assert "steerwise eval resume" in (caught.value.hint or "")
    run = ws.evals.runs()[0]
    assert run.status == "interrupted"
    kept = ws.evals.report(run.id)
    assert len(kept.results) == 2 and len(upstream.requests) == 2
    finished = ws.evals.resume(run.id[:12], concurrency=2)
    assert finished.run.status == "finished" and len(finished.results) == 6
    assert len(upstream.requests) == 6  # the two kept items were not asked again
    with pytest.raises(BadInputError, match="is finished; nothing to resume"):
        ws.evals.resume(run.id)


def test_answers_are_reused_and_rescoring_never_asks_the_model(
    ws: Workspace, upstream: FaultServer
) -> None:
    first = ws.evals.run("bot@production", "qa", ["exact_match"])
    second = ws.evals.run("bot@production", "qa", ["exact_match", "rouge_l"])
    assert len(upstream.requests) == 6
    assert all(result.cached for result in second.results)
    assert second.summary[0].mean == first.summary[0].mean
    fresh = ws.evals.run("bot@production", "qa", ["exact_match"], reuse=False)
    assert len(upstream.requests) == 12 and not any(r.cached for r in fresh.results)
    rescored = ws.evals.rescore(first.run.id, ["rouge_l", "exact_match"])
    assert rescored.run.scorers == ("exact_match", "rouge_l")
    assert len(upstream.requests) == 12
    assert [s.scorer for s in rescored.summary] == ["exact_match", "rouge_l"]


def test_personal_data_is_scrubbed_from_stored_answers_after_scoring(
    ws: Workspace, upstream: FaultServer
) -> None:
    upstream.default = ok("Write to jo@example.org about refunds.")
    report = ws.evals.run("bot@production", "qa", ["contains:value=jo@example.org"])
    assert report.summary[0].pass_rate == 1.0  # judged on the answer itself
    assert all("jo@example.org" not in result.output for result in report.results)
    assert "[EMAIL_1]" in report.results[0].output


def test_predictions_made_elsewhere_are_scored_as_a_run(ws: Workspace, tmp_path: Path) -> None:
    predictions = tmp_path / "predictions.jsonl"
    rows = [{"id": "exact", "output": ANSWER}, {"id": "wrong", "output": "Two weeks!"}]
    predictions.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    report = ws.evals.score_predictions(predictions, "qa@1", ["exact_match"])
    assert report.run.target == f"predictions:{predictions}" and report.run.status == "finished"
    assert [r.item_id for r in report.results if r.error] == ["partial", "unreferenced", "e5", "e6"]
    assert report.summary[0].mean == 1.0 and report.summary[0].scored == 2
    predictions.write_text(json.dumps({"id": "nope", "output": "x"}) + "\n")
    with pytest.raises(BadInputError, match="no item 'nope' in qa@1"):
        ws.evals.score_predictions(predictions, "qa", ["exact_match"])
    predictions.write_text('{"id": "exact", "output": 3}\n')
    with pytest.raises(BadInputError, match=r"predictions\.jsonl:1: 'output' must be text"):
        ws.evals.score_predictions(predictions, "qa", ["exact_match"])


@pytest.mark.parametrize(
    ("scorers", "message"),
    [
        ([], "no scorer given"),
        (["f1", "f1"], "scorer 'f1' is given twice"),
        (["f1:threshold"], "'threshold' is not key=value"),
        (["bleu"], "unknown scorer 'bleu'"),
        (["f1:threshold=2"], "scorer 'f1': threshold: Input should be less than or equal to 1"),
    ],
)
def test_bad_scorer_specs_are_refused_before_anything_runs(
    ws: Workspace, upstream: FaultServer, scorers: list[str], message: str
) -> None:
    with pytest.raises(BadInputError, match=message):
        ws.evals.run("bot@production", "qa", scorers)
    assert upstream.requests == [] and ws.evals.runs() == []


def test_a_gate_against_what_a_deployment_serves(ws: Workspace, upstream: FaultServer) -> None:
    with pytest.raises(BadInputError, match="no finished eval run of bot@1 over qa"):
        ws.evals.baseline_run("bot@production", "qa@1")
    baseline = ws.evals.run("bot@production", "qa", ["exact_match", "f1"])
    candidate_release = ws.releases.create(
        "bot", PinRequest("p@1", model="scripted", params={"max_tokens": "20"})
    )
    upstream.default = ok("Two weeks.")
    candidate = ws.evals.run(candidate_release.ref, "qa", ["exact_match", "f1"])
    assert ws.evals.baseline_run("bot@production", "qa@1") == baseline.run.id
    result = ws.evals.gate("bot@production", candidate.run.id, ["f1>=0.1", "f1_delta>=-0.02"])
    assert [(r.rule.text, r.passed) for r in result.results] == [
        ("f1>=0.1", True),  # "Two weeks." matches the item "wrong" exactly: 1 of 5 items
        ("f1_delta>=-0.02", False),
    ]
    comparison = ws.evals.compare(baseline.run.id, candidate.run.id[:12])
    exact = comparison.metric("exact_match")
    assert (exact.wins, exact.losses, exact.paired) == (1, 3, 5)
    assert {r.item_id for r in comparison.regressions if r.scorer == "exact_match"} == {
        "exact",
        "e5",
        "e6",
    }
    with pytest.raises(NotFoundError, match="neither an eval run nor a deployment"):
        ws.evals.gate("nobody@production", candidate.run.id, ["f1>=0"])


def test_a_dataset_from_traces_replays_what_was_asked(ws: Workspace, upstream: FaultServer) -> None:
    ws.run("bot@production", {"question": "My email is jo@example.org; refunds?"})
    upstream.schedule.append(status(500))
    with pytest.raises(ModelError):
        ws.run("bot@production", {"question": "Shipping?"})
    traces = ws.traces.items(target="bot@production")
    made = ws.datasets.import_traces("replay", traces, source="traces", with_outputs=True)
    items = ws.datasets.get(made.ref).spec.items
    assert [item.variables["question"] for item in items] == [
        "My email is [EMAIL_1]; refunds?",  # stored traces are scrubbed: so is the dataset
        "Shipping?",
    ]
    assert items[0].references == (ANSWER,) and items[1].references == ()
    assert items[0].origin == "trace" and items[0].origin_ref == traces[-1].id
    assert items[1].tags == ["error", "bot@production"]
    only_ok = ws.datasets.import_traces("ok-only", traces, source="traces", status="ok")
    assert len(ws.datasets.get(only_ok.ref).spec.items) == 1
    with pytest.raises(BadInputError, match="no trace matches"):
        ws.datasets.import_traces("none", traces, source="traces", outcome="block")
    report = ws.evals.run("bot@production", "replay", ["exact_match"], reuse=False)
    assert report.summary[0].mean == 1.0 and report.summary[0].scored == 1


def test_regressed_items_go_to_review_with_both_answers(
    ws: Workspace, upstream: FaultServer
) -> None:
    baseline = ws.evals.run("bot@production", "qa", ["exact_match"])
    candidate_release = ws.releases.create(
        "bot", PinRequest("p@1", model="scripted", params={"max_tokens": "20"})
    )
    upstream.default = ok("Two weeks.")
    candidate = ws.evals.run(candidate_release.ref, "qa", ["exact_match"])
    assert ws.review_regressions(baseline.run.id, candidate.run.id, queue="regressions") == 3
    item = ws.reviews.next("regressions")
    assert item is not None and item.origin == "review.eval"
    assert item.reason == "regressed: exact_match 1.00 -> 0.00"
    payload = item.payload
    assert (payload["item_id"], payload["output"], payload["baseline_output"]) == (
        "exact",
        "Two weeks.",
        ANSWER,
    )
    assert payload["variables"] == {"question": "Refund time?"}
    assert ws.traces.get(payload["trace_id"]).output == "Two weeks."
