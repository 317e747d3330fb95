"""Quantities are found in text, normalised to base units, and compared across units."""

from __future__ import annotations

import pytest

from steerwise.graph.units import Quantity, compare, parse_quantities


def _one(text: str) -> Quantity:
    found = parse_quantities(text)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    ("text", "value", "dimension", "written"),
    [
        ("It costs £45.", 45, "money:GBP", "£45"),
        ("Free over £1,000 today", 1000, "money:GBP", "£1,000"),
        ("a fee of 45 GBP", 45, "money:GBP", "45 GBP"),
        ("about 45 pounds", 45, "money:GBP", "45 pounds"),
        ("only $10.50 each", 10.5, "money:USD", "$10.50"),
        ("just €5", 5, "money:EUR", "€5"),
        ("costs £4.95.", 4.95, "money:GBP", "£4.95"),
        ("covered for 3 years", 36, "duration:month", "3 years"),
        ("covered for 36 months", 36, "duration:month", "36 months"),
        ("within 2 weeks", 14, "duration:day", "2 weeks"),
        ("within 14 days", 14, "duration:day", "14 days"),
        ("within 48 hours", 2, "duration:day", "48 hours"),
        ("within thirty days", 30, "duration:day", "thirty days"),
        ("for two years", 24, "duration:month", "two years"),
        ("for one hundred days", 100, "duration:day", "one hundred days"),
        ("a 30-day return", 30, "duration:day", "30-day"),
        ("60-day returns", 60, "duration:day", "60-day"),
        ("a 10-year warranty", 120, "duration:month", "10-year"),
        ("in 5 business days", 5, "duration:business_day", "5 business days"),
        ("in 5 working days", 5, "duration:business_day", "5 working days"),
        ("2 extra business days", 2, "duration:business_day", "2 extra business days"),
        ("10% off", 10, "percent", "10%"),
        ("10 percent off", 10, "percent", "10 percent"),
        ("10 per cent off", 10, "percent", "10 per cent"),
        ("or 500 charge cycles, whichever", 500, "count:cycle", "500 charge cycles"),
        ("or 500 full charge cycles", 500, "count:cycle", "500 full charge cycles"),
        ("up to 2 units of an item", 2, "count:unit", "2 units"),
        ("One free Bronze Service each year", 1, "count:service", "One free Bronze Service"),
        ("aged 16 or over", 16, "number", "16"),
    ],
)
def test_parse(text: str, value: float, dimension: str, written: str) -> None:
    quantity = _one(text)
    assert (quantity.value, quantity.dimension, quantity.text) == (value, dimension, written)
    assert text[quantity.start : quantity.end] == written


def test_several_quantities_keep_their_spans() -> None:
    text = "Batteries: 2 years or 500 full charge cycles, £15 a check."
    found = parse_quantities(text)
    assert [q.text for q in found] == ["2 years", "500 full charge cycles", "£15"]
    assert [text[q.start : q.end] for q in found] == [q.text for q in found]


def test_a_range_gives_both_ends_the_unit() -> None:
    found = parse_quantities("Delivery takes 3 to 5 business days, stored at 40-60% charge.")
    assert [(q.value, q.dimension) for q in found] == [
        (3, "duration:business_day"),
        (5, "duration:business_day"),
        (40, "percent"),
        (60, "percent"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Valid until 2026-06-30.",
        "Updated 30/06/2026 and on 30 June 2026 and June 30, 2026.",
        "Order before 2pm or 10am, or 2 p.m., or at 14:00.",
        "The 1st, 2nd, 3rd and 4th orders.",
        "Call 0113 496 0000 or +44 113 496 0000.",
        "Order number 12345678.",
        "## 2. Fees\n1. Join online\n2) Pay",
        "See Section 4.2 and Step 3.",
        "Founded in 2026.",
        "No one knows; one of them said so.",
    ],
)
def test_skipped_numbers(text: str) -> None:
    assert parse_quantities(text) == []


def test_numbers_beside_skipped_ones_are_kept() -> None:
    found = parse_quantities("On 2026-06-30 at 2pm we extended returns to 60 days.")
    assert [q.text for q in found] == ["60 days"]


def test_bare_number() -> None:
    assert _one("a total of 42, all told").dimension == "number"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("3 years", "36 months"),
        ("1 year", "12 months"),
        ("1 year", "365 days"),
        ("12 months", "365 days"),
        ("2 years", "730 days"),
        ("14 days", "2 weeks"),
        ("3 months", "90 days"),
        ("£45", "45 pounds"),
        ("£1,000", "1000 GBP"),
        ("10%", "10 percent"),
        ("500 charge cycles", "500 full charge cycles"),
        ("30-day", "thirty days"),
        ("16", "16"),
    ],
)
def test_equal(a: str, b: str) -> None:
    assert compare(_one(a), _one(b)) is True
    assert compare(_one(b), _one(a)) is True


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("3 years", "30 months"),
        ("1 year", "350 days"),
        ("2 years", "700 days"),
        ("£45", "£40"),
        ("£4.95", "£4.96"),
        ("10%", "15%"),
        ("500 charge cycles", "1,000 charge cycles"),
        ("5 business days", "10 working days"),
    ],
)
def test_different(a: str, b: str) -> None:
    assert compare(_one(a), _one(b)) is False


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("5 business days", "5 days"),
        ("10 business days", "2 weeks"),
        ("1 month", "22 business days"),
        ("£45", "$45"),
        ("£45", "45 days"),
        ("10%", "10"),
        ("500 charge cycles", "500 batteries"),
        ("500 charge cycles", "500"),
    ],
)
def test_not_comparable(a: str, b: str) -> None:
    assert compare(_one(a), _one(b)) is None
