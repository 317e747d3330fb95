"""Check the claims of an answer against graph facts: supported, contradicted or unknown, and why.

A fact is about a claim when the claim mentions the fact's subject and either shares a content
word with its predicate or states a quantity comparable with its object. Precision comes first:
when in doubt the verdict is unknown, never contradicted. So a fact that matches a claim only by
the kind of quantity can confirm it but contradicts it only when the claim says nothing else
("Standard delivery is £5.95"), and for each value the facts that share predicate words with the
claim take precedence over those that only share the kind of quantity.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from steerwise.core.graph import ClaimVerdict, Fact, entity_key
from steerwise.graph.claims import Claim, split_claims
from steerwise.graph.units import Quantity, compare, parse_quantities

NO_FACT = "no fact about this in the graph"
"""The reason of an unknown verdict when no fact is about the claim."""

_WORD = re.compile(r"[A-Za-z0-9]+")
_NEGATION = re.compile(r"\b(?:not|never|cannot|no|none|nothing)\b|n't\b", re.IGNORECASE)
_LIST_SPLIT = re.compile(r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|&)\s+")
_BOUND_BEFORE = re.compile(
    r"\b(?:over|above|under|below|more than|less than|fewer than|at least|at most|from"
    r"|orders of|minimum of|maximum of)\s*$",
    re.IGNORECASE,
)
_BOUND_AFTER = re.compile(r"\s*(?:\+|(?:or|and) (?:more|over|above|less|under|fewer|below)\b)")
_BOUND_PREDICATES = frozenset({"minimum", "maximum", "threshold", "limit", "min", "max"})
# Words and stems that mean the same for matching: "members" is about "membership", "costs" about
# a "price" or "fee", "covered" and "guaranteed" about a "warranty".
_SYNONYMS = {
    **dict.fromkeys(("owner", "ownership"), "own"),
    "membership": "member",
    **dict.fromkeys(("cost", "fee", "charg", "pay", "paid"), "pric"),
    **dict.fromkeys(("guarante", "cover"), "warranty"),
    **dict.fromkeys(("held", "kept", "keep"), "hold"),
    **dict.fromkeys(("sav", "saving"), "discount"),
    "aged": "age",
}
# fmt: off
_STOP = frozenset((
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been",
    "before", "being", "both", "but", "by", "can", "could", "did", "do", "does", "each", "either",
    "every", "for", "from", "get", "gets", "got", "had", "has", "have", "he", "her", "his", "how",
    "if", "in", "into", "is", "it", "its", "just", "may", "more", "most", "must", "no", "nor",
    "not", "of", "off", "on", "once", "only", "or", "other", "our", "out", "over", "own", "per",
    "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "them", "then",
    "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up",
    "upon", "very", "was", "we", "were", "what", "when", "where", "whether", "which", "while",
    "who", "whom", "why", "will", "with", "within", "would", "you", "your",
))
# fmt: on


@dataclass(frozen=True)
class _Word:
    stem: str
    raw: str
    start: int
    end: int
    content: bool


@dataclass(frozen=True)
class _Subject:
    """How a subject can be mentioned: its whole name, else one item of a list subject
    ("Parts, accessories and clothing"), else its head noun alone ("batteries")."""

    key: str
    name: tuple[str, ...]
    items: tuple[tuple[str, ...], ...]
    content: frozenset[str]
    head: str | None


@dataclass(frozen=True)
class _FactView:
    fact: Fact
    subject: str
    predicate: frozenset[str]
    quantity: Quantity | None
    target: tuple[str, ...]
    takes_bounds: bool


@dataclass(frozen=True)
class _ClaimView:
    claim: Claim
    words: list[_Word]
    stems: frozenset[str]
    quantities: list[Quantity]
    bounded: list[bool]
    mentioned: frozenset[str]
    bare: bool


@dataclass(frozen=True)
class _Finding:
    """One fact's judgement of one value the claim states: a quantity ("q0") or a name;
    `direct` when the claim shares words with the fact's predicate."""

    fact: Fact
    supports: bool
    value: str
    direct: bool


@dataclass(frozen=True)
class _Graph:
    facts: list[_FactView]
    subjects: list[_Subject]
    heads: Counter[str]


def check_claims(text: str, facts: Sequence[Fact]) -> list[ClaimVerdict]:
    """One verdict per claim of `text` (see `split_claims`), in order."""
    graph = _prepare(facts)
    return [_check(claim, graph) for claim in split_claims(text)]


def check_claim(claim: Claim, facts: Sequence[Fact]) -> ClaimVerdict:
    """Whether the facts support, contradict or say nothing about one claim, with the facts used
    and a reason such as "the graph says 30 days (returns-policy@1)"."""
    return _check(claim, _prepare(facts))


def _check(claim: Claim, graph: _Graph) -> ClaimVerdict:
    view = _view(claim, graph)
    relevant = [fact for fact in graph.facts if _is_relevant(view, fact)]
    findings = _weigh([finding for fact in relevant for finding in _judge(view, fact)], view)
    return _verdict(claim, [fact.fact for fact in relevant], findings)


def _weigh(findings: list[_Finding], view: _ClaimView) -> list[_Finding]:
    """Drop indirect findings about a value some direct finding judges, and indirect
    contradictions unless the claim is bare."""
    judged = {finding.value for finding in findings if finding.direct}
    kept = [f for f in findings if f.direct or f.value not in judged]
    return [f for f in kept if f.direct or f.supports or view.bare]


def _verdict(claim: Claim, relevant: list[Fact], findings: list[_Finding]) -> ClaimVerdict:
    """Contradicted only for a value no relevant fact supports; supported when some fact
    confirms a value; otherwise unknown."""
    if not relevant:
        return _unknown(claim, [], NO_FACT)
    if _NEGATION.search(claim.text):
        return _unknown(claim, relevant, "the claim is negated, so it is not checked")
    supported = {finding.value for finding in findings if finding.supports}
    against = _unique(f.fact for f in findings if not f.supports and f.value not in supported)
    if against:
        reason = "; ".join(f"the graph says {fact.object} ({_where(fact)})" for fact in against)
        return ClaimVerdict(claim.text, claim.start, claim.end, "contradicted", against, reason)
    confirming = _unique(finding.fact for finding in findings if finding.supports)
    if confirming:
        reason = "; ".join(f"matches {fact.object} ({_where(fact)})" for fact in confirming)
        return ClaimVerdict(claim.text, claim.start, claim.end, "supported", confirming, reason)
    return _unknown(claim, relevant, "the graph has related facts, but none states this")


def _unknown(claim: Claim, facts: list[Fact], reason: str) -> ClaimVerdict:
    return ClaimVerdict(claim.text, claim.start, claim.end, "unknown", facts, reason)


def _unique(facts: Iterable[Fact]) -> list[Fact]:
    seen: dict[tuple[str, str, str], Fact] = {}
    for fact in facts:
        seen.setdefault(fact.key, fact)
    return list(seen.values())


def _where(fact: Fact) -> str:
    """Where a fact came from: `doc@version`, else its subject and predicate."""
    provenance = fact.provenance
    if provenance.doc_id and provenance.doc_version is not None:
        return f"{provenance.doc_id}@{provenance.doc_version}"
    return provenance.doc_id or f"{fact.subject} — {fact.predicate}"


# Judging one fact against one claim.


def _is_relevant(view: _ClaimView, fact: _FactView) -> bool:
    if fact.subject not in view.mentioned:
        return False
    if fact.predicate & view.stems:
        return True
    quantity = fact.quantity
    return quantity is not None and any(compare(q, quantity) is not None for q in view.quantities)


def _judge(view: _ClaimView, fact: _FactView) -> list[_Finding]:
    if fact.quantity is not None:
        return _judge_quantity(view, fact, fact.quantity)
    return _judge_name(view, fact)


def _judge_quantity(view: _ClaimView, fact: _FactView, expected: Quantity) -> list[_Finding]:
    """Supports each equal claim quantity; when none is equal, contradicts each comparable one
    (a fact whose value the claim states is not taken to be about its other numbers)."""
    direct = bool(fact.predicate & view.stems)
    results: list[tuple[int, bool]] = []
    for index, quantity in enumerate(view.quantities):
        if view.bounded[index] and not fact.takes_bounds:
            continue  # "£50 or more" is a threshold, not a price
        same = compare(quantity, expected)
        if same is not None:
            results.append((index, same))
    equal = [index for index, same in results if same]
    if equal:
        return [_Finding(fact.fact, True, f"q{index}", direct) for index in equal]
    return [_Finding(fact.fact, False, f"q{index}", direct) for index, _ in results]


def _judge_name(view: _ClaimView, fact: _FactView) -> list[_Finding]:
    """Supports when the claim names the fact's object; contradicts when it names something
    else instead (a capitalised phrase that is not the subject or predicate)."""
    value = f"name:{entity_key(fact.fact.predicate)}"
    if _find_phrase([word.stem for word in view.words], fact.target) is not None:
        return [_Finding(fact.fact, True, value, True)]
    if _names_other(view, fact):
        return [_Finding(fact.fact, False, value, True)]
    return []


def _names_other(view: _ClaimView, fact: _FactView) -> bool:
    known = fact.predicate | _content_stems(fact.fact.subject)
    words = view.words
    for index, word in enumerate(words):
        if not (word.content and word.raw[0].isupper()) or word.stem in known:
            continue
        if view.claim.text[word.end : word.end + 2] in ("'s", "’s"):
            continue  # a possessive qualifies something else
        if index == 0 and not (len(words) > 1 and words[1].raw[0].isupper()):
            continue  # a capital that only starts the sentence names nothing
        return True
    return False


# Preparing facts and claims.


def _prepare(facts: Sequence[Fact]) -> _Graph:
    subjects = {entity_key(fact.subject): _subject(fact.subject) for fact in facts}
    heads = Counter(subject.head for subject in subjects.values() if subject.head)
    return _Graph([_fact_view(fact) for fact in facts], list(subjects.values()), heads)


def _fact_view(fact: Fact) -> _FactView:
    quantities = parse_quantities(fact.object)
    predicate = _content_stems(fact.predicate)
    return _FactView(
        fact=fact,
        subject=entity_key(fact.subject),
        predicate=predicate,
        quantity=quantities[0] if len(quantities) == 1 else None,
        target=tuple(word.stem for word in _words(fact.object)),
        takes_bounds=bool(predicate & _BOUND_PREDICATES),
    )


def _subject(name: str) -> _Subject:
    words = _words(name)
    content = [word.stem for word in words if word.content]
    parts = [part for part in _LIST_SPLIT.split(name) if part]
    is_list = len(parts) > 1 and ("," in name or all(_plural(part) for part in parts))
    items = tuple(tuple(w.stem for w in _words(part)) for part in parts) if is_list else ()
    head = content[-1] if content and not is_list else None
    return _Subject(entity_key(name), tuple(w.stem for w in words), items, frozenset(content), head)


def _plural(phrase: str) -> bool:
    return phrase.rstrip().casefold().endswith("s")


def _view(claim: Claim, graph: _Graph) -> _ClaimView:
    words = _words(claim.text)
    quantities = parse_quantities(claim.text)
    mentioned = _mentioned(words, graph)
    return _ClaimView(
        claim=claim,
        words=words,
        stems=frozenset(word.stem for word in words if word.content),
        quantities=quantities,
        bounded=[_is_bounded(claim.text, quantity) for quantity in quantities],
        mentioned=mentioned,
        bare=_is_bare(words, quantities, [s for s in graph.subjects if s.key in mentioned]),
    )


def _is_bare(words: list[_Word], quantities: list[Quantity], subjects: list[_Subject]) -> bool:
    """Whether the claim says nothing but its subjects and quantities ("Membership is £45")."""
    named = frozenset().union(*(subject.content for subject in subjects))
    return all(
        not word.content
        or word.stem in named
        or any(q.start <= word.start < q.end for q in quantities)
        for word in words
    )


def _is_bounded(text: str, quantity: Quantity) -> bool:
    before = text[max(0, quantity.start - 20) : quantity.start]
    return bool(_BOUND_BEFORE.search(before) or _BOUND_AFTER.match(text, quantity.end))


# Subject mentions.


def _mentioned(words: list[_Word], graph: _Graph) -> frozenset[str]:
    """Subjects the claim mentions. A partial mention (a list item, a head noun) does not count
    inside the full mention of another subject: "battery health check" is not about batteries."""
    full: dict[str, tuple[int, int]] = {}
    partial: dict[str, tuple[int, int]] = {}
    for subject in graph.subjects:
        content = frozenset() if subject.items else subject.content
        span = _find_name(words, subject.name, content)
        if span is not None:
            full[subject.key] = span
            continue
        span = _find_partial(words, subject, graph.heads)
        if span is not None:
            partial[subject.key] = span
    shadowed = {
        key
        for key, (low, high) in partial.items()
        if any(a <= low and high <= b for other, (a, b) in full.items() if other != key)
    }
    return frozenset(full) | frozenset(partial.keys() - shadowed)


def _find_name(
    words: list[_Word], name: tuple[str, ...], content: frozenset[str]
) -> tuple[int, int] | None:
    """Where the words of `name` appear in a row, else where all its content words appear."""
    stems = [word.stem for word in words]
    start = _find_phrase(stems, name)
    if start is not None:
        return (start, start + len(name) - 1)
    positions = [_first(words, stem) for stem in content]
    if not content or None in positions:
        return None
    found = [position for position in positions if position is not None]
    return (min(found), max(found))


def _find_partial(
    words: list[_Word], subject: _Subject, heads: Counter[str]
) -> tuple[int, int] | None:
    for item in subject.items:
        span = _find_name(words, item, frozenset(s for s in item if s in subject.content))
        if span is not None:
            return span
    if subject.head is None or heads[subject.head] > 1 or len(subject.content) < 2:
        return None
    index = _first(words, subject.head)
    if index is None:
        return None
    before = words[index - 1] if index > 0 else None
    if before is not None and before.content and before.stem not in subject.content:
        return None  # "scooter batteries" is not about "e-bike batteries"
    return (index, index)


def _find_phrase(stems: list[str], phrase: tuple[str, ...]) -> int | None:
    if not phrase:
        return None
    for start in range(len(stems) - len(phrase) + 1):
        if tuple(stems[start : start + len(phrase)]) == phrase:
            return start
    return None


def _first(words: list[_Word], stem: str) -> int | None:
    return next(
        (index for index, word in enumerate(words) if word.content and word.stem == stem), None
    )


# Words.


def _words(text: str) -> list[_Word]:
    return [
        _Word(_stem(match[0]), match[0], match.start(), match.end(), _is_content(match[0]))
        for match in _WORD.finditer(text)
    ]


def _content_stems(text: str) -> frozenset[str]:
    return frozenset(word.stem for word in _words(text) if word.content)


def _is_content(word: str) -> bool:
    return len(word) >= 3 and word.isalpha() and word.casefold() not in _STOP


def _stem(word: str) -> str:
    """A light stem so that plurals and simple verb forms match: batteries/battery, owns/owned."""
    lower = word.casefold()
    stem = _SYNONYMS.get(lower) or _strip_suffix(lower)
    return _SYNONYMS.get(stem, stem)


def _strip_suffix(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    for suffix in ("ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and not word.endswith("ss") and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word
