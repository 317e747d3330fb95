"""`advise profile`: each answer moves the recommendation the way its reason says."""

from __future__ import annotations

from pathlib import Path

from steerwise.advisor.profile import Profile, recommend
from tests.cli.runner import steerwise

STABLE_FAQ = Profile(
    knowledge_changes="yearly",
    requests_per_day=500_000,
    latency_budget_ms=300,
    labelled_examples=5_000,
    regulated=False,
    behaviour="stable",
)


def test_fresh_regulated_knowledge_wants_retrieval() -> None:
    advice = recommend(Profile("daily", 2_000, 3_000, 40, regulated=True, behaviour="evolving"))
    assert advice.strategy == "retrieval"
    assert advice.scores["fine-tune"] < advice.scores["prompt"] < advice.scores["retrieval"]
    assert any(reason.startswith("knowledge changes daily") for reason in advice.reasons)
    assert any("40 labelled examples" in reason for reason in advice.reasons)
    assert not any("training set" in item for item in advice.checklist)


def test_stable_high_volume_tasks_with_data_want_fine_tuning() -> None:
    advice = recommend(STABLE_FAQ)
    assert advice.strategy == "fine-tune"
    assert any("500,000 requests a day" in reason for reason in advice.reasons)
    assert any("personal data" in item for item in advice.checklist)


def test_stable_behaviour_over_changing_knowledge_wants_both() -> None:
    advice = recommend(Profile("weekly", 50_000, 2_000, 2_000, regulated=True, behaviour="stable"))
    assert advice.strategy == "fine-tune+retrieval"
    assert any("owner and a valid_until" in item for item in advice.checklist)
    assert any("retraining trigger" in item for item in advice.checklist)


def test_no_private_knowledge_and_few_examples_want_a_prompt() -> None:
    advice = recommend(
        Profile("never", 100, 2_000, 20, regulated=False, behaviour="evolving",
                needs_private_knowledge=False)
    )  # fmt: skip
    assert advice.strategy == "prompt"


def test_the_command_writes_a_signable_checklist(tmp_path: Path) -> None:
    flags = [
        "--knowledge-changes", "daily", "--requests-per-day", "2000",
        "--latency-budget-ms", "3000", "--labelled-examples", "40", "--regulated",
        "--behaviour", "evolving", "--out", "advice.md",
    ]  # fmt: skip
    done = steerwise("advise", "profile", *flags, cwd=tmp_path)
    assert done.code == 0 and done.out.startswith("recommendation: retrieval\n")
    page = (tmp_path / "advice.md").read_text()
    assert "**Recommendation: retrieval**" in page and "- [ ] " in page
    assert "Reviewed by: ____" in page
    as_json = steerwise("advise", "profile", *flags[:-2], "--json", cwd=tmp_path).json()
    assert as_json["strategy"] == "retrieval" and as_json["profile"]["labelled_examples"] == 40
    asked = steerwise("advise", "profile", "--knowledge-changes", "hourly", cwd=tmp_path)
    assert asked.code == 2 and "hourly" in asked.err
