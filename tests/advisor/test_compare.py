"""`advise compare`: candidates answer the same dataset through the request path (scripted
upstreams, so the figures are exact), the report says which differences are real, and the
recommendation is the cheapest candidate the best one does not really beat."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from steerwise import BadInputError, Workspace
from steerwise.advisor.comparison import CompareRequest, StrategyParts
from steerwise.advisor.decision import RunFacts, decide, figures
from steerwise.advisor.report import render_decision
from steerwise.core.evals import DatasetItem, EvalReport, EvalRunInfo, ItemResult, Score
from steerwise.releases import PinRequest
from tests.cli.runner import steerwise
from tests.conftest import simple_prompt, write_prompt
from tests.models.fault_server import FaultServer, ok

RIGHT = "Refunds take five working days."
ITEMS = [
    DatasetItem(
        id=f"q{n}",
        variables={"question": f"Refund time {n}?"},
        reference=RIGHT,
        reference_doc_ids=["returns.md"] if n < 3 else [],
    )
    for n in range(12)
]


def _report(name: str, passed: list[bool]) -> EvalReport:
    info = EvalRunInfo(
        f"run-{name}", "2026-12-01T00:00:00Z", "t", name, f"{name}@1", "id", "qa@1",
        ("exact_match",), "finished",
    )  # fmt: skip
    results = [
        ItemResult(
            item_id=f"q{n}",
            output="x",
            trace_id="",
            latency_ms=10.0 * (n + 1),
            cost_usd=0.001,
            scores={"exact_match": Score(float(ok_), ok_, "")},
        )
        for n, ok_ in enumerate(passed)
    ]
    return EvalReport(info, results, [], len(results))


def _decide(passes: dict[str, list[bool]]) -> tuple[str, list[str]]:
    reports = {name: _report(name, passed) for name, passed in passes.items()}
    facts = RunFacts(model="m", tokens=lambda trace: (0, 0), change="c")
    candidates = [
        figures(name, report, "exact_match", facts, changed_items=set())
        for name, report in reports.items()
    ]
    decision = decide(candidates, scorer="exact_match")
    return decision.recommendation, decision.reasons


def test_a_difference_that_is_not_real_goes_to_the_cheaper_lever() -> None:
    prompt = [True] * 20 + [False] * 20
    rag = [True] * 22 + [False] * 18
    chosen, reasons = _decide({"prompt": prompt, "rag": rag})
    assert chosen == "prompt"
    assert reasons[0].startswith("rag is the most accurate: 55%")
    assert "not a real difference" in reasons[1]
    assert "prompt is as good within the intervals and cheaper to change" in reasons[2]


def test_a_real_difference_picks_the_better_candidate() -> None:
    prompt = [True] * 8 + [False] * 32
    hybrid = [True] * 36 + [False] * 4
    chosen, reasons = _decide({"prompt": prompt, "finetune+rag": hybrid})
    assert chosen == "finetune+rag"
    assert "a real difference" in reasons[1] and "not a real" not in reasons[1]


@pytest.fixture
def servers() -> Iterator[tuple[FaultServer, FaultServer]]:
    with FaultServer(default=ok(RIGHT)) as right, FaultServer(default=ok("No idea.")) as wrong:
        yield right, wrong


@pytest.fixture
def ws(tmp_path: Path, servers: tuple[FaultServer, FaultServer]) -> Iterator[Workspace]:
    root = tmp_path / "ws"
    Workspace.init(root).close()
    models = "".join(
        f'\n[models.{name}]\nprovider = "openai"\nmodel = "m"\nbase_url = "{server.base_url}"'
        f"\nmax_retries = 0\nprice_input_per_million = {price}\nprice_output_per_million = 2.0\n"
        for name, server, price in (("good", servers[0], 1.0), ("poor", servers[1], 0.5))
    )
    (root / "steerwise.toml").write_text((root / "steerwise.toml").read_text() + models)
    docs = root / "docs"
    docs.mkdir()
    (docs / "returns.md").write_text("# Returns\n\nRefunds take five working days.\n")
    with Workspace.open(root, actor="user:advisor") as workspace:
        workspace.prompts.push([write_prompt(root / "prompts", "ask", simple_prompt("ask"))])
        workspace.sources.add([docs])
        workspace.index.build()
        workspace.datasets.import_items("qa", ITEMS, source="test")
        yield workspace


def test_candidates_are_measured_and_compared_through_the_request_path(ws: Workspace) -> None:
    built = ws.advisor.strategy_releases(
        ["prompt", "rag"], StrategyParts("ask", snapshot="latest", params={"k": "2"})
    )
    assert built == {"prompt": "advise-prompt@1", "rag": "advise-rag@1"}
    assert ws.releases.get("advise-rag@1").spec.snapshot is not None
    assert ws.releases.get("advise-prompt@1").spec.snapshot is None
    good = ws.releases.create("good", _pins("good")).ref
    poor = ws.releases.create("poor", _pins("poor")).ref
    decision = ws.advisor.compare(
        CompareRequest("qa", {"prompt": poor, "finetune": good}, ("exact_match",))
    )
    by_name = {c.name: c for c in decision.candidates}
    assert by_name["finetune"].accuracy.value == 1.0 and by_name["prompt"].accuracy.value == 0.0
    assert decision.recommendation == "finetune"
    (pairing,) = decision.pairings
    assert (pairing.best, pairing.other, pairing.best_only, pairing.other_only) == (
        "finetune",
        "prompt",
        12,
        0,
    )
    assert pairing.delta == 1.0 and pairing.real and pairing.mcnemar_p < 0.001
    figures_good = by_name["finetune"]
    assert (figures_good.input_tokens, figures_good.output_tokens) == (7.0, 3.0)
    assert figures_good.cost_per_1000_usd == pytest.approx(1000 * (7 * 1.0 + 3 * 2.0) / 1e6)
    assert figures_good.latency_p50_ms is not None and figures_good.latency_p95_ms is not None
    assert figures_good.changed_sources is None
    assert figures_good.change == "edit the prompt (a new version)"
    html = render_decision(decision)
    assert "<svg" in html and "Recommendation: <strong>finetune</strong>" in html
    markdown = render_decision(decision, form="md")
    assert "| finetune | 100.0% [100.0%, 100.0%] |" in markdown


def test_answers_on_changed_sources_are_reported_apart(ws: Workspace) -> None:
    (ws.root / "docs" / "returns.md").write_text("# Returns\n\nRefunds take ten days now.\n")
    ws.sources.add([ws.root / "docs"])
    good = ws.releases.create("good", _pins("good")).ref
    poor = ws.releases.create("poor", _pins("poor")).ref
    decision = ws.advisor.compare(CompareRequest("qa", {"a": good, "b": poor}, ("exact_match",)))
    changed = {c.name: c.changed_sources for c in decision.candidates}
    assert changed["a"] is not None and changed["a"].value == 1.0
    assert changed["b"] is not None and changed["b"].value == 0.0


def test_bad_comparisons_are_refused(ws: Workspace) -> None:
    with pytest.raises(BadInputError, match="needs a fine-tuned model"):
        ws.advisor.strategy_releases(["finetune"], StrategyParts("ask"))
    with pytest.raises(BadInputError, match="unknown strategy 'rlhf'"):
        ws.advisor.strategy_releases(["rlhf"], StrategyParts("ask"))
    with pytest.raises(BadInputError, match="at least two candidates"):
        ws.advisor.compare(CompareRequest("qa", {"only": "advise-prompt@1"}))
    done = steerwise("advise", "compare", "--dataset", "qa", "--candidate", "x", cwd=ws.root)
    assert done.code == 2 and "expected NAME=VALUE" in done.err


def test_the_command_writes_the_report(ws: Workspace) -> None:
    ws.releases.create("good", _pins("good"))
    ws.releases.create("poor", _pins("poor"))
    done = steerwise(
        "advise", "compare", "--dataset", "qa", "--candidate", "prompt=poor@1",
        "--candidate", "rag=good@1", "--scorer", "exact_match", "--out", "decision.md",
        cwd=ws.root,
    )  # fmt: skip
    assert done.code == 0, done.err
    assert "recommendation: rag" in done.out
    assert "**Recommendation: rag**" in (ws.root / "decision.md").read_text()


def _pins(model: str) -> PinRequest:
    return PinRequest("ask@1", model=model)
