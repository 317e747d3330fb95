"""Find personal data offline: emails, phone numbers, payment cards, IBANs, US SSNs, IPs, secrets.

Every type is a pattern plus a validation that rules out look-alikes: payment cards must pass
Luhn and start with a known issuer prefix, IBANs must have their country's length and a valid
ISO 13616 mod-97 check, phone numbers must be valid for their region (Google's libphonenumber
metadata), IP addresses must parse. Reasons name the type and the check, never the matched
text, so findings are safe to store.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from typing import ClassVar, Literal, get_args

import phonenumbers
from pydantic import Field, field_validator

from steerwise.core.guardrails import CheckContext, Finding
from steerwise.guardrails.detectors.base import (
    DetectorServices,
    DetectorSettings,
    register_detector,
)
from steerwise.guardrails.secrets import find_secrets

PiiType = Literal["EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "SSN", "IP_ADDRESS", "SECRET"]
PII_TYPES: tuple[PiiType, ...] = get_args(PiiType)
DEFAULT_PHONE_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL")
DETECTOR = "pii"

PRIORITY: dict[str, int] = {
    "SECRET": 7,
    "IBAN": 6,
    "CREDIT_CARD": 5,
    "EMAIL": 4,
    "IP_ADDRESS": 3,
    "SSN": 2,
    "PHONE": 1,
}
"""Which finding wins where two overlap: checksum-validated types beat looser patterns."""

Span = tuple[int, int]

# ---- validations ---------------------------------------------------------------------------

CARD_NETWORKS: tuple[tuple[str, tuple[str, ...], tuple[int, ...]], ...] = (
    ("Visa", ("4",), (13, 16, 19)),
    ("Mastercard", ("51-55", "2221-2720"), (16,)),
    ("American Express", ("34", "37"), (15,)),
    ("Diners Club", ("300-305", "3095", "36", "38-39"), (14, 16, 19)),
    ("Discover", ("6011", "644-649", "65"), (16, 19)),
    ("JCB", ("3528-3589",), (16, 17, 18, 19)),
    ("JCB", ("1800", "2131"), (15,)),
    ("UnionPay", ("62",), (16, 17, 18, 19)),
    ("Mir", ("2200-2204",), (16, 17, 18, 19)),
    ("RuPay", ("60", "508", "81-82"), (16,)),
    (
        "Maestro",
        ("5018", "5020", "5038", "5893", "56-58", "6304", "6759", "6761-6763"),
        tuple(range(12, 20)),
    ),
)
"""Issuer identification number ranges ("lo-hi" on equal-length prefixes) and card lengths."""

IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip
"""IBAN length per country, from the SWIFT IBAN registry (ISO 13616)."""


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn (mod 10) check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_network(digits: str) -> str | None:
    """The card network whose prefix and length fit `digits`, or None."""
    for network, prefixes, lengths in CARD_NETWORKS:
        if len(digits) in lengths and any(_has_prefix(digits, rule) for rule in prefixes):
            return network
    return None


def _has_prefix(digits: str, rule: str) -> bool:
    low, _, high = rule.partition("-")
    return low <= digits[: len(low)] <= (high or low)


def iban_valid(iban: str) -> bool:
    """Whether `iban` (no spaces) has its country's length and a valid mod-97 check."""
    iban = iban.upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban.isascii() or not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def ssn_valid(area: str, group: str, serial: str) -> bool:
    """Whether the parts of a US SSN could have been issued (no 000/666/9xx area, no zeros)."""
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


# ---- finders -------------------------------------------------------------------------------

EMAIL = re.compile(
    r"(?<![\w.%+-])[\w%+-][\w.%+-]*@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}(?![\w-])"
)
CARD = re.compile(
    r"(?<![\w+.,/-])(?:\d{12,19}|\d{4,6}([ -])\d{3,7}(?:\1\d{3,7}){1,3})(?![\w/]|[.,-]\d)"
)
IBAN = re.compile(
    r"(?<![^\W_])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,8}(?: ?[A-Za-z0-9]{1,3})?(?![^\W_])"
)
SSN = re.compile(r"(?<![\w-])(\d{3})([ -])(\d{2})\2(\d{4})(?!\w|-\d)")
IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w]|\.\d)")
IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|[0-9.]{7,15})?(?![\w:])"
)
VERSION_BEFORE = re.compile(r"(?:\bv|\bversion|\bversión|\bver\.?|\brelease|\bbuild)\s*$", re.I)
PHONE_HINT = re.compile(r"\+?\(?\d[\d ()./-]{4,}\d")
COUNTRY_CODE_BEFORE = re.compile(r"\+\d{1,3}[ .-]*$")
PHONE_WINDOW_MARGIN = 16
"""Characters of context kept around a phone-like run, so the matcher sees its boundaries."""


def _finding(kind: str, span: Span, score: float, reason: str) -> Finding:
    return Finding(DETECTOR, kind, score, reason, span[0], span[1])


def find_emails(text: str) -> Iterator[Finding]:
    """Email addresses (internationalised names allowed)."""
    for match in EMAIL.finditer(text) if "@" in text else ():  # (a scan costs more than `in`)
        yield _finding("EMAIL", match.span(), 0.9, "email address")


def find_cards(text: str) -> Iterator[Finding]:
    """Payment card numbers: a known issuer prefix and length, and a valid Luhn check.

    A run of digit groups that holds no card is searched again from its second group, so that
    a number written just before a card does not hide it.
    """
    position = 0
    while (match := CARD.search(text, position)) is not None:
        card = _first_card(match)
        if card is None:
            position = match.start() + len(re.split(r"[ -]", match.group(), maxsplit=1)[0]) + 1
            continue
        end, network = card
        reason = f"payment card number ({network} prefix, Luhn checksum valid)"
        yield _finding("CREDIT_CARD", (match.start(), end), 1.0, reason)
        position = end


def _first_card(match: re.Match[str]) -> tuple[int, str] | None:
    """(end offset, network) of the longest run of leading groups that is a card."""
    for end, digits in _card_candidates(match):
        network = card_network(digits)
        if network and luhn_valid(digits):
            return end, network
    return None


def _card_candidates(match: re.Match[str]) -> Iterator[tuple[int, str]]:
    """The whole match, then shorter runs of its leading groups: (end offset, digits)."""
    separator = match.group(1)
    if separator is None:
        yield match.end(), match.group()
        return
    groups = match.group().split(separator)
    for count in range(len(groups), 1, -1):
        digits = "".join(groups[:count])
        if len(digits) >= 12:
            yield match.start() + len(separator.join(groups[:count])), digits


def find_ibans(text: str) -> Iterator[Finding]:
    """IBANs, compact or in groups of four, with the country's length and a valid check."""
    for match in IBAN.finditer(text):
        end = _iban_end(text, match)
        if end is not None and iban_valid(text[match.start() : end].replace(" ", "")):
            reason = "bank account number (IBAN, ISO 13616 mod-97 check valid)"
            yield _finding("IBAN", (match.start(), end), 1.0, reason)


def _iban_end(text: str, match: re.Match[str]) -> int | None:
    """Where the IBAN ends: after its country's length, on a group boundary; None if it can't."""
    length = IBAN_LENGTHS.get(match.group()[:2].upper())
    if length is None:
        return None
    seen = 0
    for offset in range(match.start(), match.end()):
        seen += text[offset] != " "
        if seen == length:
            end = offset + 1
            return end if end == match.end() or text[end] == " " else None
    return None


def find_ssns(text: str) -> Iterator[Finding]:
    """US social security numbers written ddd-dd-dddd or ddd dd dddd."""
    for match in SSN.finditer(text):
        if ssn_valid(match.group(1), match.group(3), match.group(4)):
            reason = "US social security number (valid area, group and serial)"
            yield _finding("SSN", match.span(), 0.85, reason)


def find_ip_addresses(text: str) -> Iterator[Finding]:
    """IPv4 and IPv6 addresses that parse; a four-part number after "version" is not one."""
    for match in IPV4.finditer(text) if "." in text else ():
        if _parses(match.group(), ipaddress.IPv4Address) and not _after_version(text, match):
            yield _finding("IP_ADDRESS", match.span(), 0.9, "IPv4 address")
    for match in IPV6.finditer(text) if ":" in text else ():
        hextets = [part for part in match.group().split(":") if part]
        if len(hextets) >= 2 and _parses(match.group(), ipaddress.IPv6Address):
            yield _finding("IP_ADDRESS", match.span(), 0.9, "IPv6 address")


def _parses(candidate: str, parse: Callable[[str], object]) -> bool:
    try:
        parse(candidate)
    except ValueError:
        return False
    return True


def _after_version(text: str, match: re.Match[str]) -> bool:
    return VERSION_BEFORE.search(text, max(0, match.start() - 12), match.start()) is not None


def find_secrets_as_pii(text: str) -> Iterator[Finding]:
    """Credentials found by `find_secrets`; the reason names the kind of secret."""
    for secret in find_secrets(text):
        yield _finding("SECRET", (secret.start, secret.end), 0.95, f"secret: {secret.kind}")


def find_phones(text: str, *, regions: list[str], min_digits: int = 7) -> Iterator[Finding]:
    """Phone numbers valid in one of `regions` (or in their own, when written with +country).

    The matcher reads only a window around each phone-like run of digits (it is slow), and
    tries the regions in order until one explains the whole run.
    """
    for hint in PHONE_HINT.finditer(text):
        if sum(char.isdigit() for char in hint.group()) < min_digits:
            continue
        offset = max(0, hint.start() - PHONE_WINDOW_MARGIN)
        window = text[offset : hint.end() + PHONE_WINDOW_MARGIN]
        for region in regions:
            spans = list(_phones_in(window, region, min_digits))
            yield from (_phone_finding(offset, span, code) for span, code in spans)
            if any(
                start <= hint.start() - offset and end >= hint.end() - offset
                for (start, end), _ in spans
            ):
                break


def _phones_in(window: str, region: str, min_digits: int) -> Iterator[tuple[Span, str]]:
    """Valid numbers in `window` read as `region`: (span, the number's own region)."""
    for match in phonenumbers.PhoneNumberMatcher(
        window, region, leniency=phonenumbers.Leniency.VALID
    ):
        if not _plausible_phone(window, match, min_digits):
            continue
        code = phonenumbers.region_code_for_number(match.number) or region
        yield (match.start, match.end), code


def _plausible_phone(window: str, match: phonenumbers.PhoneNumberMatch, min_digits: int) -> bool:
    """Long enough to tell from a code, not laid out as a US SSN, not after a +country code.

    A national number right after a +country code is the tail of an international number that
    was not valid; reading it as national would be wrong.
    """
    if len(str(match.number.national_number)) < min_digits or SSN.fullmatch(match.raw_string):
        return False
    return COUNTRY_CODE_BEFORE.search(window, max(0, match.start - 8), match.start) is None


def _phone_finding(offset: int, span: Span, region: str) -> Finding:
    start, end = offset + span[0], offset + span[1]
    return _finding("PHONE", (start, end), 0.85, f"phone number (valid for region {region})")


def mask(text: str, findings: list[Finding]) -> str:
    """`text` with every finding's span replaced by spaces (offsets unchanged)."""
    chars = list(text)
    for finding in findings:
        start, end = finding.start or 0, finding.end or 0
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """Non-overlapping findings sorted by start; higher priority wins, then the longer span."""

    def rank(finding: Finding) -> tuple[int, int, int]:
        start, end = finding.start or 0, finding.end or 0
        return (-PRIORITY.get(finding.type, 0), start - end, start)

    kept: list[Finding] = []
    for finding in sorted(findings, key=rank):
        if not any(_overlaps(finding, other) for other in kept):
            kept.append(finding)
    return sorted(kept, key=lambda finding: finding.start or 0)


def _overlaps(first: Finding, second: Finding) -> bool:
    return (first.start or 0) < (second.end or 0) and (second.start or 0) < (first.end or 0)


FINDERS: dict[str, Callable[[str], Iterator[Finding]]] = {
    "SECRET": find_secrets_as_pii,
    "IBAN": find_ibans,
    "CREDIT_CARD": find_cards,
    "EMAIL": find_emails,
    "IP_ADDRESS": find_ip_addresses,
    "SSN": find_ssns,
}
"""The finders that need no settings; phones are found last, by `find_phones`."""

# ---- the detector --------------------------------------------------------------------------


@register_detector
class PiiDetector:
    """Personal data and credentials, found by validated patterns; no model, no network."""

    name: ClassVar[str] = "pii"

    class Settings(DetectorSettings):
        """Which types to look for and how to read phone numbers without a country code."""

        types: list[PiiType] = Field(default_factory=lambda: list(PII_TYPES), min_length=1)
        phone_regions: list[str] = Field(
            default_factory=lambda: list(DEFAULT_PHONE_REGIONS), min_length=1
        )
        min_phone_digits: int = Field(default=7, ge=4, le=17)
        """Shortest national number reported as a phone (shorter ones are often codes)."""

        @field_validator("phone_regions")
        @classmethod
        def _known_regions(cls, regions: list[str]) -> list[str]:
            normalised = [region.upper() for region in regions]
            unknown = sorted(set(normalised) - phonenumbers.SUPPORTED_REGIONS)
            if unknown:
                raise ValueError(
                    f"unknown phone region(s) {', '.join(unknown)}: use ISO 3166 alpha-2 codes "
                    "that libphonenumber supports, such as US, GB, DE, FR"
                )
            return normalised

    def __init__(self, settings: PiiDetector.Settings, services: DetectorServices) -> None:
        self.settings = settings
        self._finders = [FINDERS[kind] for kind in FINDERS if kind in settings.types]

    def detect(self, text: str, context: CheckContext) -> list[Finding]:
        """Every piece of personal data in `text`, by position, none overlapping."""
        found = [finding for finder in self._finders for finding in finder(text)]
        if "PHONE" in self.settings.types:
            # Phones last, in the text with what was already found blanked out: a card or an
            # IBAN never wins as a phone, and the (slow) phone matcher has less to read.
            found += find_phones(
                mask(text, found),
                regions=self.settings.phone_regions,
                min_digits=self.settings.min_phone_digits,
            )
        return resolve_overlaps(found)
