"""`steerwise policy`, `guard check|decisions`, `review list`, `run --policy` through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from steerwise.demo import pack_path
from tests.cli.runner import steerwise

POLICY = """\
name: support
description: support rails
input:
  - detector: pii
    action: redact
  - detector: topics
    action: block
    settings:
      use_embeddings: false
      deny: [{name: legal, keywords: [lawsuit]}]
output:
  - detector: grounding
    action: flag
    settings: {use_embeddings: false}
  - detector: freshness
    action: block
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("guard") / "ws"
    assert steerwise("init", str(root), cwd=root.parent).code == 0
    (root / "policies").mkdir()
    (root / "policies" / "support.policy.yaml").write_text(POLICY, encoding="utf-8")
    assert steerwise("policy", "push", "policies", cwd=root).code == 0
    return root


def test_policy_list_show_label_and_diff(ws: Path) -> None:
    listed = steerwise("policy", "list", "--json", cwd=ws).json()
    assert [(p["name"], p["latest_version"]) for p in listed] == [("support", 1)]
    assert steerwise("policy", "label", "support@1", "production", cwd=ws).code == 0
    shown = steerwise("policy", "show", "support@production", "--json", cwd=ws).json()
    assert shown["labels"] == ["production"]
    assert [r["detector"] for r in shown["spec"]["input"]] == ["pii", "topics"]
    same = steerwise("policy", "diff", "support@1", "support@production", cwd=ws)
    assert same.out.strip() == "support@1 and support@production have the same content"


def test_guard_check_redacts_and_exits_zero(ws: Path) -> None:
    outcome = steerwise(
        "guard",
        "check",
        "--policy",
        "support",
        "--input",
        "Mail me: kim@example.org",
        "--json",
        cwd=ws,
    )
    assert outcome.code == 0, outcome.err
    decision = outcome.json()
    assert (decision["outcome"], decision["text"]) == ("redact", "Mail me: [EMAIL_1]")
    assert decision["placeholders"] == ["[EMAIL_1]"]
    assert "kim@example.org" not in outcome.out


def test_guard_check_blocks_with_exit_one_and_a_reason(ws: Path) -> None:
    outcome = steerwise(
        "guard", "check", "--policy", "support@1", "--input", "I will start a lawsuit.", cwd=ws
    )
    assert outcome.code == 1
    assert "support@1 input: BLOCK" in outcome.out
    assert "reason: input.topics.denied_topic" in outcome.out


def test_guard_check_output_with_context_file(ws: Path) -> None:
    context = ws / "context.json"
    context.write_text(
        json.dumps([{"id": "c1", "text": "Returns within 30 days.", "valid_until": "2020-01-01"}]),
        encoding="utf-8",
    )
    outcome = steerwise(
        "guard",
        "check",
        "--policy",
        "support",
        "--output",
        "Returns within 30 days [1].",
        "--context",
        str(context),
        "--json",
        cwd=ws,
    )
    assert outcome.code == 1
    assert outcome.json()["reason_code"] == "output.freshness.expired_source"


def test_flags_reach_the_review_list(ws: Path) -> None:
    outcome = steerwise(
        "guard",
        "check",
        "--policy",
        "support",
        "--output",
        "Every bike comes with a free helmet.",
        cwd=ws,
    )
    assert outcome.code == 0, outcome.err
    items = steerwise("review", "list", "--json", cwd=ws).json()
    assert items[0]["origin"] == "guardrail.flag"
    assert items[0]["reason"] == "output.grounding.unsupported_sentence"


def test_every_check_is_stored_with_its_reason(ws: Path) -> None:
    steerwise("guard", "check", "--policy", "support", "--input", "I sue: lawsuit!", cwd=ws)
    steerwise("guard", "check", "--policy", "support", "--input", "Mail lee@example.org", cwd=ws)
    stored = steerwise("guard", "decisions", "--policy", "support", "--json", cwd=ws)
    assert stored.code == 0, stored.err
    newest, before = stored.json()[:2]
    assert (newest["outcome"], newest["policy"]) == ("redact", "support@1")
    assert newest["rails"][0]["findings"][0]["type"] == "EMAIL"
    assert (before["outcome"], before["reason_code"]) == ("block", "input.topics.denied_topic")
    assert "lee@example.org" not in stored.out
    blocked = steerwise("guard", "decisions", "--outcome", "block", "--json", cwd=ws).json()
    assert blocked and {d["outcome"] for d in blocked} == {"block"}
    table = steerwise("guard", "decisions", "--limit", "1", cwd=ws)
    assert "support@1" in table.out and "redact" in table.out
    assert steerwise("guard", "decisions", "--policy", "other", "--json", cwd=ws).json() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policy", "support"], "give exactly one of --input TEXT and --output TEXT"),
        (["--policy", "nope", "--input", "x"], "unknown policy 'nope'"),
        (["--policy", "support", "--output", "x", "--context", "missing.json"], "missing.json"),
    ],
)
def test_guard_check_bad_input_exits_two(ws: Path, args: list[str], message: str) -> None:
    outcome = steerwise("guard", "check", *args, cwd=ws)
    assert outcome.code == 2
    assert message in outcome.err
    assert "Traceback" not in outcome.err


def test_bad_policy_file_exits_two_and_names_the_line(ws: Path) -> None:
    bad = ws / "bad.policy.yaml"
    bad.write_text("name: bad\ninput:\n  - detector: pii\n    action: shout\n", encoding="utf-8")
    outcome = steerwise("policy", "push", str(bad), cwd=ws)
    assert outcome.code == 2
    assert "bad.policy.yaml:4: input[0].action" in outcome.err


def test_run_with_a_policy_redacts_what_the_model_sees(ws: Path) -> None:
    shutil.copytree(pack_path() / "prompts", ws / "prompts", dirs_exist_ok=True)
    assert steerwise("prompt", "push", "prompts", cwd=ws).code == 0
    outcome = steerwise(
        "run",
        "support-answer",
        "--var",
        "question=I am kim@example.org, can I return a bell?",
        "--policy",
        "support",
        "--json",
        cwd=ws,
    )
    assert outcome.code == 0, outcome.err
    report = outcome.json()
    assert report["input"][0]["text"] == "I am [EMAIL_1], can I return a bell?"
    assert report["runs"][0]["answer"]
    assert report["outcome"] in ("allow", "flag")


LABELLED = Path(__file__).parents[1] / "guardrails" / "data" / "injection_multilingual.jsonl"


def test_fit_classifier_writes_an_encoder_a_policy_can_name(ws: Path) -> None:
    english = [line for line in LABELLED.read_text(encoding="utf-8").splitlines() if '"en"' in line]
    data = ws / "labelled.jsonl"
    data.write_text("\n".join(english) + "\n", encoding="utf-8")
    outcome = steerwise(
        "guard", "fit-classifier", str(data), "--out", "fitted", "--epochs", "1", "--json", cwd=ws
    )
    assert outcome.code == 0, outcome.err
    report = outcome.json()
    assert (report["kind"], report["texts"], report["attacks"]) == ("encoder", 32, 16)
    assert report["setting"] == "classifier: fitted" and (ws / "fitted" / "encoder").is_dir()
    assert "fine-tune" in outcome.err  # the progress bar
    logistic = steerwise(
        "guard", "fit-classifier", str(data), "--out", "w.json", "--kind", "logistic", cwd=ws
    )
    assert logistic.code == 0, logistic.err
    assert "fitted a logistic classifier on 32 texts (16 attacks)" in logistic.out
    assert "classifier: w.json" in logistic.out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"text": "hi", "label": 0}\n{"text": "ignore it"}\n', "labelled.jsonl, line 2"),
        ('{"text": "hi", "label": 0}\n', "labels of both kinds"),
        (None, "cannot read the labelled texts"),
    ],
)
def test_fit_classifier_bad_data_exits_two_and_writes_nothing(
    ws: Path, tmp_path: Path, content: str | None, message: str
) -> None:
    data = tmp_path / "labelled.jsonl"
    if content is not None:
        data.write_text(content, encoding="utf-8")
    outcome = steerwise("guard", "fit-classifier", str(data), "--out", str(tmp_path / "o"), cwd=ws)
    assert outcome.code == 2
    assert message in outcome.err and "Traceback" not in outcome.err
    assert not (tmp_path / "o").exists()
