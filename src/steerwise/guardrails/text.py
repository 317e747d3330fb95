"""Text helpers the rails share: content words, numbers, sentences, embedding similarity."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from steerwise.graph.claims import split_claims
from steerwise.graph.mentions import STOP_WORDS
from steerwise.models.interface import Embedder

_WORD = re.compile(r"\w+", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def content_words(text: str) -> set[str]:
    """Lower-cased words of three or more characters that are not stop words, plural-folded."""
    words = (word.casefold() for word in _WORD.findall(text))
    return {_singular(word) for word in words if len(word) >= 3 and word not in STOP_WORDS}


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word


def numbers_in(text: str) -> set[str]:
    """The numbers written in `text`, with `,` as decimal mark read as `.`."""
    return {number.replace(",", ".") for number in _NUMBER.findall(text)}


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence (or bullet, heading, `;` clause) of `text`."""
    return [(claim.start, claim.end) for claim in split_claims(text)]


def finished_prefix(text: str) -> str:
    """The part of `text` made of finished sentences (up to the start of the last one, which
    more text may still extend)."""
    spans = sentence_spans(text)
    if len(spans) < 2:
        return ""
    return text[: spans[-1][0]]


def sentences_of(text: str) -> list[str]:
    """The sentences of `text` (those `sentence_spans` finds), as strings."""
    return [text[start:end] for start, end in sentence_spans(text)]


def best_similarities(
    embedder: Embedder, texts: Sequence[str], against: Sequence[str]
) -> list[float]:
    """For each of `texts`, the highest cosine similarity to any of `against` (0 if empty)."""
    if not texts:
        return []
    if not against:
        return [0.0] * len(texts)
    vectors = embedder.embed([*texts, *against])
    scores = vectors[: len(texts)] @ vectors[len(texts) :].T
    return [float(value) for value in np.max(scores, axis=1)]
