"""Claims are checked against graph facts: a labelled set, spans, reasons and precision."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from steerwise.core.graph import Fact, Provenance
from steerwise.graph.checking import NO_FACT, check_claim, check_claims
from steerwise.graph.claims import Claim, split_claims

LABELS = ("supported", "contradicted", "unknown")
LABELLED = Path(__file__).with_name("claims_labelled.jsonl")


def _load() -> tuple[list[Fact], list[dict[str, Any]]]:
    rows = [json.loads(line) for line in LABELLED.read_text("utf-8").splitlines() if line.strip()]
    facts = [Fact(r["subject"], r["predicate"], r["object"]) for r in rows if r["kind"] == "fact"]
    return facts, [row for row in rows if row["kind"] == "claim"]


def _confusion() -> Counter[tuple[str, str]]:
    facts, claims = _load()
    confusion: Counter[tuple[str, str]] = Counter()
    for row in claims:
        verdicts = check_claims(row["text"], facts)
        assert len(verdicts) == 1, row["text"]
        confusion[(row["label"], verdicts[0].label)] += 1
    return confusion


def test_labelled_set_is_balanced() -> None:
    facts, claims = _load()
    counts = Counter(row["label"] for row in claims)
    print({"facts": len(facts), **counts})
    assert len(facts) >= 20
    assert len(claims) >= 40
    assert all(counts[label] >= len(claims) // 4 for label in LABELS)


def test_accuracy_on_labelled_claims() -> None:
    confusion = _confusion()
    total = sum(confusion.values())
    accuracy = sum(confusion[(label, label)] for label in LABELS) / total
    print(f"\naccuracy {accuracy:.3f} on {total} claims (rows: expected, columns: predicted)")
    for expected in LABELS:
        print(f"{expected:>13}", *(f"{confusion[(expected, got)]:4d}" for got in LABELS))
    assert accuracy >= 0.85


def test_no_false_contradictions() -> None:
    confusion = _confusion()
    assert confusion[("supported", "contradicted")] == 0
    assert confusion[("unknown", "contradicted")] == 0


RETURNS = Provenance("pattern", doc_id="returns-policy", doc_version=1)
FACTS = [
    Fact("Parts, accessories and clothing", "return window", "30 days", provenance=RETURNS),
    Fact("Bikes and e-bikes", "return window", "14 days", provenance=RETURNS),
    Fact("Refunds", "refund time", "5 business days", provenance=RETURNS),
    Fact("Returns policy", "owned by", "Customer Care", provenance=RETURNS),
]


def test_one_verdict_per_claim_with_spans() -> None:
    answer = (
        "Bikes can be returned within 14 days. Parts within 45 days; "
        "refunds take 5 business days.\n"
        "- Gift cards cannot be returned\n"
        "- The returns policy is owned by Customer Care."
    )
    verdicts = check_claims(answer, FACTS)
    assert [answer[v.start : v.end] for v in verdicts] == [v.claim for v in verdicts]
    assert [v.claim for v in verdicts] == [
        "Bikes can be returned within 14 days.",
        "Parts within 45 days",
        "refunds take 5 business days.",
        "Gift cards cannot be returned",
        "The returns policy is owned by Customer Care.",
    ]
    assert [v.label for v in verdicts] == [
        "supported",
        "contradicted",
        "supported",
        "unknown",
        "supported",
    ]


def test_contradiction_names_the_fact_and_its_source() -> None:
    verdict = check_claim(Claim("Parts can be returned within 45 days.", 0, 37), FACTS)
    assert verdict.label == "contradicted"
    assert verdict.facts == [FACTS[0]]
    assert verdict.reason == "the graph says 30 days (returns-policy@1)"


def test_reason_without_provenance_names_subject_and_predicate() -> None:
    fact = Fact("Membership", "annual fee", "£40")
    verdict = check_claims("Membership costs £45 a year.", [fact])[0]
    assert verdict.reason == "the graph says £40 (Membership — annual fee)"


def test_supported_verdict_lists_the_confirming_fact() -> None:
    verdict = check_claims("Bikes and e-bikes can be returned within two weeks.", FACTS)[0]
    assert (verdict.label, verdict.facts) == ("supported", [FACTS[1]])


def test_claim_about_nothing_in_the_graph_is_unknown() -> None:
    verdict = check_claims("We deliver to the United Kingdom only.", FACTS)[0]
    assert (verdict.label, verdict.facts, verdict.reason) == ("unknown", [], NO_FACT)


def test_business_days_are_not_calendar_days() -> None:
    assert check_claims("Refunds arrive within 5 days.", FACTS)[0].label == "unknown"


def test_negated_claims_are_not_judged() -> None:
    verdict = check_claims("Bikes cannot be returned after 30 days.", FACTS)[0]
    assert verdict.label == "unknown"


def test_a_value_some_fact_confirms_is_not_contradicted() -> None:
    facts = [Fact("Membership", "annual fee", "£40"), Fact("Bronze Service", "price", "£45")]
    verdict = check_claims("Membership includes a Bronze Service worth £45.", facts)[0]
    assert (verdict.label, verdict.facts) == ("supported", [facts[1]])


def test_a_fact_matched_only_by_kind_of_quantity_cannot_contradict() -> None:
    claim = "Bikes left at the workshop for 30 days are charged a storage fee."
    assert check_claims(claim, FACTS)[0].label == "unknown"
    assert check_claims("Bikes and e-bikes: 30 days.", FACTS)[0].label == "contradicted"


def test_named_object_supports_or_contradicts() -> None:
    assert check_claims("Customer Care owns the returns policy.", FACTS)[0].label == "supported"
    assert check_claims("The Legal team owns the returns policy.", FACTS)[0].label == "contradicted"
    assert check_claims("The returns policy is owned by staff.", FACTS)[0].label == "unknown"


@pytest.mark.parametrize(
    ("text", "claims"),
    [
        ("Delivery costs £1.50. It is fast!", ["Delivery costs £1.50.", "It is fast!"]),
        (
            "Some items, e.g. gift cards, are final. Ok?",
            ["Some items, e.g. gift cards, are final.", "Ok?"],
        ),
        ("A; B;; C", ["A", "B", "C"]),
        (
            "Intro:\n- one item\n* two\n1. three\n2) four",
            ["Intro:", "one item", "two", "three", "four"],
        ),
        ("A sentence that\nwraps lines. Next one", ["A sentence that\nwraps lines.", "Next one"]),
        ("  \n\n---\n", []),
        ("## Fees\nMembership costs £40.", ["Fees", "Membership costs £40."]),
    ],
)
def test_split_claims(text: str, claims: list[str]) -> None:
    found = split_claims(text)
    assert [claim.text for claim in found] == claims
    assert all(text[claim.start : claim.end] == claim.text for claim in found)
