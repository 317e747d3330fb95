"""The same rails as evaluation scorers: scores agree with what the policy enforces."""

from __future__ import annotations

from pathlib import Path

from steerwise import Workspace
from steerwise.core.guardrails import CheckContext, ContextDocument
from steerwise.guardrails.scorers import PolicyScorer, rail_scorers
from tests.guardrails.test_policies import write_policy

POLICY = """\
name: answers
output:
  - detector: pii
    action: redact
  - detector: grounding
    action: block
    settings: {use_embeddings: false}
"""
CONTEXT = CheckContext(documents=(ContextDocument("c1", "Lights can be returned within 30 days."),))
ANSWERS = [
    "Lights can be returned within 30 days.",
    "Lights can be returned within 30 days. Mail kim@example.org.",
    "Every light comes with a lifetime guarantee.",
]


def test_policy_scores_match_the_enforced_decisions(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    sqlite_workspace.policies.push([write_policy(tmp_path / "p", POLICY, "answers")])
    policy = sqlite_workspace.policies.load("answers")
    lenient, strict = PolicyScorer(policy), PolicyScorer(policy, strict=True)
    decisions = [policy.check_output(a, CONTEXT).allowed for a in ANSWERS]
    assert [lenient.score(a, CONTEXT).passed for a in ANSWERS] == decisions == [True, True, False]
    assert [strict.score(a, CONTEXT).value for a in ANSWERS] == [1.0, 0.0, 0.0]
    failed = lenient.score(ANSWERS[2], CONTEXT)
    assert failed.reasons[0] == "output.grounding.unsupported_sentence"
    assert lenient.name == "policy:answers@1:output"


def test_each_rail_scores_on_its_own(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    sqlite_workspace.policies.push([write_policy(tmp_path / "p", POLICY, "answers")])
    scorers = rail_scorers(sqlite_workspace.policies.load("answers"))
    assert [s.name for s in scorers] == ["rail:output.pii", "rail:output.grounding"]
    table = [[s.score(a, CONTEXT).passed for s in scorers] for a in ANSWERS]
    # alone, grounding sees the raw address as an unsupported sentence; in the policy it sees
    # "Mail [EMAIL_1]." after the pii rail, too short to judge
    assert table == [[True, True], [False, False], [True, False]]
