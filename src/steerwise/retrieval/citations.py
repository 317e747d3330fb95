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


def find_citations(answer: str, hits: Sequence[SearchHit]) -> list[Citation]:
    """Every citation marker in `answer` (`[2]`, `[1, 3]`), in order, resolved to its hit."""
    found = []
    for match in _MARKER.finditer(answer):
        for part in match.group(1).split(","):
            number = int(part)
            hit = hits[number - 1] if 1 <= number <= len(hits) else None
            found.append(Citation(number, match.start(), match.end(), hit))
    return found


def cited_documents(citations: Sequence[Citation]) -> list[str]:
    """`doc@version` of every document cited validly, first citation first, no repeats."""
    return list(dict.fromkeys(c.hit.document_ref for c in citations if c.hit is not None))
