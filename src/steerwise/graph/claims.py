"""Split an answer into claims: sentences, then clauses at ";", and bullet items, with spans."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """One checkable statement; `text == answer[start:end]` for the answer it came from."""

    text: str
    start: int
    end: int


_MARKER = re.compile(r"[ \t]*(?:(?P<bullet>[-*•+]|\d{1,3}[.)])|(?P<heading>#{1,6}))[ \t]+")
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)")
_LAST_WORD = re.compile(r"(\S*)$")
_ABBREVIATIONS = frozenset(
    {"e.g", "i.e", "vs", "mr", "mrs", "ms", "dr", "st", "approx", "cf", "incl"}
)


def split_claims(text: str) -> list[Claim]:
    """The claims of `text` in order: sentences of paragraphs, bullet items and headings, each
    further split at ";"; stripped, empty pieces dropped."""
    claims: list[Claim] = []
    for block_start, block_end in _blocks(text):
        for start, end in _sentences(text, block_start, block_end):
            claims.extend(_clauses(text, start, end))
    return claims


def _blocks(text: str) -> list[tuple[int, int]]:
    """Paragraphs (lines joined until a blank line), bullet items (with indented continuation
    lines) and headings, as spans without their markers."""
    blocks: list[list[int]] = []
    kind = ""
    offset = 0
    for line in text.splitlines(keepends=True):
        start, offset = offset, offset + len(line)
        end = start + len(line.rstrip("\r\n"))
        marker = _MARKER.match(line)
        if not line.strip():
            kind = ""
        elif marker:
            kind = "heading" if marker["heading"] else "bullet"
            blocks.append([start + marker.end(), end])
        elif kind == "paragraph" or (kind == "bullet" and line[0] in " \t"):
            blocks[-1][1] = end
        else:
            kind = "paragraph"
            blocks.append([start, end])
    return [(start, end) for start, end in blocks]


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans: each ends at . ! or ? followed by whitespace or the end of the block."""
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _SENTENCE_END.finditer(text, start, end):
        if not _ends_sentence(text, cursor, match, end):
            continue
        spans.append((cursor, match.end()))
        cursor = match.end()
    if cursor < end:
        spans.append((cursor, end))
    return spans


def _ends_sentence(text: str, cursor: int, match: re.Match[str], end: int) -> bool:
    """False for "e.g.", initials, and a full stop followed by a lower-case word."""
    if not match[0].startswith("."):
        return True
    word = _LAST_WORD.search(text, cursor, match.start())
    last = word[1].lstrip("([\"'").casefold() if word else ""
    if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
        return False
    following = text[match.end() : end].lstrip()
    return not following[:1].islower()


def _clauses(text: str, start: int, end: int) -> list[Claim]:
    """The pieces of a sentence between semicolons, stripped; pieces with no words dropped."""
    cuts = [index for index in range(start, end) if text[index] == ";"]
    claims: list[Claim] = []
    for piece_start, piece_end in zip(
        [start, *(cut + 1 for cut in cuts)], [*cuts, end], strict=True
    ):
        claim = _stripped(text, piece_start, piece_end)
        if claim is not None:
            claims.append(claim)
    return claims


def _stripped(text: str, start: int, end: int) -> Claim | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    piece = text[start:end]
    if not any(char.isalnum() for char in piece):
        return None
    return Claim(piece, start, end)
