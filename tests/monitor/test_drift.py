"""Drift between two windows of a deployment's traces, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from steerwise import Workspace
from steerwise.core.errors import BadInputError
from steerwise.core.evals import DatasetItem
from steerwise.monitor.drift import DriftSettings, population_stability_index
from steerwise.releases import PinRequest, release_id
from tests.cli.runner import steerwise
from tests.conftest import simple_prompt, write_prompt
from tests.models.fault_server import FaultServer, ok
from tests.monitor.builders import NOW, make_trace

REFERENCE = (NOW - timedelta(hours=3), NOW - timedelta(hours=2))
CURRENT = (NOW - timedelta(hours=1), NOW)


def record_window(
    ws: Workspace,
    start: int,
    count: int,
    *,
    window: tuple,  # type: ignore[type-arg]
    rng: np.random.Generator,
    question_words: float = 12.0,
    blocked_share: float = 0.05,
) -> None:
    span = (window[1] - window[0]) / (count + 1)
    for i in range(count):
        words = max(1, int(rng.normal(question_words, 3.0)))
        latency = float(rng.lognormal(6.0, 0.3))
        ws.traces.record(
            make_trace(
                start + i,
                at=window[0] + span * (i + 1),
                latency_ms=latency,
                model_ms=latency * 0.8,
                outcome="block" if rng.random() < blocked_share else "allow",
                question=" ".join(["word"] * words),
                confidence=float(rng.beta(5, 2)),
            )
        )


def verdicts(report: object) -> dict[str, str]:
    return {f.feature: f.verdict for f in report.features}  # type: ignore[attr-defined]


def test_longer_questions_and_more_refusals_are_drift_and_nothing_else_is(
    workspace: Workspace,
) -> None:
    rng = np.random.default_rng(11)
    record_window(workspace, 0, 300, window=REFERENCE, rng=rng)
    record_window(
        workspace, 1000, 300, window=CURRENT, rng=rng, question_words=18.0, blocked_share=0.3
    )
    report = workspace.drift.run("bot@production", reference=REFERENCE, current=CURRENT)
    found = verdicts(report)
    assert found["input_chars"] == "drift" and found["outcome"] == "drift"
    assert found["latency_ms"] == "no drift" and found["confidence"] == "no drift"
    chars = next(f for f in report.features if f.feature == "input_chars")
    assert chars.test == "ks" and chars.p_value is not None and chars.p_value <= 0.05
    assert (chars.reference_n, chars.current_n) == (300, 300)
    # the questions got longer, so their embeddings moved too; the answers did not
    assert set(report.drifted) == {"input_chars", "outcome", "input_embedding"}


REFUNDS = [
    "How long does a refund take after I return a bike?",
    "Can I get my money back for a helmet I did not use?",
    "Who pays the postage when I send a bike back?",
    "Is there a restocking fee on returned bikes?",
    "When will the refund reach my card?",
    "Can I return a bike I bought in the York store to Leeds?",
]
INSURANCE = [
    "Does my home insurance cover a stolen e-bike?",
    "How do I claim on bike insurance after an accident?",
    "What does your theft insurance cost per year?",
    "Is my bike covered abroad by the insurance policy?",
    "Which documents does the insurer need for a claim?",
    "Can I insure a second-hand bike?",
]


def test_a_new_topic_is_drift_in_the_inputs_and_a_topic_shift(workspace: Workspace) -> None:
    """Real embeddings: questions about insurance after a period of questions about refunds."""
    for number in range(60):
        at = REFERENCE[0] + timedelta(seconds=50 * number)
        question = f"{REFUNDS[number % 6]} (order {number})"
        workspace.traces.record(
            make_trace(number, at=at, latency_ms=300, model_ms=250, question=question)
        )
    for number in range(60):
        at = CURRENT[0] + timedelta(seconds=50 * number)
        source = INSURANCE if number % 2 else REFUNDS
        question = f"{source[(number // 2) % 6]} (order {100 + number})"
        workspace.traces.record(
            make_trace(100 + number, at=at, latency_ms=300, model_ms=250, question=question)
        )
    report = workspace.drift.run("bot@production", reference=REFERENCE, current=CURRENT)
    found = {f.feature: f for f in report.features}
    inputs = found["input_embedding"]
    assert inputs.verdict == "drift" and inputs.statistic is not None and inputs.statistic > 0.7
    assert found["output_embedding"].verdict == "no drift"  # the answers stayed the same
    topics = found["input_topics"]
    # a third of the insurance questions share no more than a few words with any refund one
    assert topics.verdict == "drift" and topics.statistic is not None
    assert 0.1 <= topics.statistic <= 0.5 and topics.distance == topics.statistic
    same = workspace.drift.run("bot@production", reference=REFERENCE, current=REFERENCE)
    assert {f.feature for f in same.features if f.verdict == "drift"} == set()


def test_two_windows_of_the_same_traffic_show_no_drift(workspace: Workspace) -> None:
    rng = np.random.default_rng(5)
    record_window(workspace, 0, 200, window=REFERENCE, rng=rng)
    record_window(workspace, 1000, 200, window=CURRENT, rng=rng)
    report = workspace.drift.run("bot@production", reference=REFERENCE, current=CURRENT)
    assert report.drifted == []
    assert {f.verdict for f in report.features} == {"no drift"}


def test_large_samples_are_judged_by_distance_not_by_p_value(sqlite_workspace: Workspace) -> None:
    """Over 1,000 requests a tiny shift is significant; PSI and Jensen-Shannon decide."""
    rng = np.random.default_rng(2)
    record_window(sqlite_workspace, 0, 1500, window=REFERENCE, rng=rng)
    record_window(sqlite_workspace, 5000, 1500, window=CURRENT, rng=rng, question_words=12.6)
    report = sqlite_workspace.drift.run("bot@production", reference=REFERENCE, current=CURRENT)
    chars = next(f for f in report.features if f.feature == "input_chars")
    assert chars.test == "psi" and chars.verdict == "no drift"
    assert chars.distance is not None and chars.distance < 0.1
    outcome = next(f for f in report.features if f.feature == "outcome")
    assert outcome.test == "jensen_shannon" and outcome.verdict == "no drift"


def test_too_few_samples_never_claim_drift(workspace: Workspace) -> None:
    rng = np.random.default_rng(1)
    record_window(workspace, 0, 10, window=REFERENCE, rng=rng)
    record_window(workspace, 1000, 10, window=CURRENT, rng=rng, question_words=40.0)
    report = workspace.drift.run("bot@production", reference=REFERENCE, current=CURRENT)
    assert report.drifted == []
    assert {f.verdict for f in report.features} == {"insufficient data"}
    assert "10 in the reference, 10 in the current window" in report.features[0].reason


def test_psi_is_zero_for_the_same_sample_and_grows_with_a_shift() -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(0.0, 1.0, 5000)
    assert population_stability_index(reference, reference) == pytest.approx(0.0, abs=1e-9)
    small = population_stability_index(reference, rng.normal(0.1, 1.0, 5000))
    large = population_stability_index(reference, rng.normal(1.0, 1.0, 5000))
    assert 0.0 < small < 0.1 < large


def test_bad_windows_and_settings_are_refused(sqlite_workspace: Workspace) -> None:
    with pytest.raises(BadInputError, match="ends before it starts"):
        sqlite_workspace.drift.run("bot", reference=(REFERENCE[1], REFERENCE[0]), current=CURRENT)
    with pytest.raises(BadInputError, match="is not a duration"):
        sqlite_workspace.drift.check("bot", reference="last week")
    with pytest.raises(ValidationError, match="p_value"):
        DriftSettings(p_value=1.5)


def test_the_cli_exits_1_on_drift_and_0_without(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    with Workspace.init(root) as ws:
        rng = np.random.default_rng(4)
        record_window(ws, 0, 100, window=REFERENCE, rng=rng)
        record_window(ws, 1000, 100, window=CURRENT, rng=rng, question_words=30.0)
    span = f"{REFERENCE[0].isoformat()}/{REFERENCE[1].isoformat()}"
    now = f"{CURRENT[0].isoformat()}/{CURRENT[1].isoformat()}"
    found = steerwise(
        "drift",
        "check",
        "bot@production",
        "--reference",
        span,
        "--current",
        now,
        "--json",
        cwd=root,
    )
    assert found.code == 1, found.err
    assert "input_chars" in found.json()["drifted"]
    same = steerwise("drift", "check", "bot", "--reference", span, "--current", span, cwd=root)
    assert same.code == 0 and "drifted: none" in same.out
    bad = steerwise("drift", "check", "bot", "--reference", "2026-13-01/2026-12-02", cwd=root)
    assert bad.code == 2 and "is not ISO 8601" in bad.err


def test_an_eval_run_can_be_the_reference(tmp_path: Path) -> None:
    """What the release was evaluated on, against what production asks it now."""
    with FaultServer(default=ok("Refunds take five working days.")) as upstream:
        root = tmp_path / "ws"
        Workspace.init(root).close()
        config = root / "steerwise.toml"
        model = (
            f'[models.scripted]\nprovider = "openai"\nmodel = "m"\nbase_url = "{upstream.base_url}"'
        )
        config.write_text(config.read_text() + "\n" + model + "\n")
        with Workspace.open(root) as ws:
            ws.prompts.push([write_prompt(root / "prompts", "p", simple_prompt("p"))])
            made = ws.releases.create("bot", PinRequest("p@1", model="scripted"))
            ws.releases.deploy("bot", release_id(made), "production")
            items = [
                DatasetItem(id=f"q{n}", variables={"question": f"{REFUNDS[n % 6]} ({n})"})
                for n in range(36)
            ]
            ws.datasets.import_items("qa", items, source="test")
            run = ws.evals.run("bot@production", "qa", ["contains:value=Refunds"]).run
            for n in range(36):
                ws.run("bot@production", {"question": f"{INSURANCE[(n // 2) % 6]} ({n})"})
            report = ws.drift.check("bot@production", reference=f"eval:{run.id}", current="1h")
    found = {f.feature: f for f in report.features}
    assert report.reference == (f"eval:{run.id}", "")
    assert found["input_embedding"].reference_n == 36 and found["input_embedding"].current_n >= 36
    assert found["input_embedding"].verdict == "drift"
    assert found["output_embedding"].verdict == "no drift"  # the same scripted answer


def test_thresholds_come_from_the_drift_section(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace.init(root).close()
    config = root / "steerwise.toml"
    original = config.read_text()
    config.write_text(original + "\n[drift]\nmin_samples = 5\np_value = 0.01\n")
    with Workspace.open(root) as ws:
        rng = np.random.default_rng(9)
        record_window(ws, 0, 10, window=REFERENCE, rng=rng)
        record_window(ws, 100, 10, window=CURRENT, rng=rng)
        report = ws.drift.run("bot@production", reference=REFERENCE, current=CURRENT)
    chars = next(f for f in report.features if f.feature == "input_chars")
    assert chars.verdict != "insufficient data" and chars.threshold == 0.01
    config.write_text(original + "\n[drift]\np_value = 2\n")
    with pytest.raises(BadInputError, match=r"drift\.p_value"):
        Workspace.open(root)
