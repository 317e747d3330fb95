"""`steerwise eval ...` through the real executable on the real local model."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.runner import steerwise
from tests.conftest import simple_prompt, write_prompt

ROWS = [
    {
        "id": "capital",
        "variables": {"question": "What is the capital of France?"},
        "reference": "Paris",
    },
    {"id": "legal", "variables": {"question": "Can I sue you?"}, "tags": ["refuse"]},
]


def test_run_show_rescore_and_score_on_the_local_model(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert steerwise("init", str(ws), cwd=tmp_path).code == 0
    write_prompt(ws / "prompts", "qa", simple_prompt("qa", "Answer in one short sentence."))
    assert steerwise("prompt", "push", "prompts", cwd=ws).code == 0
    (ws / "qa.jsonl").write_text("\n".join(json.dumps(row) for row in ROWS) + "\n")
    assert steerwise("dataset", "import", "qa", "qa.jsonl", cwd=ws).code == 0
    ran = steerwise(
        "eval", "run", "--target", "prompt:qa@1", "--dataset", "qa",
        "--scorer", "contains", "--scorer", "refusal", "--concurrency", "2", "--json",
        cwd=ws,
    )  # fmt: skip
    assert ran.code == 0, ran.err
    report = ran.json()
    assert (report["status"], report["items"], report["done"], report["failed"]) == (
        "finished",
        2,
        2,
        0,
    )
    assert report["scores"]["contains"]["errors"] == 1  # "legal" has no reference
    assert report["scores"]["refusal"]["scored"] == 2
    shown = steerwise("eval", "show", report["id"][:12], "--items", "--json", cwd=ws).json()
    trace_id = shown["results"][0]["trace_id"]
    trace = steerwise("traces", "show", trace_id, "--json", cwd=ws).json()
    assert trace["target"] == "prompt:qa@1"
    assert trace["output"] == shown["results"][0]["output"]
    rescored = steerwise("eval", "rescore", report["id"], "--scorer", "rouge_l", "--json", cwd=ws)
    assert set(rescored.json()["scores"]) == {"contains", "refusal", "rouge_l"}
    listed = steerwise("eval", "list", cwd=ws)
    assert report["id"][:12] in listed.out and "finished" in listed.out
    (ws / "out.jsonl").write_text(json.dumps({"id": "capital", "output": "Paris."}) + "\n")
    scored = steerwise(
        "eval", "score", "--predictions", "out.jsonl", "--dataset", "qa", "--scorer", "exact_match",
        cwd=ws,
    )  # fmt: skip
    assert scored.code == 0 and "2 of 2 items answered (1 failed" in scored.out
    assert "exact_match  1.000" in scored.out
    bad = steerwise(
        "eval", "run", "--target", "prompt:qa@1", "--dataset", "qa", "--scorer", "bleu", cwd=ws
    )
    assert bad.code == 2 and "unknown scorer 'bleu'" in bad.err
