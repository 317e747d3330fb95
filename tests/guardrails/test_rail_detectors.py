"""The shape, topic and answer detectors on real text (real embedder where they use one)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from steerwise.core.guardrails import CheckContext, ContextDocument
from steerwise.guardrails.detectors import DetectorServices
from steerwise.guardrails.detectors.grounding import (
    CitationDetector,
    CitationSettings,
    FreshnessDetector,
    FreshnessSettings,
    GroundingDetector,
    GroundingSettings,
)
from steerwise.guardrails.detectors.limits import (
    JsonDetector,
    JsonSettings,
    LengthDetector,
    LengthSettings,
    estimate_tokens,
)
from steerwise.guardrails.detectors.topics import TopicDetector, TopicSettings

NO_CONTEXT = CheckContext()
RETURNS = ContextDocument(
    "c1",
    "Bikes can be returned within 30 days of delivery. Refunds are paid to the original"
    " card within 5 working days.",
    document="returns@1",
    valid_until="2027-01-01",
)
WARRANTY = ContextDocument(
    "c2",
    "Frames carry a 10 year warranty against manufacturing defects.",
    document="warranty@2",
    valid_until="2025-06-30",
)
CONTEXT = CheckContext(documents=(RETURNS, WARRANTY), today="2026-11-30")


def test_length_limits_chars_and_estimated_tokens() -> None:
    detector = LengthDetector(LengthSettings(max_chars=20, max_tokens=5), DetectorServices())
    assert detector.detect("short", NO_CONTEXT) == []
    found = detector.detect("This sentence is clearly longer than twenty characters.", NO_CONTEXT)
    assert [f.type for f in found] == ["too_long", "too_many_tokens"]
    assert "> 20" in found[0].reason


def test_token_estimate_is_near_a_bpe_count() -> None:
    # "The quick brown fox jumps over the lazy dog." is 10 tokens in GPT-style BPE
    assert 9 <= estimate_tokens("The quick brown fox jumps over the lazy dog.") <= 13


def test_json_validity_and_schema_conformance() -> None:
    schema = {"type": "object", "properties": {"days": {"type": "integer"}}, "required": ["days"]}
    detector = JsonDetector(JsonSettings.model_validate({"schema": schema}), DetectorServices())
    assert detector.detect('{"days": 30}', NO_CONTEXT) == []
    invalid = detector.detect('{"days": 30', NO_CONTEXT)
    assert [f.type for f in invalid] == ["invalid_json"]
    assert "line 1" in invalid[0].reason
    wrong = detector.detect('{"days": "thirty"}', NO_CONTEXT)
    assert [f.type for f in wrong] == ["schema_violation"]
    assert "days" in wrong[0].reason and "thirty" not in wrong[0].reason


def test_json_uses_the_response_schema_of_the_request() -> None:
    detector = JsonDetector(JsonSettings(), DetectorServices())
    context = CheckContext(response_schema={"type": "array"})
    assert [f.type for f in detector.detect("{}", context)] == ["schema_violation"]
    assert detector.detect("{}", NO_CONTEXT) == []


def test_json_settings_refuse_an_invalid_schema() -> None:
    with pytest.raises(ValidationError, match="not a valid JSON Schema"):
        JsonSettings.model_validate({"schema": {"type": "no-such-type"}})


def test_topic_keywords_are_whole_words_in_any_case(services: DetectorServices) -> None:
    settings = TopicSettings.model_validate(
        {"deny": [{"name": "legal", "keywords": ["sue", "lawsuit"]}], "use_embeddings": False}
    )
    detector = TopicDetector(settings, services)
    found = detector.detect("Can I SUE them? I read about a Lawsuit.", NO_CONTEXT)
    assert [(f.type, f.start, f.end) for f in found] == [
        ("denied_topic", 6, 9),
        ("denied_topic", 31, 38),
    ]
    assert detector.detect("Pursue a refund, please.", NO_CONTEXT) == []


def test_topic_examples_match_paraphrases_by_embedding(services: DetectorServices) -> None:
    settings = TopicSettings.model_validate(
        {
            "deny": [
                {
                    "name": "medical",
                    "examples": [
                        "What medicine should I take for my headache?",
                        "Is this rash something I should see a doctor about?",
                    ],
                }
            ]
        }
    )
    detector = TopicDetector(settings, services)
    found = detector.detect("Which pills help against a migraine? My order is late.", NO_CONTEXT)
    assert [f.type for f in found] == ["denied_topic"]
    assert (found[0].start, found[0].end) == (0, 36)
    assert detector.detect("When will my bike be delivered?", NO_CONTEXT) == []


def test_allow_list_flags_off_topic_text(services: DetectorServices) -> None:
    settings = TopicSettings.model_validate(
        {
            "allow": [
                {
                    "name": "bikes",
                    "keywords": ["bike", "bicycle"],
                    "examples": ["How do I adjust the brakes on my bicycle?"],
                }
            ]
        }
    )
    detector = TopicDetector(settings, services)
    assert detector.detect("My bike chain keeps slipping.", NO_CONTEXT) == []
    off = detector.detect("Write me a poem about the sea.", NO_CONTEXT)
    assert [f.type for f in off] == ["off_topic"]


def test_topic_settings_need_topics_with_content() -> None:
    with pytest.raises(ValidationError, match="at least one topic"):
        TopicSettings.model_validate({})
    with pytest.raises(ValidationError, match="needs keywords or examples"):
        TopicSettings.model_validate({"deny": [{"name": "empty"}]})


def test_grounding_reports_only_unsupported_sentences(services: DetectorServices) -> None:
    detector = GroundingDetector(GroundingSettings(), services)
    answer = (
        "You can return the bike within 30 days of delivery [1]. "
        "Refunds reach your original card within 5 working days. "
        "We also give every customer a free helmet."
    )
    found = detector.detect(answer, CONTEXT)
    assert [f.type for f in found] == ["unsupported_sentence"]
    assert answer[found[0].start : found[0].end] == "We also give every customer a free helmet."
    assert "sentence 3" in found[0].reason


def test_grounding_numbers_must_match_the_passage(services: DetectorServices) -> None:
    detector = GroundingDetector(GroundingSettings(), services)
    found = detector.detect("Bikes can be returned within 60 days of delivery.", CONTEXT)
    assert [f.type for f in found] == ["unsupported_sentence"]
    loose = GroundingDetector(GroundingSettings(numbers_must_match=False), services)
    assert loose.detect("Bikes can be returned within 60 days of delivery.", CONTEXT) == []


def test_grounding_accepts_paraphrases_by_embedding(services: DetectorServices) -> None:
    lexical = GroundingDetector(GroundingSettings(use_embeddings=False), services)
    semantic = GroundingDetector(GroundingSettings(), services)
    paraphrase = "The frame warranty covers manufacturing faults for ten years."
    assert len(lexical.detect(paraphrase, CONTEXT)) == 1
    assert semantic.detect(paraphrase, CONTEXT) == []


def test_grounding_without_context_supports_nothing(services: DetectorServices) -> None:
    detector = GroundingDetector(GroundingSettings(), services)
    found = detector.detect("Bikes can be returned within 30 days.", NO_CONTEXT)
    assert len(found) == 1
    assert detector.detect("Thanks!", NO_CONTEXT) == []


def test_citations_must_point_at_retrieved_passages() -> None:
    detector = CitationDetector(CitationSettings(require=True), DetectorServices())
    assert detector.detect("Thirty days [1]; ten years [2].", CONTEXT) == []
    found = detector.detect("Thirty days [1, 3].", CONTEXT)
    assert [(f.type, f.reason) for f in found] == [
        ("invalid_citation", "cites [3] but only 2 passages were retrieved")
    ]
    assert [f.type for f in detector.detect("Thirty days.", CONTEXT)] == ["missing_citation"]


def test_freshness_refuses_answers_resting_on_expired_sources() -> None:
    detector = FreshnessDetector(FreshnessSettings(), DetectorServices())
    assert detector.detect("Returns take 30 days [1].", CONTEXT) == []
    expired = detector.detect("Frames have a 10 year warranty [2].", CONTEXT)
    assert [(f.type, f.reason) for f in expired] == [
        ("expired_source", "rests on warranty@2, valid only until 2025-06-30")
    ]
    uncited = detector.detect("Returns take 30 days.", CONTEXT)
    assert [f.type for f in uncited] == ["expired_source"]


def test_freshness_can_refuse_stale_sources_too() -> None:
    stale = ContextDocument(
        "c3",
        "Old text.",
        document="old@1",
        stale=True,
        stale_reasons=("older than its TTL of 90 days",),
    )
    context = CheckContext(documents=(stale,), today="2026-11-30")
    assert FreshnessDetector(FreshnessSettings(), DetectorServices()).detect("x [1]", context) == []
    found = FreshnessDetector(FreshnessSettings(stale=True), DetectorServices()).detect(
        "x [1]", context
    )
    assert [(f.type, f.reason) for f in found] == [
        ("stale_source", "rests on old@1, which is older than its TTL of 90 days")
    ]
