"""Pattern extraction: each sentence shape, what must yield nothing, and the demo pack."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest

import steerwise
from steerwise.core.graph import Fact, Provenance, entity_key
from steerwise.graph.extraction import LIMIT_CONFIDENCE, STATED_CONFIDENCE, extract_facts

DEMO_DOCS = Path(steerwise.__file__).parent / "demo" / "pack" / "docs"
FRONT_MATTER = re.compile(r"\A---\n(?P<fields>.*?)\n---\n", re.DOTALL)
PROVENANCE = Provenance("pattern", source="policy.md", doc_id="policy", chunk_id="c1")

Triple = tuple[str, str, str]


def extract(text: str, *, title: str = "Policy", heading_path: Sequence[str] = ()) -> list[Fact]:
    return extract_facts(text, title=title, heading_path=heading_path, provenance=PROVENANCE)


def triples(text: str, *, title: str = "Policy", heading_path: Sequence[str] = ()) -> list[Triple]:
    facts = extract(text, title=title, heading_path=heading_path)
    return [(fact.subject, fact.predicate, fact.object) for fact in facts]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The membership has an annual fee of £40.",
            [("membership", "annual fee", "£40")],
        ),
        (
            "A battery has capacity of 500 charge cycles.",
            [("battery", "capacity", "500 charge cycles")],
        ),
        (
            "E-bikes carry a £20 supplement on any tier.",
            [("E-bikes", "supplement", "£20")],
        ),
    ],
)
def test_named_quantities(text: str, expected: list[Triple]) -> None:
    assert triples(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Workshop team owns servicing.", [("servicing", "owned by", "Workshop team")]),
        (
            "Returns are owned by the Customer Care team.",
            [("Returns", "owned by", "Customer Care team")],
        ),
        (
            "The Legal team owns this policy and answers questions about it.",
            [("Privacy Policy", "owned by", "Legal team")],
        ),
    ],
)
def test_owners(text: str, expected: list[Triple]) -> None:
    assert triples(text, title="Privacy Policy") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- Bronze Service: £45", [("Bronze Service", "price", "£45")]),
        ("Membership costs £40 a year.", [("Membership", "price", "£40 a year")]),
        ("The Gold Service is £140.", [("Gold Service", "price", "£140")]),
        ("- Safety Check, £25: a written report.", [("Safety Check", "price", "£25")]),
        (
            "- One free Bronze Service each year (normally £45)",
            [("Bronze Service", "price", "£45")],
        ),
        ("The premium frame costs $1,250.50.", [("premium frame", "price", "$1,250.50")]),
        ("Express service costs €15 extra.", [("Express service", "price", "€15 extra")]),
        ("Later cancellations cost £10.", [("Later cancellations", "price", "£10")]),
        ("Note: our membership costs £40.", [("membership", "price", "£40")]),
    ],
)
def test_prices(text: str, expected: list[Triple]) -> None:
    assert triples(text) == expected


@pytest.mark.parametrize(
    ("text", "heading_path", "expected"),
    [
        (
            "We refund within 5 business days.",
            ("Policy", "Refunds"),
            [("Refunds", "refund within", "5 business days")],
        ),
        (
            "E-bike batteries are covered for 2 years or 500 full charge cycles, "
            "whichever comes first.",
            (),
            [
                ("E-bike batteries", "covered for", "2 years"),
                ("E-bike batteries", "covered for", "500 full charge cycles"),
            ],
        ),
        (
            "Standard delivery takes 3 to 5 business days.",
            (),
            [("Standard delivery", "takes", "3 to 5 business days")],
        ),
        ("Customers may return at most 3 items.", (), [("Customers", "limit", "3 items")]),
        ("- Up to 2 units per customer.", ("Limits",), [("Policy", "limit", "2 units")]),
        (
            "- 60-day returns on clothing",
            ("Member benefits",),
            [("Member benefits", "returns window", "60 days")],
        ),
        (
            "- Store CCTV footage: 30 days, unless it is needed.",
            ("How long we keep data",),
            [("Store CCTV footage", "how long we keep data", "30 days")],
        ),
        (
            "Standard turnaround is 5 business days from drop-off.",
            (),
            [("Standard turnaround", "duration", "5 business days")],
        ),
        (
            "Inactive accounts are deleted after 24 months.",
            (),
            [("Inactive accounts", "deleted after", "24 months")],
        ),
        ("Please report damage within 48 hours.", (), [("Policy", "report within", "48 hours")]),
        ("Discounts go up to 15%.", (), [("Discounts", "limit", "15%")]),
        ("Refunds take up to 10 days.", (), [("Refunds", "takes up to", "10 days")]),
        ("Claims must be made within 7 days.", (), [("Claims", "made within", "7 days")]),
        (
            "You can return items within 30 days of delivery.",
            ("Returns",),
            [("Returns", "return within", "30 days")],
        ),
    ],
)
def test_durations_and_limits(
    text: str, heading_path: tuple[str, ...], expected: list[Triple]
) -> None:
    assert triples(text, heading_path=heading_path) == expected


def test_a_heading_in_the_text_names_a_missing_subject() -> None:
    text = "# Policy\n\n## Refunds\n\nIf you cancel within 14 days, we refund the fee."
    assert triples(text) == [("Refunds", "cancel within", "14 days")]


def test_markup_is_stripped_from_subjects_and_objects() -> None:
    text = "**The [Membership](https://example.org/join) has an annual fee of `£40`.**"
    assert triples(text) == [("Membership", "annual fee", "£40")]
    assert triples("The _Bronze Service_ costs £45.") == [("Bronze Service", "price", "£45")]


@pytest.mark.parametrize(
    "text",
    [
        "Contact us for help.",
        "We recycle e-bike batteries of any brand free of charge.",
        "Do not charge a battery below 0 degrees C or above 40 degrees C.",
        "Membership is open to any customer aged 16 or over.",
        "Express delivery arrives the next day for orders placed before 2pm.",
        "Store the battery at 40 to 60% charge.",
        "Bikes not collected within 30 days of that text are charged a storage fee of £5 per week.",
        "We hold click and collect orders for 14 days.",
        "Anything you buy from us in our Leeds store costs £5.",
        "It costs £15.",
        "Repairs cost from £10.",
        "This costs £40.",
        "Shipping costs £3.95 for orders under £20.",
        "Your order ships within 2 days.",
        "Returns within 30 days are free.",
        "```\nMembership costs £40 a year.\n```",
        "| Tier | Price |\n| Bronze Service | £45 |",
    ],
)
def test_sentences_without_a_shape_yield_nothing(text: str) -> None:
    assert extract(text) == []


def test_each_fact_quotes_its_sentence_and_keeps_the_provenance() -> None:
    text = "Membership costs £40 a year. It renews each year.\n\n- Bronze Service: £45"
    facts = extract(text)
    assert [fact.provenance.quote for fact in facts] == [
        "Membership costs £40 a year.",
        "Bronze Service: £45",
    ]
    assert {fact.provenance.chunk_id for fact in facts} == {"c1"}
    assert {fact.provenance.origin for fact in facts} == {"pattern"}


def test_confidence_is_lower_for_durations_and_limits() -> None:
    facts = extract("Membership costs £40 a year and lasts for 12 months.")
    assert [(fact.predicate, fact.confidence) for fact in facts] == [
        ("price", STATED_CONFIDENCE),
        ("lasts for", LIMIT_CONFIDENCE),
    ]


def test_duplicates_keep_the_highest_confidence_in_document_order() -> None:
    text = (
        "Delivery costs £5. The battery is 5 days. The battery has a duration of 5 days. "
        "Delivery costs £5."
    )
    facts = extract(text)
    assert [(fact.subject, fact.predicate, fact.object) for fact in facts] == [
        ("Delivery", "price", "£5"),
        ("battery", "duration", "5 days"),
    ]
    assert facts[1].confidence == STATED_CONFIDENCE
    assert facts[1].provenance.quote == "The battery has a duration of 5 days."


def demo_facts() -> list[Fact]:
    facts: list[Fact] = []
    for path in sorted(DEMO_DOCS.glob("*.md")):
        document = path.read_text(encoding="utf-8")
        front = FRONT_MATTER.match(document)
        assert front is not None
        title = re.search(r"^title: (.*)$", front.group("fields"), re.MULTILINE)
        assert title is not None
        provenance = Provenance("pattern", source=path.name)
        body = document[front.end() :]
        facts += extract_facts(body, title=title.group(1), provenance=provenance)
    return facts


def has_fact(facts: list[Fact], about: Sequence[str], value: Sequence[str]) -> bool:
    """Whether some fact names all of `about` in its subject or predicate and all of `value` in
    its object, compared as `entity_key`s."""
    for fact in facts:
        named = entity_key(f"{fact.subject} {fact.predicate}")
        stated = entity_key(fact.object)
        if all(entity_key(word) in named for word in about) and all(
            entity_key(word) in stated for word in value
        ):
            return True
    return False


@pytest.mark.parametrize(
    ("about", "value"),
    [
        (["membership"], ["£40"]),
        (["bronze service", "price"], ["£45"]),
        (["e-bike batter"], ["500", "charge cycles"]),
        (["return"], ["30 days"]),
        (["refund"], ["5 business days"]),
        (["returns", "owned by"], ["customer care"]),
    ],
)
def test_the_demo_pack_yields_its_key_facts(about: list[str], value: list[str]) -> None:
    assert has_fact(demo_facts(), about, value)


def test_every_demo_fact_states_a_quantity_or_an_owner() -> None:
    facts = demo_facts()
    assert len(facts) > 30
    for fact in facts:
        assert fact.predicate == "owned by" or re.search(r"\d", fact.object), fact
        assert len(fact.subject.split()) <= 6, fact
        assert fact.provenance.quote, fact
