"""`llm_judge`: the bundled judge prompt on the real local model, and strict parsing of a
scripted judge's answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from steerwise import Workspace
from steerwise.core.evals import Sample
from steerwise.evals import JUDGE_PROMPT
from steerwise.evals.scorers import ScorerError
from tests.models.fault_server import FaultServer, ok

RUBRIC = "The answer names the capital of France."
SAMPLE = Sample("Paris is the capital of France.", variables={"question": "Capital of France?"})


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    with Workspace.init(tmp_path / "ws") as workspace:
        yield workspace


def test_the_bundled_judge_grades_on_the_local_model(ws: Workspace) -> None:
    ws.prompts.push([JUDGE_PROMPT])
    judge = ws.scorer("llm_judge", {"rubric": RUBRIC})
    found = judge.score(SAMPLE)
    assert found.value in (0.0, 0.25, 0.5, 0.75, 1.0)
    assert found.reason.startswith("judged ") and "/5: " in found.reason
    assert found.passed == (found.value >= 0.75)
    assert judge.score(Sample("", variables={"question": "Capital?"})).reason == "empty answer"


def test_without_the_judge_prompt_the_error_says_how_to_push_it(ws: Workspace) -> None:
    with pytest.raises(ScorerError, match="unknown prompt 'llm-judge'") as caught:
        ws.scorer("llm_judge", {"rubric": RUBRIC}).score(SAMPLE)
    assert "steerwise prompt push" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"score": 4, "reason": "names Paris"}', (0.75, True, "judged 4/5: names Paris")),
        ('{"score": 2, "reason": ""}', (0.25, False, "judged 2/5: no reason given")),
    ],
)
def test_a_scripted_judge_is_read_strictly(
    tmp_path: Path, reply: str, expected: tuple[float, bool, str]
) -> None:
    with FaultServer(default=ok(reply)) as server, _scripted(tmp_path, server.base_url) as ws:
        found = ws.scorer("llm_judge", {"rubric": RUBRIC, "model": "judge"}).score(SAMPLE)
    assert (found.value, found.passed, found.reason) == expected
    assert server.requests[0]["response_format"]["type"] == "json_schema"
    asked = server.requests[0]["messages"][1]["content"]
    assert "Rubric: The answer names the capital of France." in asked
    assert "Answer to grade: Paris is the capital of France." in asked


@pytest.mark.parametrize("reply", ['{"score": 9, "reason": "x"}', "Four out of five."])
def test_a_judge_that_breaks_its_format_is_a_scorer_error(tmp_path: Path, reply: str) -> None:
    with (
        FaultServer(default=ok(reply)) as server,
        _scripted(tmp_path, server.base_url) as ws,
        pytest.raises(ScorerError, match="llm_judge: the judge failed"),
    ):
        ws.scorer("llm_judge", {"rubric": RUBRIC, "model": "judge"}).score(SAMPLE)


def _scripted(tmp_path: Path, url: str) -> Workspace:
    """A workspace with the judge prompt and a model `judge` answering from `url`."""
    root = tmp_path / "scripted"
    Workspace.init(root).close()
    config = root / "steerwise.toml"
    extra = f'\n[models.judge]\nprovider = "openai"\nmodel = "m"\nbase_url = "{url}"\n'
    config.write_text(config.read_text() + extra + "max_retries = 0\n")
    workspace = Workspace.open(root)
    workspace.prompts.push([JUDGE_PROMPT])
    return workspace
