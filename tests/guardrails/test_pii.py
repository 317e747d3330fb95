"""The offline PII detector finds each type with exact spans and rejects look-alikes."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from steerwise.core.guardrails import CheckContext, Finding
from steerwise.guardrails.detectors.base import DETECTORS, DetectorServices
from steerwise.guardrails.detectors.pii import PII_TYPES, PiiDetector

LABELLED = Path(__file__).parent / "data" / "pii_multilingual.jsonl"


def detect(text: str, **settings: Any) -> list[Finding]:
    detector = PiiDetector(PiiDetector.Settings(**settings), DetectorServices())
    return detector.detect(text, CheckContext())


def found(text: str, **settings: Any) -> list[tuple[str, str]]:
    """(type, matched text) of each finding, in order."""
    return [(finding.type, finding.span(text)) for finding in detect(text, **settings)]


def labelled() -> list[dict[str, Any]]:
    lines = LABELLED.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


ENGLISH = [
    ("EMAIL", "Write to jane.doe@example.com for a copy.", "jane.doe@example.com"),
    ("PHONE", "Call me back at (212) 555-0123 after 5 pm.", "(212) 555-0123"),
    ("PHONE", "My UK mobile is +44 7911 123456, text first.", "+44 7911 123456"),
    ("CREDIT_CARD", "Charge card 4111 1111 1111 1111 for the order.", "4111 1111 1111 1111"),
    ("CREDIT_CARD", "The Amex 3782 822463 10005 was declined.", "3782 822463 10005"),
    ("CREDIT_CARD", "Card 5555-5555-5555-4444 expires in May.", "5555-5555-5555-4444"),
    ("IBAN", "Pay into GB29 NWBK 6016 1331 9268 19 by Friday.", "GB29 NWBK 6016 1331 9268 19"),
    ("IBAN", "Pay into GB29NWBK60161331926819, thanks.", "GB29NWBK60161331926819"),
    ("SSN", "His social security number is 536-22-8197.", "536-22-8197"),
    ("SSN", "Her SSN is 536 22 8197 on the form.", "536 22 8197"),
    ("IP_ADDRESS", "We saw a login from 203.0.113.42 last night.", "203.0.113.42"),
    (
        "IP_ADDRESS",
        "The server listens on 2001:db8:85a3::8a2e:370:7334 now.",
        "2001:db8:85a3::8a2e:370:7334",
    ),
    (
        "SECRET",
        "The script still holds AKIAIOSFODNN7EXAMPLE in plain text.",
        "AKIAIOSFODNN7EXAMPLE",
    ),
]


@pytest.mark.parametrize(("kind", "text", "value"), ENGLISH)
def test_each_type_is_found_in_an_english_sentence(kind: str, text: str, value: str) -> None:
    start = text.index(value)
    [finding] = detect(text)
    assert (finding.type, finding.start, finding.end) == (kind, start, start + len(value))
    assert finding.detector == "pii"


def test_checksum_validated_types_score_one() -> None:
    text = "Card 4111 1111 1111 1111 and IBAN GB29 NWBK 6016 1331 9268 19."
    assert [(f.type, f.score) for f in detect(text)] == [("CREDIT_CARD", 1.0), ("IBAN", 1.0)]


def test_secret_reason_names_the_kind_and_wins_over_an_email_inside_it() -> None:
    text = "Connect with postgresql://app:hunter2@db.example.com/prod today."
    [finding] = detect(text)
    assert finding.type == "SECRET"
    assert finding.span(text) == "postgresql://app:hunter2@"
    assert "password in a URL" in finding.reason


LOOK_ALIKES = [
    "Order number 4111 1111 1111 1112 shipped today.",  # fails Luhn
    "Reference 9999 9999 9999 9995 passes Luhn but no issuer uses that prefix.",
    "The IBAN GB29 NWBK 6016 1331 9268 18 has a wrong check digit.",
    "The IBAN GB29 NWBK 6016 1331 9268 1 is one character short.",
    "Rejected SSNs: 000-12-3456, 666-12-3456, 900-12-3456, 536-00-8197, 536-22-0000.",
    "Invalid address 999.1.1.1 in the log.",
    "The sequence 1.2.3.4.5 is a section number, not an address.",
    "We upgraded to v1.2.3 and then to version 10.2.0.1, release 3.4.5.6.",
    "Meeting at 12:30:45 on 2024-03-15, room 4.2.",
    "Tracking number 1Z999AA10123456784 and invoice INV-2024-0042.",
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_are_not_pii(text: str) -> None:
    assert found(text) == []


MULTILINGUAL = [
    ("Rufen Sie mich unter 030 12345678 an.", [("PHONE", "030 12345678")]),
    ("Mobil bin ich unter 0171 2345678 erreichbar.", [("PHONE", "0171 2345678")]),
    (
        "Bitte überweisen Sie auf DE89 3704 0044 0532 0130 00 und schreiben Sie an "
        "max.mustermann@example.de.",
        [("IBAN", "DE89 3704 0044 0532 0130 00"), ("EMAIL", "max.mustermann@example.de")],
    ),
    ("Vous pouvez m'appeler au 06 12 34 56 78 demain.", [("PHONE", "06 12 34 56 78")]),
    ("Le standard est le 01 42 68 53 00.", [("PHONE", "01 42 68 53 00")]),
    (
        "Merci de virer le montant sur FR14 2004 1010 0505 0001 3M02 606, écrivez à "
        "devis@société.example.",
        [("IBAN", "FR14 2004 1010 0505 0001 3M02 606"), ("EMAIL", "devis@société.example")],
    ),
    ("Llámame al +34 612 34 56 78 por favor.", [("PHONE", "+34 612 34 56 78")]),
    ("La oficina de Madrid es el 912 345 678.", [("PHONE", "912 345 678")]),
    (
        "Haga la transferencia a ES91 2100 0418 4502 0005 1332 y escriba a "
        "facturación@empresa.example.",
        [("IBAN", "ES91 2100 0418 4502 0005 1332"), ("EMAIL", "facturación@empresa.example")],
    ),
]


@pytest.mark.parametrize(("text", "expected"), MULTILINGUAL)
def test_german_french_and_spanish_sentences(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


def test_phone_regions_decide_how_national_numbers_are_read() -> None:
    text = "Ring mig på 32 12 34 56 i morgen."
    assert found(text) == []
    assert found(text, phone_regions=["dk"]) == [("PHONE", "32 12 34 56")]


def test_a_failed_country_code_is_not_read_as_a_national_number() -> None:
    assert found("Desk: +41 (0)38 549 02 90, ask for Anna.") == []


def test_findings_are_sorted_and_do_not_overlap() -> None:
    text = " ".join(value for _, _, value in ENGLISH) + " " + ENGLISH[0][2]
    findings = detect(text)
    assert [f.type for f in findings] == [kind for kind, _, _ in ENGLISH] + ["EMAIL"]
    for first, second in itertools.pairwise(findings):
        assert (first.end or 0) <= (second.start or 0)


def test_types_setting_limits_what_is_looked_for() -> None:
    text = "Mail jane.doe@example.com or call (212) 555-0123."
    assert found(text, types=["PHONE"]) == [("PHONE", "(212) 555-0123")]


def test_reasons_never_contain_the_matched_text() -> None:
    texts = [text for _, text, _ in ENGLISH] + [row["text"] for row in labelled()]
    for text in texts:
        for finding in detect(text):
            value = finding.span(text)
            assert value and value not in finding.reason
            assert value.replace(" ", "") not in finding.reason.replace(" ", "")


def test_unknown_type_is_refused_with_the_valid_ones_listed() -> None:
    with pytest.raises(ValidationError) as refused:
        PiiDetector.Settings(types=["EMAIL", "PASSPORT"])
    assert all(kind in str(refused.value) for kind in PII_TYPES)


def test_unknown_phone_region_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"unknown phone region.*XX"):
        PiiDetector.Settings(phone_regions=["DE", "XX"])


def test_settings_refuse_unknown_keys_and_normalise_regions() -> None:
    with pytest.raises(ValidationError):
        PiiDetector.Settings.model_validate({"typos": ["EMAIL"]})
    assert PiiDetector.Settings(phone_regions=["de", "fr"]).phone_regions == ["DE", "FR"]


def test_detector_is_registered_under_pii() -> None:
    assert DETECTORS["pii"] is PiiDetector


def test_labelled_set_spans_are_consistent() -> None:
    rows = labelled()
    for row in rows:
        for span in row["spans"]:
            assert row["text"][span["start"] : span["end"]] == span["value"]
    for lang in ("en", "de", "fr", "es"):
        assert sum(row["lang"] == lang for row in rows) >= 10


@pytest.mark.parametrize("lang", ["en", "de", "fr", "es"])
def test_labelled_multilingual_set_precision_and_recall(lang: str) -> None:
    expected: set[tuple[int, str, int, int]] = set()
    predicted: set[tuple[int, str, int, int]] = set()
    for number, row in enumerate(labelled()):
        if row["lang"] != lang:
            continue
        expected |= {(number, s["type"], s["start"], s["end"]) for s in row["spans"]}
        predicted |= {(number, f.type, f.start or 0, f.end or 0) for f in detect(row["text"])}
    true = len(expected & predicted)
    assert expected and true / len(predicted) == 1.0, sorted(predicted - expected)
    assert true / len(expected) == 1.0, sorted(expected - predicted)
