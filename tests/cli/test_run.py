"""`steerwise run` and `steerwise models list` with the real local model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from steerwise.demo import pack_path
from tests.cli.runner import steerwise

QUESTION = "question=How long do I have to return a bike light?"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("run") / "ws"
    assert steerwise("init", str(root), cwd=root.parent).code == 0
    shutil.copytree(pack_path() / "prompts", root / "prompts")
    assert steerwise("prompt", "push", "prompts", cwd=root).code == 0
    return root


def test_run_answers_with_the_local_model(ws: Path) -> None:
    outcome = steerwise("run", "support-answer", "--var", QUESTION, cwd=ws)
    assert outcome.code == 0, outcome.err
    assert len(outcome.out.strip()) > 10


def test_run_json_reports_usage_latency_cost_and_model(ws: Path) -> None:
    outcome = steerwise("run", "support-answer", "--var", QUESTION, "--json", cwd=ws)
    report = outcome.json()
    assert report["model"] == "local:smollm2-135m"
    assert report["prompt"] == "support-answer@1"
    assert report["usage"]["input_tokens"] > 50
    assert 0 < report["usage"]["output_tokens"] <= 200
    assert report["latency_s"] > 0
    assert report["cost_usd"] == 0.0
    assert [a["outcome"] for a in report["attempts"]] == ["ok"]


def test_run_structured_prompt_gives_valid_json(ws: Path) -> None:
    outcome = steerwise(
        "run",
        "ticket-summary",
        "--var",
        "ticket=My e-bike battery died after a year.",
        "--var",
        "channel=email",
        "--json",
        cwd=ws,
    )
    parsed = outcome.json()["parsed"]
    assert set(parsed) == {"category", "urgency", "summary"}
    assert parsed["urgency"] in {"low", "normal", "high"}


def test_run_stream_prints_the_answer_as_it_comes(ws: Path) -> None:
    streamed = steerwise("run", "support-answer", "--var", QUESTION, "--stream", cwd=ws)
    whole = steerwise("run", "support-answer", "--var", QUESTION, cwd=ws)
    assert streamed.out.strip() == whole.out.strip()
    lines = steerwise("run", "support-answer", "--var", QUESTION, "--stream", "--json", cwd=ws)
    events = [json.loads(line) for line in lines.out.splitlines()]
    assert "".join(e["delta"] for e in events[:-1]) == events[-1]["answer"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--model", "gpt-9"), "unknown model 'gpt-9'"),
        (("--model", "openai:gpt-4o-mini"), "OPENAI_API_KEY is not set"),
        (("--var", "colour=red"), "Additional properties are not allowed"),
    ],
)
def test_run_bad_input_exits_2(ws: Path, args: tuple[str, ...], expected: str) -> None:
    outcome = steerwise(
        "run", "support-answer", "--var", QUESTION, *args, cwd=ws, env={"OPENAI_API_KEY": ""}
    )
    assert outcome.code == 2
    assert expected in outcome.err
    assert "Traceback" not in outcome.err


def test_models_list_shows_availability(ws: Path) -> None:
    config = ws / "steerwise.toml"
    cloud = (
        '[models.cloud]\nprovider = "openai"\nmodel = "gpt-4o-mini"\napi_key_env = "NO_SUCH_KEY"'
    )
    config.write_text(config.read_text() + "\n" + cloud + "\n")
    listing = steerwise("models", "list", "--json", cwd=ws).json()
    by_name = {m["name"]: m for m in listing}
    assert by_name["local:smollm2-135m"]["available"] is True
    assert by_name["cloud"]["available"] is False
    assert "NO_SUCH_KEY is not set" in by_name["cloud"]["detail"]
    table = steerwise("models", "list", cwd=ws).out
    assert "local:smollm2-135m" in table
    assert "cloud" in table
