"""The pieces of a checked text that rails embed: the whole (if short) and sentence windows.

Every embedding rail of an input check (prompt injection, topics) cuts the normalised text
the same way, so the rails embed the same strings and the shared `CachingEmbedder` embeds
each once per check. A segment keeps its span in the original text for findings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from steerwise.guardrails.normalise import NormalisedText

_BOUNDARY = re.compile(r"(?<=[.!?;:\u3002\uff01\uff1f])\s+|\s*\n\s*|\s*\\n\s*")
_MIN_SEGMENT = 12
_WHOLE_UP_TO = 500
MAX_SEGMENTS = 12


@dataclass(frozen=True)
class Segment:
    """A piece of a text that is embedded: its normalised text and its original span."""

    text: str
    start: int | None = None
    end: int | None = None


def sentence_windows(text: str, max_segments: int) -> list[tuple[int, int]]:
    """Sentence spans of `text`; short ones join the next; grouped to at most max_segments."""
    spans: list[tuple[int, int]] = []
    start = 0
    for boundary in [*_BOUNDARY.finditer(text), None]:
        end = boundary.start() if boundary else len(text)
        if spans and len(text[spans[-1][0] : spans[-1][1]]) < _MIN_SEGMENT:
            spans[-1] = (spans[-1][0], end)
        elif text[start:end].strip():
            spans.append((start, end))
        start = boundary.end() if boundary else len(text)
    if not spans:
        return []
    size = -(-len(spans) // max_segments)
    return [
        (spans[i][0], spans[min(i + size, len(spans)) - 1][1]) for i in range(0, len(spans), size)
    ]


def segment(found: Sequence[NormalisedText], *, max_segments: int = MAX_SEGMENTS) -> list[Segment]:
    """The whole normalised text (unless long), its sentence windows, each decoded payload.

    A long text is covered by its windows; embedding it whole as well would double the cost
    for a vector the model truncates anyway. The whole text has no span (it is all of it).
    """
    main = found[0]
    pieces = sentence_windows(main.text, max_segments)
    chosen = [Segment(main.text)] if len(pieces) < 2 or len(main.text) <= _WHOLE_UP_TO else []
    if len(pieces) > 1:
        chosen += [Segment(main.text[s:e], *main.original_span(s, e)) for s, e in pieces]
    chosen += [Segment(view.text, *(view.span or (None, None))) for view in found[1:]]
    return chosen
