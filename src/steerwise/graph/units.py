"""Quantities in text (money, durations, percentages, counts) normalised so they can be compared."""

from __future__ import annotations

import re
from dataclasses import dataclass

DAYS_PER_MONTH = 30.4375
"""Average calendar days in a month, used only to compare month-based with day-based durations."""

_MONTH = "duration:month"
_DAY = "duration:day"
_BUSINESS_DAY = "duration:business_day"
_CROSS_TOLERANCE = 0.02
_EXACT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Quantity:
    """A number with its unit: `value` in the dimension's base unit, `text` as written."""

    value: float
    dimension: str
    text: str
    start: int
    end: int


_UNITS: dict[str, tuple[str, float]] = {
    **dict.fromkeys(("year", "years", "yr", "yrs"), (_MONTH, 12.0)),
    **dict.fromkeys(("month", "months"), (_MONTH, 1.0)),
    **dict.fromkeys(("week", "weeks"), (_DAY, 7.0)),
    **dict.fromkeys(("day", "days"), (_DAY, 1.0)),
    **dict.fromkeys(("hour", "hours", "hr", "hrs"), (_DAY, 1 / 24)),
    **dict.fromkeys(("minute", "minutes", "min", "mins"), (_DAY, 1 / 1440)),
    **dict.fromkeys(
        ("business-day", "business-days", "working-day", "working-days"), (_BUSINESS_DAY, 1.0)
    ),
    **dict.fromkeys(("percent", "pct"), ("percent", 1.0)),
    **dict.fromkeys(("gbp", "pound", "pounds"), ("money:GBP", 1.0)),
    "pence": ("money:GBP", 0.01),
    **dict.fromkeys(("usd", "dollar", "dollars"), ("money:USD", 1.0)),
    **dict.fromkeys(("eur", "euro", "euros"), ("money:EUR", 1.0)),
}
_DAY_KINDS = {"business": _BUSINESS_DAY, "working": _BUSINESS_DAY, "calendar": _DAY}
_SYMBOLS = {"£": "money:GBP", "$": "money:USD", "€": "money:EUR"}
# fmt: off
_WORD_VALUES = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "hundred": 100,
}
# Words that end the noun phrase after a number: "16 or over", "500 charge cycles, whichever".
_PHRASE_STOPS = frozenset((
    "a", "an", "the", "and", "or", "nor", "of", "to", "in", "on", "for", "with", "from", "at",
    "by", "as", "is", "are", "was", "were", "be", "been", "if", "than", "then", "that", "which",
    "who", "whichever", "whatever", "when", "where", "while", "before", "after", "within", "per",
    "each", "every", "more", "less", "fewer", "most", "least", "over", "under", "above", "below",
    "up", "off", "out", "only", "also", "but", "so", "not", "no", "it", "its", "we", "you",
    "they", "this", "these", "those", "there", "can", "will", "may", "must", "should", "would",
    "could", "has", "have", "had", "do", "does", "did", "get", "gets", "plus", "about", "around",
    "ago", "later", "earlier", "costs", "takes", "lasts", "means", "comes", "gives", "makes",
    "applies", "includes", "covers", "here", "now", "today", "tomorrow", "yesterday", "again",
    "too", "yet", "still", "already", "instead", "always", "usually", "away", "back", "ahead",
))
# fmt: on

_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_WORD_NUMBER = "|".join(sorted(_WORD_VALUES, key=len, reverse=True))
_TOKEN = re.compile(
    rf"(?<![\w.,])(?:(?P<symbol>[£$€])[ \t]?|(?P<code>GBP|USD|EUR)[ \t]?)?"
    rf"(?P<digits>{_NUMBER})(?!\w|[.,]\d)"
    rf"|\b(?P<word>{_WORD_NUMBER})(?:[ \t-](?P<hundred>hundred))?\b",
    re.IGNORECASE,
)
_PRONOUN_BEFORE = re.compile(r"\b(?:no|any|every|each|which|this|that)[ \t]+$", re.IGNORECASE)
_PERCENT = re.compile(r"[ \t]?%|[ \t]+per[ \t]?cent\b", re.IGNORECASE)
_HYPHEN_UNIT = re.compile(r"-(day|week|month|year|hour|minute)\b", re.IGNORECASE)
_NEXT_WORD = re.compile(r"[ \t]+([A-Za-z][A-Za-z'’-]*)")
_RANGE = re.compile(r"[ \t]*(?:-|–|to|or|and)[ \t]*", re.IGNORECASE)

_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December"
    "|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec"
)
_SKIPPED = (
    re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}\b"),  # 2026-06-30
    re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b"),  # 30/06/2026
    re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?[ \t]+(?:{_MONTHS})\b(?:,?[ \t]+\d{{4}}\b)?"),
    re.compile(rf"\b(?:{_MONTHS})\.?[ \t]+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?[ \t]+\d{{4}}\b)?"),
    re.compile(rf"\b(?:{_MONTHS})[ \t]+\d{{4}}\b"),
    re.compile(r"\b\d{1,2}(?:[:.]\d{2})?[ \t]?[aApP]\.?[mM]\b\.?"),  # 2pm, 10.30 a.m.
    re.compile(r"\b\d{1,2}:\d{2}\b"),  # 14:00
    re.compile(r"\b\d+(?:st|nd|rd|th)\b", re.IGNORECASE),  # ordinals
    re.compile(r"^[ \t]*#+[ \t]*\d+(?:\.\d+)*\.?", re.MULTILINE),  # "## 2. Fees"
    re.compile(r"^[ \t]*\d+[.)](?=[ \t])", re.MULTILINE),  # "1. " list markers
    re.compile(r"\b(?:Section|Step|Chapter|Part|Figure|Table|Clause|Article)[ \t]+\d+(?:\.\d+)*"),
)
_DIGIT_RUN = re.compile(r"(?<![\w£$€.,])\+?\(?\d[\d ()-]{5,}\d(?!\w)")


def parse_quantities(text: str) -> list[Quantity]:
    """The quantities in `text`, in order; numbers in dates, times, ordinals, phone numbers and
    heading markers are skipped, and so are written-out numbers with no unit or noun."""
    skipped = _skipped_spans(text)
    found: list[Quantity] = []
    for match in _TOKEN.finditer(text):
        if any(start <= match.start() < end for start, end in skipped) or _is_pronoun(text, match):
            continue
        quantity = _quantity(text, match)
        if quantity is not None:
            found.append(quantity)
    return found


def _is_pronoun(text: str, match: re.Match[str]) -> bool:
    """A written-out number used as a pronoun: "no one", "which one"."""
    before = text[max(0, match.start() - 12) : match.start()]
    return bool(match["word"]) and bool(_PRONOUN_BEFORE.search(before))


def compare(a: Quantity, b: Quantity) -> bool | None:
    """True when equal, False when different, None when the dimensions cannot be compared.

    Months and days compare through `DAYS_PER_MONTH` within 2%; business days never equal
    calendar days."""
    if a.dimension == b.dimension:
        return _close(a.value, b.value, _EXACT_TOLERANCE)
    if {a.dimension, b.dimension} == {_MONTH, _DAY}:
        return _close(_in_days(a), _in_days(b), _CROSS_TOLERANCE)
    return None


def _close(x: float, y: float, tolerance: float) -> bool:
    return abs(x - y) <= tolerance * max(abs(x), abs(y))


def _in_days(quantity: Quantity) -> float:
    if quantity.dimension == _MONTH:
        return quantity.value * DAYS_PER_MONTH
    return quantity.value


def _skipped_spans(text: str) -> list[tuple[int, int]]:
    spans = [match.span() for pattern in _SKIPPED for match in pattern.finditer(text)]
    spans.extend(match.span() for match in _DIGIT_RUN.finditer(text) if _phone_like(match[0]))
    return spans


def _phone_like(run: str) -> bool:
    digits = sum(char.isdigit() for char in run)
    return digits >= 9 or (digits >= 7 and (run[0] in "0+(" or run.isdigit()))


def _quantity(text: str, match: re.Match[str]) -> Quantity | None:
    value = _value(match)
    start, end = match.span()
    money = _money_dimension(match)
    if money:
        return Quantity(value, money, text[start:end], start, end)
    unit = _unit_after(text, end) or _range_unit(text, end)
    if unit is not None:
        dimension, factor, end = unit
        return Quantity(value * factor, dimension, text[start:end], start, end)
    if match["word"] or _looks_like_year(match["digits"]):
        return None
    return Quantity(value, "number", text[start:end], start, end)


def _money_dimension(match: re.Match[str]) -> str | None:
    if match["symbol"]:
        return _SYMBOLS[match["symbol"]]
    if match["code"]:
        return f"money:{match['code'].upper()}"
    return None


def _value(match: re.Match[str]) -> float:
    if match["digits"]:
        return float(match["digits"].replace(",", ""))
    return float(_WORD_VALUES[match["word"].lower()] * (100 if match["hundred"] else 1))


def _looks_like_year(digits: str) -> bool:
    return len(digits) == 4 and digits.isdigit() and 1900 <= int(digits) <= 2099


def _unit_after(text: str, position: int) -> tuple[str, float, int] | None:
    """The unit written after a number: (dimension, factor to the base unit, where it ends)."""
    percent = _PERCENT.match(text, position)
    if percent:
        return ("percent", 1.0, percent.end())
    hyphen = _HYPHEN_UNIT.match(text, position)
    if hyphen:
        return (*_UNITS[hyphen[1].lower()], hyphen.end())
    return _unit_from_words(_words_after(text, position))


def _range_unit(text: str, position: int) -> tuple[str, float, int] | None:
    """For "3 to 5 business days" and "40-60%": the first number takes the second's unit."""
    joiner = _RANGE.match(text, position)
    second = _TOKEN.match(text, joiner.end()) if joiner else None
    if second is None or second.start() == position:
        return None
    money = _money_dimension(second)
    if money:
        return (money, 1.0, position)
    unit = _unit_after(text, second.end())
    return None if unit is None else (unit[0], unit[1], position)


def _words_after(text: str, position: int) -> list[tuple[str, int]]:
    """Up to four words right after `position` on the same line, with where each ends."""
    words: list[tuple[str, int]] = []
    while len(words) < 4:
        match = _NEXT_WORD.match(text, position)
        if match is None:
            break
        word = match[1].rstrip("'’-")
        position = match.start(1) + len(word)
        words.append((word.lower(), position))
        if len(word) < len(match[1]):
            break
    return words


def _unit_from_words(words: list[tuple[str, int]]) -> tuple[str, float, int] | None:
    """A unit among the next three words, else the count noun: the first plural, else the last."""
    noun: tuple[str, int] | None = None
    for index, (word, end) in enumerate(words[:3]):
        if word in _PHRASE_STOPS:
            break
        following = words[index + 1][0] if index + 1 < len(words) else ""
        if word in _DAY_KINDS and following in ("day", "days"):
            return (_DAY_KINDS[word], 1.0, words[index + 1][1])
        if word in _UNITS:
            return (*_UNITS[word], end)
        if _looks_plural(word):
            return (f"count:{word[:-1]}", 1.0, end)
        noun = (word, end)
    if noun is None:
        return None
    return (f"count:{noun[0].removesuffix('s')}", 1.0, noun[1])


def _looks_plural(word: str) -> bool:
    return len(word) > 2 and word.endswith("s") and not word.endswith(("ss", "us", "is"))
