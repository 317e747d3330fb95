"""Every scorer on real text, with values worked out by hand; empty answers and refusals
behave as docs/evals.md says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from steerwise import BadInputError, Workspace
from steerwise.core.evals import Sample, Score
from steerwise.core.guardrails import ContextDocument
from steerwise.demo import pack_path
from steerwise.evals.scorers import SCORERS, ScorerError, ScorerServices, build_scorer

REFUSAL = "I'm sorry, but I can't help with that."
PASSAGES = (
    ContextDocument("c1", "Refunds are paid within five working days of the return.", "returns@2"),
    ContextDocument("c2", "Shipping within Europe takes two to four days.", "shipping@1"),
)


def _score(
    name: str, sample: Sample, services: ScorerServices | None = None, **settings: Any
) -> Score:
    return build_scorer(name, settings, services).score(sample)


def test_every_documented_scorer_is_registered() -> None:
    assert set(SCORERS) == {
        "exact_match",
        "f1",
        "rouge_l",
        "contains",
        "regex",
        "semantic_similarity",
        "json_valid",
        "json_schema",
        "refusal",
        "latency",
        "cost",
        "citation_precision",
        "context_recall",
        "faithfulness",
        "guardrail",
        "llm_judge",
        "python",
    }


def test_exact_match_and_f1_take_the_best_reference() -> None:
    sample = Sample("the Denver Broncos", references=("Carolina", "Denver Broncos!"))
    assert _score("exact_match", sample).value == 1.0
    assert "reference 2" in _score("f1", sample).reason
    partial = Sample("Denver", references=("Denver Broncos", "Broncos"))
    f1 = _score("f1", partial)
    assert f1.value == pytest.approx(2 / 3) and f1.passed  # P 1, R 1/2
    assert not _score("f1", partial, threshold=0.7).passed
    assert _score("exact_match", partial).value == 0.0


def test_empty_answers_and_refusals_are_plain_text_to_reference_scorers() -> None:
    for output in ("", REFUSAL):
        sample = Sample(output, references=("five working days",))
        for name in ("exact_match", "f1", "rouge_l", "contains"):
            found = _score(name, sample)
            assert (found.value, found.passed) == (0.0, False), (name, output)


def test_a_scorer_without_references_cannot_judge() -> None:
    for name in ("exact_match", "f1", "rouge_l", "contains"):
        with pytest.raises(ScorerError, match="no reference"):
            _score(name, Sample("anything"))


def test_rouge_l_and_contains() -> None:
    sample = Sample("Refunds take five working days.", references=("five working days",))
    rouge = _score("rouge_l", sample)  # LCS 3; P 3/5, R 1 -> 0.75
    assert rouge.value == pytest.approx(0.75)
    assert _score("contains", sample).passed
    assert _score("contains", sample, value=["FIVE", "weeks"]).passed  # any, case folded
    assert not _score("contains", sample, value=["five", "weeks"], all=True).passed
    assert not _score("contains", sample, value="FIVE", ignore_case=False).passed


def test_regex_both_ways_and_a_bad_pattern_is_refused_at_build() -> None:
    sample = Sample("Order 12345 ships today.")
    assert _score("regex", sample, pattern=r"\b\d{5}\b").passed
    assert not _score("regex", sample, pattern=r"\b\d{5}\b", must_not_match=True).passed
    assert _score("regex", sample, pattern="SHIPS", ignore_case=True).passed
    with pytest.raises(BadInputError, match="pattern: Value error, not a regular expression"):
        build_scorer("regex", {"pattern": "(unclosed"})


def test_json_valid_and_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"days": {"type": "integer"}},
        "required": ["days"],
    }
    assert _score("json_valid", Sample('{"days": 5}')).passed
    assert _score("json_valid", Sample("")).reason == "empty answer"
    refused = _score("json_valid", Sample(REFUSAL))
    assert not refused.passed and refused.reason.startswith("not valid JSON: Expecting value")
    assert _score("json_valid", Sample("no braces"), extract=True).reason == "no JSON in the answer"
    fenced = Sample('Here you go:\n```json\n{"days": "five"}\n```')
    assert not _score("json_valid", fenced).passed
    assert _score("json_valid", fenced, extract=True).passed
    wrong = _score("json_schema", fenced, json_schema=schema, extract=True)
    assert not wrong.passed and wrong.reason == "at days: breaks the schema's 'type' rule"
    assert _score("json_schema", Sample('{"days": 5}'), json_schema=schema).passed
    with pytest.raises(BadInputError, match="json_schema: Value error, not a valid JSON Schema"):
        build_scorer("json_schema", {"json_schema": {"type": "no-such-type"}})


def test_refusal_latency_and_cost() -> None:
    assert _score("refusal", Sample(REFUSAL)).passed
    assert _score("refusal", Sample("")).reason == "empty answer"
    assert _score("refusal", Sample("Refunds take five days.", declined=True)).passed
    assert not _score("refusal", Sample("Refunds take five days.")).passed
    phrase = Sample("Please contact Customer Care.")
    assert _score("refusal", phrase, phrases=["contact customer care"]).passed
    assert _score("latency", Sample("x", latency_ms=120.0), max_ms=200).passed
    assert not _score("latency", Sample("x", latency_ms=250.0), max_ms=200).passed
    assert _score("cost", Sample("x", cost_usd=0.0004), max_usd=0.001).passed
    with pytest.raises(ScorerError, match="no latency"):
        _score("latency", Sample("x"), max_ms=200)
    with pytest.raises(BadInputError, match="max_ms: Field required"):
        build_scorer("latency", {})


def test_citation_precision_and_context_recall() -> None:
    cited = Sample(
        "Refunds take five working days [1][2].",
        reference_doc_ids=("returns", "warranty"),
        context=PASSAGES,
        cited_doc_ids=("returns@2", "shipping@1"),
    )
    precision = _score("citation_precision", cited)
    assert precision.value == 0.5 and precision.reason == "1 of 2 cited documents are references"
    recall = _score("context_recall", cited)
    assert recall.value == 0.5 and recall.reason == "retrieved 1 of 2 reference documents"
    silent = Sample(REFUSAL, reference_doc_ids=("returns",), context=PASSAGES)
    assert _score("citation_precision", silent).value == 0.0
    assert _score("context_recall", silent).value == 1.0  # retrieval, not the answer
    with pytest.raises(ScorerError, match="no reference_doc_ids"):
        _score("context_recall", Sample("x", context=PASSAGES))


def test_faithfulness_counts_supported_claims(scorer_services: ScorerServices) -> None:
    answer = (
        "Refunds are paid within five working days of the return. "
        "Every customer also gets a free bicycle helmet with each refund."
    )
    found = _score("faithfulness", Sample(answer, context=PASSAGES), scorer_services)
    assert found.value == 0.5 and not found.passed
    assert found.reason == "1 of 2 claims supported by 2 passages"
    for output in ("", REFUSAL):
        vacuous = _score("faithfulness", Sample(output, context=PASSAGES), scorer_services)
        assert (vacuous.value, vacuous.reason) == (1.0, "the answer makes no claims")


def test_semantic_similarity_uses_the_embedder(scorer_services: ScorerServices) -> None:
    references = ("Refunds are paid within five working days.",)
    close = _score(
        "semantic_similarity",
        Sample("You get your money back in five business days.", references=references),
        scorer_services,
    )
    far = _score(
        "semantic_similarity",
        Sample("Our shop opens at nine on Saturdays.", references=references),
        scorer_services,
    )
    assert 0.6 < close.value <= 1.0 and far.value < 0.3 and close.value > far.value + 0.4
    assert (
        _score("semantic_similarity", Sample("", references=references), scorer_services).value == 0
    )


def test_a_policy_and_one_of_its_rails_as_scorers(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        ws.policies.push([pack_path() / "policies"])
        services = ScorerServices(policy=ws.policies.load)
        leaky = Sample("Write to jo@example.org for a refund.")
        assert (
            not ws.scorer("guardrail", {"policy": "support@1", "rail": "pii"}).score(leaky).passed
        )
        whole = _score("guardrail", leaky, services, policy="support", strict=True)
        assert not whole.passed and "email address" in whole.reason
        assert _score("guardrail", leaky, services, policy="support").passed  # redacted
        rail = _score("guardrail", leaky, services, policy="support", rail="pii")
        assert not rail.passed
        with pytest.raises(ScorerError, match="no output rail 'nope'"):
            _score("guardrail", leaky, services, policy="support", rail="nope")
    with pytest.raises(ScorerError, match="needs a workspace"):
        _score("guardrail", leaky, policy="support")


def test_python_scorers_by_import_path() -> None:
    module = "tests.evals.custom_scorers"
    assert _score("python", Sample("LOUD"), function=f"{module}:shouting").passed
    share = _score("python", Sample("0123456789"), function=f"{module}:length_share")
    assert share.value == 0.5 and share.passed
    assert _score("python", Sample("x"), function=f"{module}:full").reason == "always"
    with pytest.raises(ScorerError, match="returned str"):
        _score("python", Sample("x"), function=f"{module}:wrong_type")
    for bad, message in (
        ("no_colon", "module:function"),
        (f"{module}:missing", "cannot import"),
        (f"{module}:NOT_CALLABLE", "not callable"),
    ):
        with pytest.raises(BadInputError, match=message):
            build_scorer("python", {"function": bad})


def test_unknown_scorers_and_settings_name_what_is_wrong() -> None:
    with pytest.raises(BadInputError, match="unknown scorer 'bleu'") as caught:
        build_scorer("bleu")
    assert "exact_match" in (caught.value.hint or "")
    with pytest.raises(BadInputError, match="scorer 'f1': treshold: Extra inputs"):
        build_scorer("f1", {"treshold": 0.3})
