"""`steerwise dataset ...` through the real executable: outputs, --json and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from steerwise import Workspace
from steerwise.store.records import ReviewRow
from tests.cli.runner import steerwise

ROWS = [
    {"id": "refund", "variables": {"question": "Refunds?"}, "reference": "Five days."},
    {"id": "shipping", "variables": {"question": "Norway?"}, "reference": "Yes.", "tags": ["eu"]},
]


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    assert steerwise("init", str(root), cwd=tmp_path).code == 0
    (root / "qa.jsonl").write_text("\n".join(json.dumps(row) for row in ROWS) + "\n")
    return root


def test_import_list_show_diff_export(ws: Path) -> None:
    imported = steerwise("dataset", "import", "qa", "qa.jsonl", cwd=ws)
    assert (imported.code, imported.out) == (0, "qa@1  new  (2 items from qa.jsonl)\n")
    listing = steerwise("dataset", "list", "--json", cwd=ws).json()
    assert [(d["name"], d["latest_version"]) for d in listing] == [("qa", 1)]
    shown = steerwise("dataset", "show", "qa", "--json", cwd=ws).json()
    assert shown["item_count"] == 2 and shown["items"][1]["tags"] == ["eu"]
    (ws / "qa.jsonl").write_text(json.dumps(ROWS[0]) + "\n")
    assert "qa@2  new  (1 items" in steerwise("dataset", "import", "qa", "qa.jsonl", cwd=ws).out
    diff = steerwise("dataset", "diff", "qa@1", "qa@2", cwd=ws)
    assert diff.out.splitlines() == [
        "qa@1 -> qa@2: 0 added, 1 removed, 0 changed, 1 unchanged",
        "- shipping",
    ]
    exported = steerwise("dataset", "export", "qa@1", "--format", "csv", "-o", "out.csv", cwd=ws)
    assert exported.code == 0 and "wrote 2 items to out.csv" in exported.err
    assert (ws / "out.csv").read_text().splitlines()[0] == (
        "id,question,reference,reference_doc_ids,tags"
    )
    again = steerwise("dataset", "import", "qa", "out.csv", cwd=ws)
    assert again.out.startswith("qa@3  new")  # new against qa@2; equal to qa@1 (below)
    assert steerwise("dataset", "diff", "qa@1", "qa@3", "--json", cwd=ws).json()["changed"] == []


def test_a_broken_line_exits_2_and_imports_nothing(ws: Path) -> None:
    (ws / "bad.jsonl").write_text('{"id": "a"}\n{"id": "a"}\n')
    failed = steerwise("dataset", "import", "qa", "bad.jsonl", cwd=ws)
    assert failed.code == 2
    assert failed.err == "error: bad.jsonl:2: duplicate id 'a' (first on line 1)\n"
    assert steerwise("dataset", "list", "--json", cwd=ws).json() == []
    missing = steerwise("dataset", "show", "nope", cwd=ws)
    assert missing.code == 2 and "unknown dataset 'nope'" in missing.err


def _scored(ws: Path, answers: dict[str, str]) -> str:
    (ws / "answers.jsonl").write_text(
        "\n".join(json.dumps({"id": key, "output": value}) for key, value in answers.items())
    )
    scored = steerwise(
        "eval", "score", "--predictions", "answers.jsonl", "--dataset", "qa",
        "--scorer", "exact_match", "--scorer", "f1", "--json", cwd=ws,
    )  # fmt: skip
    assert scored.code == 0, scored.err
    return str(scored.json()["id"])


def test_compare_and_gate_with_exit_codes_and_junit(ws: Path) -> None:
    assert steerwise("dataset", "import", "qa", "qa.jsonl", cwd=ws).code == 0
    baseline = _scored(ws, {"refund": "Five days.", "shipping": "Yes."})
    candidate = _scored(ws, {"refund": "Five days.", "shipping": "No."})
    compared = steerwise("eval", "compare", baseline, candidate, "--json", cwd=ws).json()
    em = next(m for m in compared["metrics"] if m["scorer"] == "exact_match")
    assert (em["baseline"], em["candidate"], em["losses"], em["mcnemar_p"]) == (1.0, 0.5, 1, 1.0)
    assert [r["item_id"] for r in compared["regressions"]] == ["shipping", "shipping"]
    shown = steerwise("eval", "compare", baseline, candidate, cwd=ws)
    assert "regressed shipping on exact_match: 1.000 -> 0.000" in shown.out
    passed = steerwise(
        "eval", "gate", "--baseline", baseline, "--candidate", candidate, "--rule", "f1>=0.5",
        cwd=ws,
    )  # fmt: skip
    assert passed.code == 0 and "gate passed" in passed.out
    (ws / "rules.txt").write_text("# release rules\nexact_match_delta >= -0.02\n\nf1>=0.5\n")
    failed = steerwise(
        "eval", "gate", "--baseline", baseline, "--candidate", candidate,
        "--rules", "rules.txt", "--junit", "gate.xml", cwd=ws,
    )  # fmt: skip
    assert failed.code == 1
    assert "FAIL  exact_match_delta >= -0.02  (exact_match_delta = -0.5000)" in failed.out
    assert 'failures="1"' in (ws / "gate.xml").read_text()
    markdown = steerwise(
        "eval", "report", candidate, "--baseline", baseline, "--format", "markdown", cwd=ws
    )  # fmt: skip
    assert "| `exact_match` | 1.000 | 0.500 | -0.500 (" in markdown.out
    html = steerwise("eval", "report", candidate, "-o", "report.html", cwd=ws)
    assert html.code == 0 and "<svg" in (ws / "report.html").read_text()
    wrong = steerwise(
        "eval", "gate", "--baseline", baseline, "--candidate", candidate, "--rule", "f1 ~ 1",
        cwd=ws,
    )  # fmt: skip
    assert wrong.code == 2 and "is not METRIC OP NUMBER" in wrong.err


def test_review_a_queue_from_the_command_line(ws: Path) -> None:
    with Workspace.open(ws) as workspace:  # an item as `review fill` queues it
        payload = {"variables": {"question": "Refunds?"}, "output": "Ten days."}
        row = ReviewRow(
            "2026-12-01T00:00:00Z",
            "review.trace",
            "bot@production",
            "sampled 1",
            payload,
            "sampled",
        )
        assert workspace.reviews.enqueue([row]) == 1
    queues = steerwise("review", "queue", "--json", cwd=ws).json()
    assert queues == [{"queue": "sampled", "open": 1, "done": 0}]
    shown = steerwise("review", "next", "sampled", cwd=ws)
    assert "output: Ten days." in shown.out and 'variables: {"question": "Refunds?"}' in shown.out
    item_id = shown.out.split()[2]
    wrong = steerwise("review", "submit", item_id, "--verdict", "correct", cwd=ws)
    assert wrong.code == 2 and "a correction goes with the verdict 'correct'" in wrong.err
    done = steerwise(
        "review", "submit", item_id, "--verdict", "correct", "--correction", "Five days.",
        "--score", "helpful=4", cwd=ws,
    )  # fmt: skip
    assert done.code == 0 and "correct by user:" in done.out
    assert "nothing left to review in sampled" in steerwise("review", "next", "sampled", cwd=ws).out
    stats = steerwise("review", "stats", "--json", cwd=ws).json()
    assert stats["verdicts"] == {"correct": 1}
    made = steerwise("dataset", "from-reviews", "reviewed", "--queue", "sampled", cwd=ws)
    assert made.out.startswith("reviewed@1  new  (1 items")
