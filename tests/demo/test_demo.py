"""The guided tour runs end to end, and the demo pack is consistent."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from steerwise.demo import pack_path, read_questions
from steerwise.demo.tour import prepare_directory
from tests.cli.runner import steerwise


@pytest.mark.timeout(900)  # the tour fine-tunes for real (--quick: 2 steps)
def test_demo_tour_runs_and_shows_each_step(tmp_path: Path) -> None:
    outcome = steerwise("demo", "--dir", "tour", "--quick", cwd=tmp_path, timeout_s=900)
    assert outcome.code == 0, outcome.err
    out = outcome.out
    for expected in (
        "support-answer@1  new",
        "support-answer@1  unchanged",
        "support-answer@2  new",
        "+    Answer in at most three sentences.",
        "production: 1 -> 2",
        "production: 2 -> 1  rollback user:demo",
        "rendered support-answer@1 with includes {'house-style': 1}",
        "(local:smollm2-135m: ",
        'parsed, schema-valid JSON: {"category": ',
        "price-match-policy@1: expired: valid until 2026-06-30",
        "1. returns-policy@1  Returns and Refunds Policy > Refunds",
        "- Bronze Service — price: £45 (workshop-servicing)",
        "contradicted A Bronze Service costs £50",
        "support@1  new",
        "BLOCK input.prompt_injection.instruction_override",
        "REDACT  -> I am [EMAIL_1], card [CREDIT_CARD_1]: where is my order?",
        "BLOCK output.freshness.expired_source",
        "the model saw: My email is [EMAIL_1]. How long do refunds take?",
        "params: {'k': 3} -> {'k': 3, 'temperature': 0.2}",
        "support-bot@production: 1 -> 2",
        "support-bot@production: 2 -> 1  (every pin at once)",
        "$ steerwise run support-bot@production",
        "(support-bot@1 ",
        "    retrieval ",
        "    generate ",
        "input_rails, model_call, output_rails",
        "viewer:   PUT /api/deployments/support-bot/production -> 403 role 'viewer' may not",
        "approver: PUT /api/deployments/support-bot/production -> allowed",
        "support-qa@1  new  (3 items)",
        ": 3 items, each with its trace",
        "context_recall                       mean ",
        "3 of 3 answers reused: adding a scorer never re-runs the model",
        "queued 2 items in sampled",
        "reviewed@1  new  (the correction is the item's reference)",
        "intact: True, 25 events",
        "== 13. Fine-tuning and the advisor",
        "(4 held out)",
        "support-rag@1  new  (123 train, 14 validation; 16 taught to say the context lacks",
        "  step 1/2: loss ",
        "  step 2/2: validation loss ",
        "registered support-rag-ft@1 (base, training set, job and settings recorded)",
        "support-rag-ft@2  (merged into the GGUF",
        "  finetune+rag  accuracy ",
        "  recommendation: ",
    ):
        assert expected in out, expected
    assert "<svg" in (tmp_path / "tour" / "decision.html").read_text()
    again = steerwise("demo", "--dir", "tour", cwd=tmp_path)
    assert again.code == 2
    assert "pass --fresh" in again.err
    prepare_directory(tmp_path / "tour", fresh=True)  # what --fresh does before the tour
    assert not (tmp_path / "tour").exists()


def test_demo_refuses_to_wipe_a_real_workspace(tmp_path: Path) -> None:
    assert steerwise("init", "mine", cwd=tmp_path).code == 0
    outcome = steerwise("demo", "--dir", "mine", "--fresh", cwd=tmp_path)
    assert outcome.code == 2
    assert "the demo did not create" in outcome.err
    assert (tmp_path / "mine" / "steerwise.toml").exists()


def _front_matter(path: Path) -> dict[str, object]:
    match = re.match(r"---\n(.*?)\n---\n", path.read_text(encoding="utf-8"), re.DOTALL)
    assert match, f"{path.name} has no front matter"
    data = yaml.safe_load(match.group(1))
    assert isinstance(data, dict)
    return data


def test_pack_documents_and_questions_agree() -> None:
    docs = sorted((pack_path() / "docs").glob("*.md"))
    assert len(docs) >= 6
    ids = set()
    for doc in docs:
        meta = _front_matter(doc)
        assert set(meta) == {"id", "title", "owner", "updated", "valid_until"}, doc.name
        assert meta["id"] == doc.stem
        ids.add(meta["id"])
    questions = read_questions()
    assert len(questions) == 24
    assert len({q["id"] for q in questions}) == 24
    for question in questions:
        assert question["variables"]["question"].strip()
        assert question["reference"].strip()
        assert set(question["reference_doc_ids"]) <= ids, question["id"]
    assert {d for q in questions for d in q["reference_doc_ids"]} == ids


def test_training_questions_are_disjoint_from_the_held_out_ones() -> None:
    ids = {doc.stem for doc in (pack_path() / "docs").glob("*.md")}
    lines = (pack_path() / "train_questions.jsonl").read_text(encoding="utf-8").splitlines()
    training = [json.loads(line) for line in lines]
    held_out = {q["variables"]["question"].strip().lower() for q in read_questions()}
    assert len({row["id"] for row in training}) == len(training) == 137
    for row in training:
        assert row["variables"]["question"].strip().lower() not in held_out, row["id"]
        assert set(row["reference_doc_ids"]) <= ids, row["id"]
        assert row["reference"].strip()
    unanswerable = [row for row in training if not row["reference_doc_ids"]]
    assert len(unanswerable) == 16
    assert {row["reference"] for row in unanswerable} == {"The policies do not say."}
