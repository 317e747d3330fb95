"""Grounding with an NLI model: the model's verdict decides; bad answers fail the rail closed."""

from __future__ import annotations

import json
from pathlib import Path

from steerwise import Workspace
from steerwise.core.guardrails import CheckContext, ContextDocument
from steerwise.core.models import ModelConfig
from steerwise.guardrails.detectors import DetectorServices
from steerwise.guardrails.detectors.grounding import GroundingDetector, GroundingSettings
from steerwise.guardrails.nli import VERDICTS, NliJudge
from steerwise.models import ModelRegistry
from tests.guardrails.test_policies import write_policy
from tests.models.fault_server import FaultServer, ok

PASSAGES = (
    ContextDocument("c1", "Returns are free within 30 days of delivery."),
    ContextDocument("c2", "The workshop opens at 9 am on weekdays and is closed on Sundays."),
)
ANSWER = (
    "Returns cost nothing within 30 days of delivery. "
    "The workshop is open on Sundays. "
    "The workshop also repairs motorbikes on weekdays. "
    "Penguins enjoy cold climates."
)


def verdict(name: str) -> str:
    return json.dumps({"verdict": name})


def detector(models: ModelRegistry, ref: str) -> GroundingDetector:
    settings = GroundingSettings(nli_model=ref, nli_passages=1)
    return GroundingDetector(settings, DetectorServices(models_factory=lambda: models))


def test_each_sentence_gets_the_verdict_of_the_nli_model(tmp_path: Path) -> None:
    answers = [ok(verdict("entailment")), ok(verdict("contradiction")), ok(verdict("neutral"))]
    with FaultServer(*answers) as server:
        config = ModelConfig(provider="openai", model="nli", base_url=server.base_url)
        models = ModelRegistry({"judge": config}, root=tmp_path)
        found = detector(models, "judge").detect(ANSWER, CheckContext(PASSAGES))
    assert [(f.type, ANSWER[f.start : f.end], f.score) for f in found] == [
        ("contradicted_sentence", "The workshop is open on Sundays.", 1.0),
        ("unsupported_sentence", "The workshop also repairs motorbikes on weekdays.", 0.5),
        ("unsupported_sentence", "Penguins enjoy cold climates.", 1.0),
    ]
    assert "contradiction given the 1 closest retrieved passages (NLI by judge)" in found[0].reason
    assert "no retrieved passage shares its words" in found[2].reason
    # three calls: the sentence sharing no word with any passage is not sent
    assert len(server.requests) == 3
    first, second = (request["messages"][1]["content"] for request in server.requests[:2])
    assert "[1] Returns are free within 30 days" in first
    assert first.endswith("STATEMENT: Returns cost nothing within 30 days of delivery.")
    assert "[1] The workshop opens at 9 am" in second
    assert server.requests[0]["response_format"]["type"] == "json_schema"
    assert server.requests[0]["temperature"] == 0.0


def test_a_judge_that_answers_no_verdict_blocks_the_answer(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace.init(root).close()
    with FaultServer(default=ok("I think it is probably fine")) as server:
        config = root / "steerwise.toml"
        judge = '[models.judge]\nprovider = "openai"\nmodel = "nli"\n'
        judge += f'base_url = "{server.base_url}"'
        config.write_text(config.read_text() + "\n" + judge + "\n")
        body = "name: nli\noutput:\n  - detector: grounding\n    action: flag\n"
        body += "    settings: {nli_model: judge}\n"
        with Workspace.open(root) as workspace:
            workspace.policies.push([write_policy(tmp_path / "p", body, "nli")])
            decision = workspace.policies.load("nli").check_output(
                "Returns are free within 30 days.", CheckContext(PASSAGES)
            )
    assert (decision.outcome, decision.reason_code) == ("block", "output.grounding.rail_error")
    assert "StructuredOutputError" in (decision.rails[0].error or "")


def test_the_local_model_gives_a_verdict_for_every_sentence(tmp_path: Path) -> None:
    judge = NliJudge(ModelRegistry({}, root=tmp_path), "local:smollm2-135m")
    passages = [document.text for document in PASSAGES]
    for sentence in ANSWER.split(". ")[:3]:
        judgement = judge.judge(passages, sentence)
        assert judgement.verdict in VERDICTS
        assert judgement.model == "local:smollm2-135m"
