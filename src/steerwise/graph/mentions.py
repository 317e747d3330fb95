"""Which facts a text is about: entity mentions by content words, plural-insensitive."""

from __future__ import annotations

import re
from collections.abc import Sequence

from steerwise.core.graph import Fact

_WORD = re.compile(r"[a-z0-9]+")
STOP_WORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "are",
        "was",
        "were",
        "with",
        "from",
        "that",
        "this",
        "what",
        "when",
        "how",
        "does",
        "can",
        "you",
        "our",
        "your",
        "its",
        "has",
        "have",
        "had",
        "not",
        "but",
        "any",
        "all",
        "per",
        "day",
        "days",
    ]
)


def content_words(text: str) -> set[str]:
    """Lower-case words of 3+ letters, without stop words, with a final plural 's' dropped."""
    words = set()
    for word in _WORD.findall(text.casefold()):
        if len(word) >= 3 and word not in STOP_WORDS:
            words.add(word[:-1] if word.endswith("s") and len(word) > 3 else word)
    return words


def relevant_facts(text: str, facts: Sequence[Fact]) -> list[Fact]:
    """Facts whose subject is mentioned in `text` (all its content words present), ranked by
    how many of the fact's subject and predicate words the text shares."""
    words = content_words(text)
    scored = []
    for index, fact in enumerate(facts):
        subject = content_words(fact.subject)
        if not subject or not subject <= words:
            continue
        overlap = len(subject) + len(content_words(fact.predicate) & words)
        scored.append((-overlap, -fact.confidence, index, fact))
    scored.sort(key=lambda item: item[:3])
    return [fact for *_, fact in scored]
