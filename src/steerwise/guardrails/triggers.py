"""Trigger fragments: a cheap test that tells when a word-start regex cannot match a text.

Running a hundred regexes over every text costs about 30 ns per character each. Most texts
match none, and every match of a pattern that begins at a word start (`(?<![^\\W_])...`)
begins with one of a few literal fragments ("igno", "disr", "forg" ...). `triggers(source)`
reads those fragments from the regex's own parse tree (at most `FRAGMENT` characters each),
and `WordStarts(text)` holds the beginnings of the text's words: a pattern whose fragments are
none of them cannot match, and is not run. Where the parse tree does not pin the first
characters down (a character class, a wildcard, an unknown construct) there are no
triggers, and the pattern always runs, so the test never hides a match.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

FRAGMENT = 4
_WORD = re.compile(r"[^\W_]+")
_WORD_CHAR = re.compile(r"[^\W_]")
_NOT_AFTER_WORD = list(sre_parse.parse(r"[^\W_]"))
_ZERO_WIDTH = (sre.ASSERT, sre.ASSERT_NOT, sre.AT)


def triggers(source: str, flags: int = 0) -> frozenset[str] | None:
    """The word fragments every match of `source` begins with, or None when they cannot be
    known (then the pattern must always run). Only a pattern that begins at a word start
    (`(?<![^\\W_])` or `\b`, before any alternation) has them: a match elsewhere could
    begin inside a word."""
    if flags & re.IGNORECASE:
        return None
    try:
        parsed = list(sre_parse.parse(source, flags))
    except (re.error, RecursionError, TypeError, ValueError):
        return None
    if not parsed or not _at_word_start(*parsed[0]):
        return None
    found = _starts(parsed[1:], FRAGMENT)
    return None if "" in found else frozenset(found)


def _at_word_start(op: Any, value: Any) -> bool:
    if op is sre.AT:
        return value is sre.AT_BOUNDARY
    return op is sre.ASSERT_NOT and value[0] == -1 and list(value[1]) == _NOT_AFTER_WORD


def _starts(items: Sequence[Any], budget: int) -> set[str]:
    """Literal word fragments (at most `budget` characters) that every match of `items`
    begins with; "" stands for "nothing known" (or nothing more wanted)."""
    if not items or budget == 0:
        return {""}
    (op, value), rest = items[0], items[1:]
    if op in _ZERO_WIDTH:
        return _starts(rest, budget)
    if op is sre.LITERAL:
        return _after_literal(chr(value), rest, budget)
    expand = _EXPANSIONS.get(op)
    return expand(value, rest, budget) if expand else {""}


def _after_literal(char: str, rest: Sequence[Any], budget: int) -> set[str]:
    if not _WORD_CHAR.fullmatch(char):
        return {""}
    return {char + tail for tail in _starts(rest, budget - 1)}


def _group(value: Any, rest: Sequence[Any], budget: int) -> set[str]:
    return _starts([*value[-1], *rest], budget)


def _branch(value: Any, rest: Sequence[Any], budget: int) -> set[str]:
    return set().union(*(_starts([*branch, *rest], budget) for branch in value[1]))


def _repeat(value: Any, rest: Sequence[Any], budget: int) -> set[str]:
    low, _, body = value
    once = _starts(list(body), budget)  # what follows a repeat is not read: it may repeat
    return once | _starts(rest, budget) if low == 0 else once


_EXPANSIONS: dict[Any, Callable[[Any, Sequence[Any], int], set[str]]] = {
    sre.SUBPATTERN: _group,
    sre.BRANCH: _branch,
    sre.MAX_REPEAT: _repeat,
    sre.MIN_REPEAT: _repeat,
    sre.POSSESSIVE_REPEAT: _repeat,
}


class WordStarts:
    """The beginnings (1 to FRAGMENT characters) of every word of a text."""

    def __init__(self, text: str) -> None:
        words = _WORD.findall(text)
        self._starts = {word[:FRAGMENT] for word in words}
        for length in range(1, FRAGMENT):
            self._starts.update([word[:length] for word in words])

    def may_match(self, fragments: frozenset[str] | None) -> bool:
        """False only when no word begins with any of `fragments` (None: unknown, True)."""
        return fragments is None or not fragments.isdisjoint(self._starts)
