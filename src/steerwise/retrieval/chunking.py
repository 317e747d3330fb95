"""Structure-aware chunking: sections at Markdown headings, blocks at blank lines, then chunks.

A chunk never spans two sections, its text is exactly `document[start:end]`, and its id depends
only on the document, its heading path, its text and how often that text occurred before in the
same section, so editing one section leaves the chunk ids of the others unchanged.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

ALGORITHM_VERSION = "structure-v1"
LONG_WORD_CHARS = 8
"""Words up to this many characters count as one token; longer ones as one per 4 characters."""

_TOKEN = re.compile(r"\w+|[^\w\s]")
_LONG_WORD = re.compile(rf"\w{{{LONG_WORD_CHARS + 1},}}")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(\S.*?)(?:[ \t]+#+)?[ \t\r]*$", re.MULTILINE)
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class ChunkerSettings:
    """How large chunks may grow and how much consecutive chunks of a section overlap."""

    max_tokens: int = 200
    overlap_tokens: int = 30

    def __post_init__(self) -> None:
        if self.max_tokens < 16:
            raise ValueError(f"max_tokens must be at least 16, got {self.max_tokens}")
        if not 0 <= self.overlap_tokens < self.max_tokens // 2:
            raise ValueError(
                f"overlap_tokens must be at least 0 and less than max_tokens // 2 "
                f"({self.max_tokens // 2}), got {self.overlap_tokens}"
            )

    def fingerprint(self) -> str:
        """Names the algorithm version and settings, e.g. `structure-v1:max=200:overlap=30`."""
        return f"{ALGORITHM_VERSION}:max={self.max_tokens}:overlap={self.overlap_tokens}"


DEFAULT_CHUNKER_SETTINGS = ChunkerSettings()


@dataclass(frozen=True)
class Chunk:
    """One piece of a document, with its place in the document's heading structure."""

    id: str
    doc_id: str
    ordinal: int
    text: str
    heading_path: tuple[str, ...]
    start: int
    end: int
    tokens: int


class _Span(NamedTuple):
    start: int
    end: int
    tokens: int


class _Section(NamedTuple):
    path: tuple[str, ...]
    start: int
    end: int


def count_tokens(text: str) -> int:
    """Approximate tokens: one per word (\\w+ run) and per punctuation mark.

    A word longer than `LONG_WORD_CHARS` counts one token per 4 characters, rounded up.
    """
    extra = sum(math.ceil(len(word) / 4) - 1 for word in _LONG_WORD.findall(text))
    return len(_TOKEN.findall(text)) + extra


def chunk_document(
    doc_id: str, text: str, settings: ChunkerSettings = DEFAULT_CHUNKER_SETTINGS
) -> list[Chunk]:
    """Split `text` into chunks that follow its headings and paragraphs, in document order."""
    chunks: list[Chunk] = []
    seen: dict[tuple[tuple[str, ...], str], int] = {}
    for section in _sections(text):
        for span in _pack(text, _section_units(text, section, settings.max_tokens), settings):
            chunk_text = text[span.start : span.end]
            occurrence = seen.get((section.path, chunk_text), 0)
            seen[(section.path, chunk_text)] = occurrence + 1
            chunk_id = _chunk_id(doc_id, section.path, chunk_text, occurrence)
            chunks.append(
                Chunk(
                    id=chunk_id,
                    doc_id=doc_id,
                    ordinal=len(chunks),
                    text=chunk_text,
                    heading_path=section.path,
                    start=span.start,
                    end=span.end,
                    tokens=span.tokens,
                )
            )
    return chunks


def _chunk_id(doc_id: str, path: tuple[str, ...], text: str, occurrence: int) -> str:
    payload = json.dumps([doc_id, "\x1f".join(path), text, occurrence], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def _headings(text: str) -> Iterator[re.Match[str]]:
    """Heading lines, except those inside fenced code blocks."""
    fences = [(match.start(), match.end()) for match in _FENCE.finditer(text)]
    starts = [start for start, _ in fences]
    for match in _HEADING.finditer(text):
        inside = bisect.bisect_right(starts, match.start()) - 1
        if inside < 0 or match.start() >= fences[inside][1]:
            yield match


def _sections(text: str) -> list[_Section]:
    """The text before the first heading, then one section per heading line."""
    sections: list[_Section] = []
    stack: list[tuple[int, str]] = []
    start = 0
    for match in _headings(text):
        sections.append(_Section(tuple(title for _, title in stack), start, match.start()))
        level = len(match.group(1))
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, match.group(2)))
        start = match.start()
    sections.append(_Section(tuple(title for _, title in stack), start, len(text)))
    return sections


def _trim(text: str, start: int, end: int) -> _Span | None:
    """The span without its leading and trailing whitespace; None when nothing is left."""
    segment = text[start:end]
    stripped = segment.strip()
    if not stripped:
        return None
    left = start + len(segment) - len(segment.lstrip())
    return _Span(left, left + len(stripped), count_tokens(stripped))


def _split(text: str, span: _Span, separator: re.Pattern[str]) -> list[_Span]:
    """The trimmed, non-empty pieces of `span` between matches of `separator`."""
    pieces: list[_Span | None] = []
    position = span.start
    for match in separator.finditer(text, span.start, span.end):
        pieces.append(_trim(text, position, match.start()))
        position = match.end()
    pieces.append(_trim(text, position, span.end))
    return [piece for piece in pieces if piece is not None]


def _section_units(text: str, section: _Section, max_tokens: int) -> list[_Span]:
    """The section's blocks, each cut into sentences, words or word pieces if too large."""
    blocks = _split(text, _Span(section.start, section.end, 0), _BLANK_LINE)
    # A heading line followed by a blank line joins the block after it.
    if section.path and len(blocks) > 1 and "\n" not in text[blocks[0].start : blocks[0].end]:
        blocks[:2] = [_Span(blocks[0].start, blocks[1].end, blocks[0].tokens + blocks[1].tokens)]
    return [unit for block in blocks for unit in _fit_block(text, block, max_tokens)]


def _fit_block(text: str, block: _Span, max_tokens: int) -> list[_Span]:
    """The block, or its sentences if too large, or their words if a sentence is too large."""
    if block.tokens <= max_tokens:
        return [block]
    units: list[_Span] = []
    for sentence in _split(text, block, _SENTENCE_END):
        if sentence.tokens <= max_tokens:
            units.append(sentence)
            continue
        for match in _WORD.finditer(text, sentence.start, sentence.end):
            word = _Span(match.start(), match.end(), count_tokens(match.group()))
            units.extend([word] if word.tokens <= max_tokens else _cut_word(text, word, max_tokens))
    return units


def _cut_word(text: str, word: _Span, max_tokens: int) -> list[_Span]:
    """A whitespace-free run over the limit, cut between its tokens (long \\w runs in slices)."""
    atoms: list[_Span] = []
    for match in _TOKEN.finditer(text, word.start, word.end):
        for start in range(match.start(), match.end(), 4 * max_tokens):
            end = min(start + 4 * max_tokens, match.end())
            atoms.append(_Span(start, end, count_tokens(text[start:end])))
    pieces: list[_Span] = []
    for atom in atoms:
        if pieces and pieces[-1].tokens + atom.tokens <= max_tokens:
            pieces[-1] = _Span(pieces[-1].start, atom.end, pieces[-1].tokens + atom.tokens)
        else:
            pieces.append(atom)
    return pieces


def _pack(text: str, units: list[_Span], settings: ChunkerSettings) -> list[_Span]:
    """Consecutive units packed greedily; each later chunk starts with the previous one's tail."""
    chunks: list[_Span] = []
    index = 0
    while index < len(units):
        first = units[index]
        # Word pieces of one long run touch each other: no overlap between them.
        reserve = settings.overlap_tokens if chunks and first.start > chunks[-1].end else 0
        stop, tokens = _take(units, index, settings.max_tokens - reserve)
        if tokens < reserve and _take(units, index, settings.max_tokens)[0] > stop:
            # The overlap gives way rather than leave a chunk that mostly repeats the last one.
            stop, tokens = _take(units, index, settings.max_tokens)
        start = first.start
        if reserve:
            budget = min(reserve, settings.max_tokens - tokens)
            start, overlap = _overlap(text, chunks[-1], budget, first.start)
            tokens += overlap
        chunks.append(_Span(start, units[stop - 1].end, tokens))
        index = stop
    return chunks


def _take(units: list[_Span], index: int, capacity: int) -> tuple[int, int]:
    """How far from `index` units fit into `capacity` tokens (at least one), and their tokens."""
    stop, tokens = index + 1, units[index].tokens
    while stop < len(units) and tokens + units[stop].tokens <= capacity:
        tokens += units[stop].tokens
        stop += 1
    return stop, tokens


def _overlap(text: str, previous: _Span, budget: int, fallback: int) -> tuple[int, int]:
    """Where the tail of `previous` worth at most `budget` tokens starts, and its tokens.

    The tail starts at a word and never takes the whole previous chunk.
    """
    words = list(_WORD.finditer(text, previous.start, previous.end))[1:]
    start, tokens = fallback, 0
    for word in reversed(words):
        weight = count_tokens(word.group())
        if tokens + weight > budget:
            break
        start, tokens = word.start(), tokens + weight
    return start, tokens
