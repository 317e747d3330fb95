"""Text measures shared by scorers: SQuAD's answer normalisation, token F1, ROUGE-L, refusals.

`normalize_answer` follows the official SQuAD v1.1 evaluation: lower case, drop ASCII
punctuation, drop the articles "a", "an" and "the", collapse white space. `token_f1` is
SQuAD's F1 over those tokens (bag of tokens, with repeats). `rouge_l` is Lin's ROUGE-L F1
(longest common subsequence of lower-cased alphanumeric tokens, no stemming).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_ALPHANUMERIC = re.compile(r"[^\W_]+")


def normalize_answer(text: str) -> str:
    """SQuAD v1.1's normalisation (module docstring)."""
    lowered = text.lower()
    unpunctuated = "".join(char for char in lowered if char not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", unpunctuated).split())


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD's F1 of the normalised tokens of `prediction` against one `reference`."""
    predicted = normalize_answer(prediction).split()
    expected = normalize_answer(reference).split()
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def rouge_tokens(text: str) -> list[str]:
    """Lower-cased alphanumeric tokens (ROUGE's default tokenisation, without stemming)."""
    return _ALPHANUMERIC.findall(text.lower())


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1 (beta 1) of `prediction` against one `reference`."""
    predicted, expected = rouge_tokens(prediction), rouge_tokens(reference)
    common = lcs_length(predicted, expected)
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def lcs_length(first: Sequence[str], second: Sequence[str]) -> int:
    """Length of the longest common subsequence (dynamic programming, one row kept)."""
    if len(second) > len(first):
        first, second = second, first
    previous = [0] * (len(second) + 1)
    for item in first:
        current = [0]
        for index, other in enumerate(second):
            current.append(
                previous[index] + 1 if item == other else max(previous[index + 1], current[-1])
            )
        previous = current
    return previous[-1]


_REFUSALS = re.compile(
    r"\b(?:"
    r"i(?:'m| am) (?:sorry|afraid|unable|not able)|i (?:can ?not|can't|won't|will not|am not"
    r" able to|do not|don't) (?:help|assist|answer|provide|share|do|comply|discuss)"
    r"|(?:can't|cannot|unable to) (?:help|assist) with"
    r"|es tut mir leid|ich kann (?:ihnen |dir )?(?:dabei )?nicht (?:helfen|antworten)"
    r"|je ne peux pas|d[ée]sol[ée]"
    r"|lo siento|no puedo (?:ayudar|responder)"
    r")",
    re.IGNORECASE,
)


def declines(text: str, extra_phrases: Sequence[str] = ()) -> bool:
    """Whether `text` declines to answer: an empty text, a common refusal phrase (English,
    German, French, Spanish), or one of `extra_phrases` (case-insensitive)."""
    if not text.strip():
        return True
    lowered = text.lower()
    return bool(_REFUSALS.search(text)) or any(p.lower() in lowered for p in extra_phrases)
