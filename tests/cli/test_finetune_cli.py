"""`steerwise finetune ...` and `steerwise models versions|show|label` through the real
executable: outputs, --json and exit codes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.cli.runner import steerwise

ROWS = [
    {"id": f"q{n}", "variables": {"question": f"Is {n} a number?"}, "reference": f"Yes, {n} is."}
    for n in range(6)
]


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    assert steerwise("init", str(root), cwd=tmp_path).code == 0
    (root / "qa.jsonl").write_text("\n".join(json.dumps(row) for row in ROWS) + "\n")
    assert steerwise("dataset", "import", "qa", "qa.jsonl", cwd=root).code == 0
    return root


def test_build_show_export_a_training_set(ws: Path) -> None:
    built = steerwise("finetune", "dataset", "build", "qa-ft", "--from", "qa", cwd=ws)
    assert (built.code, built.out) == (0, "qa-ft@1  new  (5 train, 1 validation)\n")
    as_json = steerwise(
        "finetune", "dataset", "build", "qa-ft", "--from", "qa", "--json", cwd=ws
    ).json()
    assert as_json["result"]["status"] == "unchanged" and as_json["card"]["train"] == 5
    shown = steerwise("finetune", "dataset", "show", "qa-ft", "--rows", "1", cwd=ws)
    assert "rows: 5 train, 1 validation (seed 0)" in shown.out and "assistant: Yes," in shown.out
    listed = steerwise("finetune", "dataset", "list", "--json", cwd=ws).json()
    assert [(entry["name"], entry["latest_version"]) for entry in listed] == [("qa-ft", 1)]
    exported = steerwise(
        "finetune", "dataset", "export", "qa-ft", "--format", "openai", "--out", "qa", cwd=ws
    )
    assert exported.code == 0 and (ws / "qa.train.jsonl").is_file()
    missing = steerwise("finetune", "dataset", "build", "x", cwd=ws)
    assert missing.code == 2 and "--from NAME" in missing.err
    bad = steerwise("finetune", "dataset", "build", "x", "--from", "qa@7", cwd=ws)
    assert bad.code == 2 and "qa@7 does not exist" in bad.err


@pytest.mark.skipif(
    not all(importlib.util.find_spec(n) for n in ("torch", "transformers", "peft")),
    reason="fine-tuning needs torch, transformers and peft",
)
def test_run_a_job_and_read_the_registry(ws: Path) -> None:
    assert steerwise("finetune", "dataset", "build", "qa-ft", "--from", "qa", cwd=ws).code == 0
    ran = steerwise(
        "finetune", "run", "--dataset", "qa-ft", "--max-steps", "1", "--batch-size", "2",
        "--json", cwd=ws, timeout_s=300,
    )  # fmt: skip
    assert ran.code == 0, ran.err
    job = ran.json()
    assert (job["status"], job["model"], job["step"]) == ("succeeded", "qa-ft-ft@1", 1)
    jobs = steerwise("finetune", "jobs", "--json", cwd=ws).json()
    assert [entry["id"] for entry in jobs] == [job["id"]]
    shown = steerwise("finetune", "show", job["id"][:8], cwd=ws)
    assert f"job {job['id']}  succeeded  step 1/1" in shown.out
    versions = steerwise("models", "versions", "qa-ft-ft", cwd=ws)
    assert "qa-ft-ft@1" in versions.out and "lora" in versions.out
    labelled = steerwise("models", "label", "qa-ft-ft@1", "candidate", cwd=ws)
    assert labelled.out == "qa-ft-ft#candidate: - -> 1\n"
    model = steerwise("models", "show", "qa-ft-ft@candidate", "--json", cwd=ws).json()
    assert model["labels"] == ["candidate"] and model["spec"]["dataset"] == "qa-ft@1"
    assert model["eval_runs"] == []
    again = steerwise("finetune", "resume", job["id"], cwd=ws)
    assert again.code == 2 and "only a failed or cancelled job resumes" in again.err
    cloud = steerwise("finetune", "run", "--dataset", "qa-ft", "--base", "anthropic:x", cwd=ws)
    assert cloud.code == 2 and "cannot be fine-tuned on this machine" in cloud.err
