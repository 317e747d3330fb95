"""Checks in two stages (`Policy.begin` / `complete`) decide exactly as one `check`, and the
output rails prepare from the passages alone, so that their work can overlap the model's."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from steerwise import Workspace
from steerwise.core.guardrails import CheckContext, ContextDocument
from steerwise.guardrails.detectors import DetectorServices
from steerwise.guardrails.detectors.grounding import GroundingDetector, GroundingSettings
from steerwise.guardrails.policy import Policy
from steerwise.models.embeddings import build_embedder
from steerwise.models.interface import Embedder
from tests.guardrails.test_policies import write_policy

POLICY = """\
name: staged
input:
  - detector: length
    action: block
    settings: {max_chars: 300}
  - detector: pii
    action: redact
  - detector: topics
    action: block
    settings:
      use_embeddings: false
      deny: [{name: legal, keywords: [lawsuit]}]
  - detector: json
    action: flag
"""
TEXTS = [
    "Where is my parcel?",
    "Mail me at kim@example.org about the parcel.",
    "Mail kim@example.org: I will file a lawsuit.",
    "I will file a lawsuit.",
    "x" * 400,
]
PASSAGES = (
    ContextDocument("c1", "Returns are free within 30 days. Refunds take five working days."),
    ContextDocument("c2", "Bikes ship assembled. Helmets are not returnable once worn."),
)


@pytest.fixture
def policy(sqlite_workspace: Workspace, tmp_path: Path) -> Policy:
    sqlite_workspace.policies.push([write_policy(tmp_path / "p", POLICY, "staged")])
    return sqlite_workspace.policies.load("staged")


@pytest.mark.parametrize("text", TEXTS)
def test_two_stages_decide_as_one_check(policy: Policy, text: str) -> None:
    whole = policy.check_input(text)
    staged = policy.complete(policy.begin("input", text))
    assert (staged.outcome, staged.text, staged.reason_code, staged.placeholders) == (
        whole.outcome,
        whole.text,
        whole.reason_code,
        whole.placeholders,
    )
    assert [r.rail for r in staged.rails] == [r.rail for r in whole.rails]


def test_the_first_stage_ends_with_the_last_redact_rail(policy: Policy) -> None:
    pending = policy.begin("input", "Mail me at kim@example.org, or I file a lawsuit.")
    assert pending.decided is None
    assert pending.text == "Mail me at [EMAIL_1], or I file a lawsuit."
    assert [c.rail.detector for c in pending.judging] == ["topics", "json"]
    decision = policy.complete(pending)
    assert (decision.outcome, decision.reason_code) == ("block", "input.topics.denied_topic")


def test_a_deciding_rail_in_the_first_stage_settles_it(policy: Policy) -> None:
    pending = policy.begin("input", "y" * 400)
    assert pending.decided is not None and pending.judging == []
    assert policy.complete(pending).reason_code == "input.length.too_long"


class CountingEmbedder:
    """The real embedder, counting the texts that reach it."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.seen: list[str] = []

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.seen += list(texts)
        return self.inner.embed(texts)


def test_grounding_prepares_every_passage_sentence_ahead_of_the_answer() -> None:
    counting = CountingEmbedder(build_embedder("default", root=Path.cwd(), named={}))
    detector = GroundingDetector(GroundingSettings(), DetectorServices(lambda: counting))
    context = CheckContext(documents=PASSAGES)
    detector.prepare(context)
    prepared = list(counting.seen)
    assert len(prepared) == 4 and "Refunds take five working days." in prepared
    counting.seen.clear()
    answer = "You get your money back within five working days. Worn helmets stay yours."
    findings = detector.detect(answer, context)
    assert counting.seen, "the answer's sentences were embedded"
    assert not set(counting.seen) & set(prepared), "no passage sentence was embedded again"
    unprepared = CountingEmbedder(counting.inner)
    cold = GroundingDetector(GroundingSettings(), DetectorServices(lambda: unprepared))
    assert [f.to_dict() for f in cold.detect(answer, context)] == [f.to_dict() for f in findings]
    assert set(unprepared.seen) & set(prepared), "unprepared, passages are embedded in the check"


def test_grounding_embeds_the_finished_unsupported_sentences_of_an_answer_being_written() -> None:
    counting = CountingEmbedder(build_embedder("default", root=Path.cwd(), named={}))
    detector = GroundingDetector(GroundingSettings(), DetectorServices(lambda: counting))
    context = CheckContext(documents=PASSAGES)
    supported = "Returns are free within 30 days."  # its words are in a passage: no embedding
    unsupported = "You get your money back soon after the parcel arrives."
    last = "Worn helmets cannot be sent back anywhere, sadly."  # shares words: compared
    answer = f"{supported} {unsupported} {last}"
    detector.prepare_answer(answer[: answer.index("helmets")], context)
    assert counting.seen == [unsupported], "finished and not supported by word overlap only"
    counting.seen.clear()
    findings = detector.detect(answer, context)
    assert unsupported not in counting.seen, "the check found it embedded"
    assert last in counting.seen
    cold = GroundingDetector(GroundingSettings(), DetectorServices(lambda: counting.inner))
    assert [f.to_dict() for f in cold.detect(answer, context)] == [f.to_dict() for f in findings]


def test_grounding_by_word_overlap_alone_has_nothing_to_prepare() -> None:
    counting = CountingEmbedder(build_embedder("default", root=Path.cwd(), named={}))
    lexical = GroundingSettings(use_embeddings=False)
    detector = GroundingDetector(lexical, DetectorServices(lambda: counting))
    assert not detector.prepares_answers
    detector.prepare_answer("Nothing here is supported at all. And more.", CheckContext(PASSAGES))
    assert counting.seen == []
