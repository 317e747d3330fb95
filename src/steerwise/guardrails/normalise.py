"""Text normalisation for detection: fold what attackers use to hide words from patterns.

`normalise(text)` folds compatibility forms (NFKC: fullwidth and mathematical letters,
ligatures), removes zero-width and other invisible characters, drops accents, case-folds,
joins spaced-out letters ("i g n o r e"), folds homoglyphs (Cyrillic or Greek letters inside
Latin words) and leetspeak (digits and symbols inside words), and reads redaction
placeholders (`[EMAIL_1]`) as their plain type words. It keeps a map from each folded
character back to the original, and a record of which transformation touched it, so that a
match can be reported at its original offsets with the transformations it needed.

`views(text)` adds one view per embedded base64 or hex run that decodes to mostly printable
text, so that decoded payloads are scanned too; such a view points at the encoded run.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from dataclasses import dataclass

INVISIBLE = 1
COMPATIBILITY = 2
SPACED = 4
HOMOGLYPH = 8
LEETSPEAK = 16
TRANSFORM_NAMES = {
    INVISIBLE: "removing invisible characters",
    COMPATIBILITY: "NFKC folding",
    SPACED: "joining spaced-out letters",
    HOMOGLYPH: "folding homoglyphs",
    LEETSPEAK: "leetspeak folding",
}

_INVISIBLE_CODES = frozenset(
    (0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x3164, 0xFEFF, 0xFFA0)
).union(
    range(0x200B, 0x2010),  # zero-width space, joiners, direction marks
    range(0x202A, 0x202F),  # bidirectional embeddings and overrides
    range(0x2060, 0x2070),  # word joiner, invisible operators
    range(0xFE00, 0xFE10),  # variation selectors
    range(0xE0000, 0xE0080),  # tag characters
)
# Cyrillic and Greek lookalikes, and the Latin letters they imitate
_HOMOGLYPHS = str.maketrans(
    "аеорсхуіјѕԁһӏɡοαερτυνκιμηχ",
    "aeopcxyijsdhlgoaeptuvkiunx",
)
_LEET = str.maketrans("013457@$", "oieastas")
_LEET_CHARS = frozenset("013457@$")
_SPACED_RUN = re.compile(r"(?<![^\W_])(?:[^\W_][ .\-_*+]){2,}[^\W_](?![^\W_])")
_PLACEHOLDER = re.compile(r"\[[a-z][a-z_]*_\d+\]")
_TOKEN = re.compile(r"[^\s\"'()\[\]{}<>,;:!?]+")
_HEX_RUN = re.compile(
    r"(?:\\x|0x)?[0-9a-fA-F]{2}(?:[ :,]?(?:\\x|0x)?[0-9a-fA-F]{2}){7,}(?![0-9a-zA-Z])"
)
_BASE64_RUN = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{16,}={0,2}")
_HEX_NOISE = re.compile(r"\\x|0x|[ :,]")
MAX_DEPTH = 2
"""Decoded payloads are themselves searched for encoded runs this many levels deep."""


@dataclass(frozen=True)
class NormalisedText:
    """One view of a checked text, folded for matching, with the way back to the original.

    `origin[i]` is the offset in the original text of `text[i]`; `marks[i]` is a bit set of
    the transformations that touched it. A decoded payload has `encodings` (outermost first)
    and `span`, the encoded run in the original text.
    """

    text: str
    origin: tuple[int, ...]
    marks: tuple[int, ...]
    encodings: tuple[str, ...] = ()
    span: tuple[int, int] | None = None

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Offsets in the original text of the folded characters `start:end`."""
        if self.span is not None:
            return self.span
        if start >= end:
            return (self.origin[start], self.origin[start]) if self.origin else (0, 0)
        return self.origin[start], self.origin[end - 1] + 1

    def transforms(self, start: int = 0, end: int | None = None) -> list[str]:
        """The transformations needed to find `text[start:end]`, decodings first."""
        bits = 0
        for mark in self.marks[start:end]:
            bits |= mark
        decoded = [f"{encoding} decoding" for encoding in self.encodings]
        return decoded + [name for bit, name in TRANSFORM_NAMES.items() if bits & bit]


def normalise(text: str) -> NormalisedText:
    """`text` folded for matching (see the module docstring), with its offset map."""
    if text.isascii():
        chars, origin, marks = list(text.lower()), list(range(len(text))), [0] * len(text)
    else:
        chars, origin, marks = _fold_characters(text)
    chars, origin, marks = _join_spaced(chars, origin, marks)
    _fold_placeholders(chars)
    _fold_tokens(chars, marks)
    return NormalisedText("".join(chars), tuple(origin), tuple(marks))


def _fold_placeholders(chars: list[str]) -> None:
    """Turn redaction placeholders into their plain type words, in place and length-keeping:
    `[credit_card_1]` reads ` credit card  `, so that a redacted message does not look like
    a template or a fake tool message to the rails after the redaction."""
    for match in _PLACEHOLDER.finditer("".join(chars)):
        for index in range(match.start(), match.end()):
            if not "a" <= chars[index] <= "z":
                chars[index] = " "


def views(text: str) -> list[NormalisedText]:
    """The normalised text, then one normalised view per decoded base64 or hex payload."""
    return [normalise(text), *decoded_payloads(text)]


def decoded_payloads(text: str, *, depth: int = 1) -> list[NormalisedText]:
    """A view of each hex or base64 run in `text` that decodes to mostly printable text."""
    found: list[NormalisedText] = []
    taken: list[tuple[int, int]] = []
    for encoding, pattern in (("hex", _HEX_RUN), ("base64", _BASE64_RUN)):
        for match in pattern.finditer(text):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            decoded = _decode(encoding, match.group())
            if decoded is None:
                continue
            taken.append(match.span())
            found.extend(_payload_views(decoded, encoding, match.span(), depth))
    return found


def _payload_views(
    decoded: str, encoding: str, span: tuple[int, int], depth: int
) -> list[NormalisedText]:
    """The decoded text's own view, and those of runs encoded inside it (to MAX_DEPTH)."""
    inner = decoded_payloads(decoded, depth=depth + 1) if depth < MAX_DEPTH else []
    return [
        NormalisedText(view.text, view.origin, view.marks, (encoding, *view.encodings), span)
        for view in (normalise(decoded), *inner)
    ]


def _decode(encoding: str, run: str) -> str | None:
    """The text a run stands for, or None when it is not text."""
    try:
        if encoding == "hex":
            raw = bytes.fromhex(_HEX_NOISE.sub("", run))
        else:
            body = run.rstrip("=").replace("-", "+").replace("_", "/")
            raw = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
        decoded = raw.decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return decoded if _looks_like_text(decoded) else None


def _looks_like_text(decoded: str) -> bool:
    """Mostly printable, mostly letters and spaces: a hidden message, not a hash or an id."""
    if len(decoded) < 6:
        return False
    printable = sum(char.isprintable() or char in "\n\t" for char in decoded)
    wordy = sum(char.isalpha() or char.isspace() for char in decoded)
    return printable >= 0.95 * len(decoded) and wordy >= 0.7 * len(decoded) and " " in decoded


def _fold_characters(text: str) -> tuple[list[str], list[int], list[int]]:
    """NFKC-fold, drop invisibles and accents, case-fold; one entry per output character."""
    chars: list[str] = []
    origin: list[int] = []
    marks: list[int] = []
    pending = 0
    for index, char in enumerate(text):
        if ord(char) in _INVISIBLE_CODES or unicodedata.category(char) == "Cf":
            pending = INVISIBLE
            continue
        mark = pending
        pending = 0
        if unicodedata.normalize("NFKC", char) != unicodedata.normalize("NFC", char):
            mark |= COMPATIBILITY
        for part in unicodedata.normalize("NFKD", char):
            if unicodedata.combining(part):
                continue
            for folded in part.casefold():
                chars.append(folded)
                origin.append(index)
                marks.append(mark)
    return chars, origin, marks


def _join_spaced(
    chars: list[str], origin: list[int], marks: list[int]
) -> tuple[list[str], list[int], list[int]]:
    """Remove the separators inside runs of single characters: "i g n o r e" -> "ignore"."""
    text = "".join(chars)
    drop: set[int] = set()
    for match in _SPACED_RUN.finditer(text):
        for index in range(match.start(), match.end()):
            if index % 2 != match.start() % 2:
                drop.add(index)
            else:
                marks[index] |= SPACED
    if not drop:
        return chars, origin, marks
    keep = [index for index in range(len(chars)) if index not in drop]
    return [chars[i] for i in keep], [origin[i] for i in keep], [marks[i] for i in keep]


def _fold_tokens(chars: list[str], marks: list[int]) -> None:
    """Fold homoglyphs and leetspeak in place, only inside words that mix them with letters."""
    text = "".join(chars)
    for match in _TOKEN.finditer(text):
        token = match.group()
        if sum("a" <= char <= "z" for char in token) < 3:
            continue
        for folding, bit in ((_HOMOGLYPHS, HOMOGLYPH), (_LEET, LEETSPEAK)):
            if bit == LEETSPEAK and not _LEET_CHARS.intersection(token):
                continue
            folded = token.translate(folding)
            for offset, (before, after) in enumerate(zip(token, folded, strict=True)):
                if before != after:
                    chars[match.start() + offset] = after
                    marks[match.start() + offset] |= bit
            token = folded
