"""Parsing W3C `traceparent` headers (Trace Context level 1)."""

from __future__ import annotations

import pytest

from steerwise.core.traces import TraceParent

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"


def test_a_valid_header_gives_its_ids_and_sampling() -> None:
    parsed = TraceParent.parse(f" 00-{TRACE}-{SPAN}-01 ")
    assert parsed == TraceParent(TRACE, SPAN, sampled=True)
    assert TraceParent.parse(f"00-{TRACE}-{SPAN}-00") == TraceParent(TRACE, SPAN, sampled=False)
    assert parsed is not None and parsed.header() == f"00-{TRACE}-{SPAN}-01"


def test_a_later_version_may_carry_more_fields() -> None:
    assert TraceParent.parse(f"01-{TRACE}-{SPAN}-03-extra") == TraceParent(TRACE, SPAN, True)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        f"00-{TRACE}-{SPAN}-01-extra",  # version 00 has exactly four fields
        f"ff-{TRACE}-{SPAN}-01",
        f"00-{'0' * 32}-{SPAN}-01",
        f"00-{TRACE}-{'0' * 16}-01",
        f"00-{TRACE.upper()}-{SPAN}-01",
        f"00-{TRACE[:-1]}-{SPAN}-01",
        f"00_{TRACE}_{SPAN}_01",
    ],
)
def test_an_invalid_header_is_none(header: str | None) -> None:
    assert TraceParent.parse(header) is None
