"""Actions of a policy on real text: block, redact (and restore), fallback, flag, reask;
rails that crash fail closed unless told otherwise; flags and failures reach the review queue."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from steerwise import Workspace
from steerwise.core.guardrails import CheckContext, ContextDocument, Finding
from steerwise.guardrails.detectors import DetectorServices, DetectorSettings, register_detector
from tests.guardrails.test_policies import write_policy


class _BrokenSettings(DetectorSettings):
    pass


@register_detector
class BrokenDetector:
    """A third-party detector with a bug: it raises on every text."""

    name: ClassVar[str] = "test_broken"
    Settings: ClassVar[type[DetectorSettings]] = _BrokenSettings

    def __init__(self, settings: _BrokenSettings, services: DetectorServices) -> None:
        pass

    def detect(self, text: str, context: CheckContext) -> list[Finding]:
        raise RuntimeError("model file missing")


POLICY = """\
name: support
refusal: Sorry, I can't help with that.
input:
  - detector: pii
    action: redact
    restore: true
  - detector: topics
    action: block
    message: I can't discuss legal matters.
    settings:
      use_embeddings: false
      deny: [{name: legal, keywords: [lawsuit]}]
output:
  - detector: pii
    action: redact
  - detector: topics
    name: competitors
    action: fallback
    message: I can only talk about Fernhill products.
    settings:
      use_embeddings: false
      deny: [{name: competitors, keywords: [Velocorp]}]
  - detector: grounding
    action: flag
    settings: {use_embeddings: false}
  - detector: json
    action: reask
"""

CONTEXT = CheckContext(
    documents=(ContextDocument("c1", "Bikes can be returned within 30 days of delivery."),)
)


@pytest.fixture
def ws(sqlite_workspace: Workspace, tmp_path: Path) -> Workspace:
    sqlite_workspace.policies.push([write_policy(tmp_path / "p", POLICY)])
    return sqlite_workspace


def test_redact_gives_typed_placeholders_and_the_same_value_the_same_one(ws: Workspace) -> None:
    decision = ws.policies.load("support").check_input(
        "I am jane.doe@example.com (again: jane.doe@example.com), card 4111 1111 1111 1111."
    )
    assert decision.outcome == "redact" and decision.allowed
    assert decision.text == "I am [EMAIL_1] (again: [EMAIL_1]), card [CREDIT_CARD_1]."
    assert decision.placeholders == {
        "[EMAIL_1]": "jane.doe@example.com",
        "[CREDIT_CARD_1]": "4111 1111 1111 1111",
    }
    assert "jane" not in str(decision.to_dict())


def test_block_gives_the_refusal_and_a_reason_code(ws: Workspace) -> None:
    decision = ws.policies.load("support").check_input("I will file a lawsuit tomorrow.")
    assert (decision.outcome, decision.allowed, decision.text) == ("block", False, "")
    assert decision.reason_code == "input.topics.denied_topic"
    assert decision.message == "I can't discuss legal matters."


def test_output_restores_input_placeholders_where_the_policy_allows(ws: Workspace) -> None:
    policy = ws.policies.load("support")
    asked = policy.check_input("Send the label to jane.doe@example.com please.")
    answer = '{"reply": "We sent the label to [EMAIL_1]."}'
    decision = policy.check_output(answer, CONTEXT, asked.placeholders)
    assert decision.text == '{"reply": "We sent the label to jane.doe@example.com."}'


def test_output_redacts_new_personal_data(ws: Workspace) -> None:
    decision = ws.policies.load("support").check_output('{"call": "+44 20 7946 0958"}', CONTEXT)
    assert decision.text == '{"call": "[PHONE_1]"}'
    assert decision.outcome == "redact"


def test_fallback_replaces_the_answer(ws: Workspace) -> None:
    decision = ws.policies.load("support").check_output("Velocorp bikes are cheaper.", CONTEXT)
    assert (decision.outcome, decision.text) == (
        "fallback",
        "I can only talk about Fernhill products.",
    )
    assert decision.reason_code == "output.competitors.denied_topic"


def test_reask_carries_the_violation_for_the_model(ws: Workspace) -> None:
    decision = ws.policies.load("support").check_output(
        "Bikes can be returned within 30 days of delivery.", CONTEXT
    )
    assert decision.outcome == "reask" and not decision.allowed
    assert decision.reason_code == "output.json.invalid_json"
    assert "not valid JSON" in decision.message and "Answer again" in decision.message


def test_flag_lets_the_answer_through_and_queues_it_scrubbed(ws: Workspace) -> None:
    policy = ws.policies.load("support")
    answer = '{"reply": "Every order ships with a complimentary helmet, jane@example.com."}'
    decision = policy.check_output(answer, CONTEXT)
    assert decision.outcome == "redact"  # pii redacted, grounding flagged: both let it pass
    assert [r.rail for r in decision.rails if r.triggered] == ["pii", "grounding"]
    items = ws.reviews.items()
    assert [(i.origin, i.subject, i.reason) for i in items] == [
        ("guardrail.flag", "support@1", "output.grounding.unsupported_sentence")
    ]
    stored = str(items[0].payload)
    assert "[EMAIL_1]" in stored and "jane@example.com" not in stored
    assert items[0].payload["rail"]["findings"][0]["type"] == "unsupported_sentence"


def _with_broken_rail(ws: Workspace, tmp_path: Path, extra: str) -> Workspace:
    body = "name: fragile\ninput:\n  - detector: test_broken\n    action: flag\n" + extra
    ws.policies.push([write_policy(tmp_path / "q", body, name="fragile")])
    return ws


def test_a_crashing_rail_blocks_and_the_failure_is_recorded(ws: Workspace, tmp_path: Path) -> None:
    _with_broken_rail(ws, tmp_path, "")
    decision = ws.policies.load("fragile").check_input("hello, my email is a@example.org")
    assert (decision.outcome, decision.text) == ("block", "")
    assert decision.reason_code == "input.test_broken.rail_error"
    assert decision.rails[0].error == "RuntimeError: model file missing"
    item = ws.reviews.items()[0]
    assert (item.origin, item.reason) == ("guardrail.rail_error", "input.test_broken.rail_error")
    assert "a@example.org" not in str(item.payload)


def test_a_rail_may_fail_open_when_the_policy_says_so(ws: Workspace, tmp_path: Path) -> None:
    _with_broken_rail(ws, tmp_path, "    fail_open: true\n")
    decision = ws.policies.load("fragile").check_input("hello")
    assert (decision.outcome, decision.text) == ("allow", "hello")
    assert decision.rails[0].error is not None
    assert ws.reviews.items()[0].origin == "guardrail.rail_error"
