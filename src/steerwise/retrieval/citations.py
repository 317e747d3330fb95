"""Citations: number retrieved chunks as prompt context, and map `[n]` markers in an answer
back to the chunks, documents and document versions they stand for."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from steerwise.core.knowledge import SearchHit

_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")


@dataclass(frozen=True)
class Citation:
    """One `[n]` in an answer and what it points at (`hit` None when n is out of range)."""

    number: int
    start: int
    end: int
    hit: SearchHit | None

    @property
    def valid(self) -> bool:
        """True when the number names a chunk that was given to the model."""
        return self.hit is not None


def number_context(hits: Sequence[SearchHit]) -> str:
    """The chunks as `[1] Title > Section (doc@version)` blocks for a prompt's `context`."""
    blocks = []
    for number, hit in enumerate(hits, start=1):
        where = " > ".join([hit.title, *[h for h in hit.heading_path if h != hit.title]])
        stale = " [may be out of date]" if hit.freshness.stale else ""
        blocks.append(f"[{number}] {where} ({hit.document_ref}){stale}\n{hit.text.strip()}")
    return "\n\n".join(blocks)


def citation_markers(text: str) -> list[tuple[int, int, int]]:
    """(number, start, end) of every citation marker in `text` (`[2]`, `[1, 3]`), in order."""
    return [
        (int(part), match.start(), match.end())
        for match in _MARKER.finditer(text)
        for part in match.group(1).split(",")
    ]


def blank_citations(text: str) -> str:
    """`text` with each citation marker replaced by spaces (offsets stay valid)."""
    return _MARKER.sub(lambda marker: " " * len(marker[0]), text)


def find_citations(answer: str, hits: Sequence[SearchHit]) -> list[Citation]:
    """Every citation marker in `answer` (`[2]`, `[1, 3]`), in order, resolved to its hit."""
    return [
        Citation(number, start, end, hits[number - 1] if 1 <= number <= len(hits) else None)
        for number, start, end in citation_markers(answer)
    ]


def cited_documents(citations: Sequence[Citation]) -> list[str]:
    """`doc@version` of every document cited validly, first citation first, no repeats."""
    return list(dict.fromkeys(c.hit.document_ref for c in citations if c.hit is not None))
