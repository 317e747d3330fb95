"""Pattern-based fact extraction: the common shapes of policy sentences as subject-predicate-object.

Each shape is a regular expression and a small function. A sentence that fits no shape yields
nothing: a wrong fact later turns into a wrong "contradicted" verdict, so the patterns prefer
fewer facts that are right over more facts that might not be.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from steerwise.core.graph import Fact, Provenance, entity_key

STATED_CONFIDENCE = 0.9
"""Confidence of facts stated outright: named quantities, owners and prices."""
LIMIT_CONFIDENCE = 0.7
"""Confidence of durations and limits, whose subject or predicate is partly inferred."""
MAX_SUBJECT_WORDS = 6
"""Longer subjects are clauses rather than names; the section heading stands in for them."""

_NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_PERIOD = r"(?:year|month|week|day|hour|order|item)"
_MONEY = rf"[£$€]{_NUMBER}(?!\w)(?:\s+(?:a|an|per|each|every)\s+{_PERIOD}\b|\s+extra\b)?"
_TIME_UNIT = r"(?:days?|weeks?|months?|years?|hours?|minutes?)"
_UNIT = rf"(?:{_TIME_UNIT}|cycles?|units?|items?|miles?|km|kg|percent|per\s+cent)"
_MODIFIER = r"(?:business|working|calendar|full|charge|charging|extra|additional|consecutive)"
_MEASURE = (
    rf"(?<![\w.,£$€]){_NUMBER}(?:\s*(?:to|-|–)\s*{_NUMBER})?"
    rf"(?:\s*%|\s+(?:{_MODIFIER}\s+){{0,3}}{_UNIT}\b)"
)
_QUANTITY = rf"(?:{_MONEY}|{_MEASURE})"
_OR_MEASURE = rf"(?:\s+or\s+(?P<alt>{_MEASURE}))?"
_PHRASE_END = r"(?=\s+(?:and|at|in|across|for|with|from|on|to|who|which)\b|[,;:.]|$)"

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)(?:\s+#+)?\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*)$")
_FENCE = re.compile(r"^\s*(?:```|~~~)")
_QUOTE_MARK = re.compile(r"^\s*>\s?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^a-z\s])")
_LINK = re.compile(r"!?\[([^\]]*)\](?:\([^)]*\)|\[[^\]]*\])")
_MARKUP = re.compile(r"\*\*|__|~~|[*`]|(?<!\w)_|_(?!\w)")
_SPACES = re.compile(r"\s+")
_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
_DETERMINER = re.compile(r"^(?:the|a|an|our|your)\s+", re.IGNORECASE)
_LEAD_WORDS = re.compile(r"^(?:(?:if|once|when|whenever|unless|while|please|so)\s+)+", re.I)
_SUBORDINATE = re.compile(r"^(?:if|once|when|whenever|unless|while|for|to|as)\b[^,]*,\s*", re.I)
_SELF_REFERENCE = re.compile(
    r"^(?:this|these)\s+[\w-]+$|^(?:policy|programme|program|guidance|promise|scheme)$", re.I
)
_LATER_VERB = re.compile(r"\b(?:is|are|was|were)\b", re.IGNORECASE)
_TIME = re.compile(rf"\b{_TIME_UNIT}\b", re.IGNORECASE)


def _word_set(words: str) -> frozenset[str]:
    """A set of words written as one space-separated string."""
    return frozenset(words.split())


_PRONOUNS = _word_set("we you it they i he she us there this that these those which who yours ours")
_VERBS = _word_set(
    """is are was were be can cannot can't must may might will would should shall do does did
    don't doesn't not never has have had get gets take takes cost costs go goes carry carries
    arrive arrives own owns need needs hold holds count counts pay pays receive receives apply
    applies offer offers last lasts renew renews give use store call contact ask bring book start
    show email send stop keep we you usually always only also"""
)
_ACTIONS = _word_set(
    """refund refunds claim claims cancel answer answers respond responds reply report inspect
    return deliver delivers dispatch ship process repair collect decide decision response arrive
    arrives ready valid last lasts resolve notify exchange"""
)
_IMPERATIVES = _word_set(
    """refund claim cancel answer respond reply report inspect return deliver dispatch ship
    process repair collect decide contact notify exchange"""
)
_MODALS = _word_set("can may must will should could would also usually always")
_PARTICIPLES = _word_set("made done sent paid given kept held taken seen brought")
_UPPER_BOUNDS = frozenset({"up to", "at most", "no more than", "a maximum of", "maximum of"})

_Triple = tuple[str, str, str, float]


@dataclass(frozen=True)
class _Unit:
    """One sentence or bullet: the verbatim quote, its text without markup, and its section."""

    quote: str
    text: str
    bullet: bool
    heading: str
    title: str


def extract_facts(
    text: str, *, title: str, heading_path: Sequence[str] = (), provenance: Provenance
) -> list[Fact]:
    """Facts stated in one chunk of a document, in document order, one per `Fact.key`."""
    clean_title = _clean(title)
    heading = _clean(heading_path[-1]) if heading_path else clean_title
    facts: dict[tuple[str, str, str], Fact] = {}
    for unit in _units(text, heading=heading, title=clean_title):
        for subject, predicate, obj, confidence in _triples(unit):
            quoted = replace(provenance, quote=unit.quote)
            fact = Fact(subject, predicate, obj, confidence, quoted)
            known = facts.get(fact.key)
            if known is None or known.confidence < fact.confidence:
                facts[fact.key] = fact
    return list(facts.values())


def _clean(text: str) -> str:
    """Text without Markdown emphasis, code marks and link syntax, spaces collapsed."""
    return _SPACES.sub(" ", _MARKUP.sub("", _LINK.sub(r"\1", text))).strip()


class _Blocks:
    """Splits Markdown into paragraphs and bullets, each with the heading above it."""

    def __init__(self, heading: str) -> None:
        self.heading = heading
        self.blocks: list[tuple[str, bool, str]] = []
        self._lines: list[str] = []
        self._bullet = False
        self._fenced = False

    def read(self, text: str) -> list[tuple[str, bool, str]]:
        """(block text, whether it is a bullet, nearest heading) for each block of `text`."""
        for line in text.splitlines():
            self._feed(_QUOTE_MARK.sub("", line))
        self._flush()
        return self.blocks

    def _feed(self, line: str) -> None:
        if _FENCE.match(line):
            self._flush()
            self._fenced = not self._fenced
        elif self._fenced:
            return
        elif heading := _HEADING.match(line):
            self._flush()
            self.heading = _clean(heading.group(1))
        elif bullet := _BULLET.match(line):
            self._flush()
            self._bullet = True
            self._lines.append(bullet.group(1).strip())
        elif not line.strip() or line.lstrip().startswith("|"):
            self._flush()
        else:
            self._lines.append(line.strip())

    def _flush(self) -> None:
        if self._lines:
            self.blocks.append((" ".join(self._lines), self._bullet, self.heading))
        self._lines = []
        self._bullet = False


def _units(text: str, *, heading: str, title: str) -> Iterator[_Unit]:
    """The sentences and bullets of `text`, in order."""
    for block, bullet, block_heading in _Blocks(heading).read(text):
        for sentence in _SENTENCE_END.split(block):
            if sentence.strip():
                yield _Unit(sentence.strip(), _clean(sentence), bullet, block_heading, title)


def _triples(unit: _Unit) -> Iterator[_Triple]:
    """Every shape's triples for one unit, dropping those without a usable subject or object."""
    for shape in _SHAPES:
        for subject, predicate, obj, confidence in shape(unit):
            if subject and predicate and obj and entity_key(subject) != entity_key(obj):
                yield subject, predicate, obj, confidence


# Subjects ------------------------------------------------------------------------------------


def _name(phrase: str, unit: _Unit) -> str | None:
    """A phrase as a subject: no article; the title for "this policy"; None for a pronoun,
    a clause or an empty phrase."""
    phrase = _DETERMINER.sub("", phrase.strip(" ,:;-–—")).strip()
    if _SELF_REFERENCE.match(phrase):
        return unit.title
    words = phrase.split()
    if not words or words[0].casefold() in _PRONOUNS or len(words) > MAX_SUBJECT_WORDS:
        return None
    return phrase if re.search(r"[^\W\d_]", phrase) else None


def _clause_prefix(text: str, end: int) -> str:
    """What precedes `end` in its clause, without a label ("Note: "), an opening
    "If ..., " or "Please"."""
    prefix = re.split(r"[;:]", text[:end])[-1].strip()
    return _LEAD_WORDS.sub("", _SUBORDINATE.sub("", prefix, count=1)).strip()


def _adjacent_subject(unit: _Unit, end: int) -> str | None:
    """The whole clause before the verb at `end` as a subject."""
    return _name(_clause_prefix(unit.text, end), unit)


def _leading_subject(unit: _Unit, end: int) -> str | None:
    """The noun phrase that opens the clause holding `end`: a bullet's label, or the words
    before the clause's first verb."""
    if unit.bullet and ":" in unit.text[:end]:
        return _name(unit.text.split(":", 1)[0], unit)
    words = _clause_prefix(unit.text, end).split()
    for index, word in enumerate(words[: MAX_SUBJECT_WORDS + 2]):
        if word.casefold().strip(",") in _VERBS:
            return _name(" ".join(words[:index]), unit)
    return None


def _verbless_subject(unit: _Unit, end: int) -> str | None:
    """The clause before `end` as a subject when it holds no verb ("Delivery" in "Delivery
    takes 3 days", not "give" in "give at least 48 hours' notice")."""
    prefix = _clause_prefix(unit.text, end)
    if any(word.casefold() in _VERBS | _IMPERATIVES for word in prefix.split()):
        return None
    return _name(prefix, unit)


def _section_subject(unit: _Unit, predicate: str) -> str:
    """The nearest heading, standing in for a pronoun or a missing subject; the title when the
    heading merely names the predicate (a "Limits" section stating a limit)."""
    if _singular(entity_key(unit.heading)) == predicate:
        return unit.title
    return unit.heading


def _singular(phrase: str) -> str:
    """The phrase with its last word's plural "s" dropped: "return windows" → "return window"."""
    return phrase[:-1] if phrase.endswith("s") and not phrase.endswith("ss") else phrase


def _inside_subject(unit: _Unit, end: int) -> bool:
    """Whether a verb follows `end` in the same clause, so the phrase qualifies a subject
    ("Bikes not collected within 30 days are charged ...") rather than stating a fact."""
    tail = re.split(r"[,;.]", unit.text[end:], maxsplit=1)[0]
    return _LATER_VERB.search(tail) is not None


def _quantities(match: re.Match[str]) -> list[str]:
    """The matched quantity and its "or" alternative, each with spaces collapsed."""
    found = [match.group("q"), match.groupdict().get("alt")]
    return [_SPACES.sub(" ", quantity) for quantity in found if quantity]


# Shape 1: "X has a Y of N", "X carries a £N Y" -------------------------------------------------

_HAS_OF = re.compile(
    rf"\b(?:has|have|carries|carry)\s+(?:(?:a|an|the)\s+)?"
    rf"(?P<name>[a-z][\w-]*(?:\s+[a-z][\w-]*){{0,3}}?)\s+of\s+(?P<q>{_QUANTITY}){_OR_MEASURE}",
    re.IGNORECASE,
)
_HAS_MONEY = re.compile(
    rf"\b(?:has|have|carries|carry)\s+(?:an?\s+)?(?P<q>{_MONEY})\s+"
    rf"(?P<name>[a-z][\w-]*(?:\s+[a-z][\w-]*){{0,2}}?){_PHRASE_END}",
    re.IGNORECASE,
)


def _named_quantities(unit: _Unit) -> Iterator[_Triple]:
    """ "The membership has an annual fee of £40" → (membership, annual fee, £40)."""
    for pattern in (_HAS_OF, _HAS_MONEY):
        for match in pattern.finditer(unit.text):
            predicate = _ARTICLE.sub("", match.group("name")).casefold()
            subject = _adjacent_subject(unit, match.start())
            subject = subject or _section_subject(unit, predicate)
            for quantity in _quantities(match):
                yield subject, predicate, quantity, STATED_CONFIDENCE


# Shape 2: owners ---------------------------------------------------------------------------

_OWNS = re.compile(rf"\bowns\s+(?P<thing>[^,;:.]+?){_PHRASE_END}", re.IGNORECASE)
_OWNED_BY = re.compile(
    rf"\b(?:is|are)\s+owned\s+by\s+(?P<owner>[^,;:.]+?){_PHRASE_END}", re.IGNORECASE
)


def _owners(unit: _Unit) -> Iterator[_Triple]:
    """ "The Workshop team owns servicing" and "Servicing is owned by the Workshop team"."""
    for match in _OWNS.finditer(unit.text):
        owner = _adjacent_subject(unit, match.start())
        thing = _name(match.group("thing"), unit)
        if owner and thing:
            yield thing, "owned by", owner, STATED_CONFIDENCE
    for match in _OWNED_BY.finditer(unit.text):
        thing = _adjacent_subject(unit, match.start())
        owner = _name(match.group("owner"), unit)
        if owner and thing:
            yield thing, "owned by", owner, STATED_CONFIDENCE


# Shape 3: prices ---------------------------------------------------------------------------

_COSTS = re.compile(rf"\b(?:costs?|is|are)\s+(?:(?:only|just)\s+)?(?P<q>{_MONEY})", re.I)
_LABEL_PRICE = re.compile(rf"^(?P<label>[^:,;()]{{1,60}}?)\s*(?:[:,–—]|\s-)\s*(?P<q>{_MONEY})")
_PAREN_PRICE = re.compile(
    rf"(?P<before>[^()]+?)\s*\((?:(?:normally|usually|only|just)\s+)?(?P<q>{_MONEY})\)", re.I
)
_CONDITION = re.compile(r"\s+(?:for|when|if|unless|except|over|under|above|below)\b", re.I)
_OFFER_WORDS = re.compile(r"^(?:(?:one|free|a|an|the|our|your)\s+)+", re.IGNORECASE)
_PER_PHRASE = re.compile(r"\s+(?:each|every|per)\s.*$", re.IGNORECASE)


def _prices(unit: _Unit) -> Iterator[_Triple]:
    """ "X costs £N", "X is £N", "- X: £N" and "X (£N)" → (X, price, £N); a price followed by
    a condition ("£5 for members") is left out, as it holds only in part."""
    for match in _COSTS.finditer(unit.text):
        subject = _adjacent_subject(unit, match.start())
        if subject and not _CONDITION.match(unit.text, match.end()):
            yield subject, "price", _SPACES.sub(" ", match.group("q")), STATED_CONFIDENCE
    label = _LABEL_PRICE.match(unit.text) if unit.bullet else None
    if label and not _CONDITION.match(unit.text, label.end()):
        subject = _name(label.group("label"), unit)
        if subject:
            yield subject, "price", _SPACES.sub(" ", label.group("q")), STATED_CONFIDENCE
    for match in _PAREN_PRICE.finditer(unit.text):
        before = re.split(r"[,;:]", match.group("before"))[-1].strip()
        subject = _name(_PER_PHRASE.sub("", _OFFER_WORDS.sub("", before)), unit)
        if subject:
            yield subject, "price", _SPACES.sub(" ", match.group("q")), STATED_CONFIDENCE


# Shape 4: durations and limits -------------------------------------------------------------

_PASSIVE = re.compile(
    rf"\b(?P<aux>is|are)\s+(?P<word>[a-z]+)\s+(?P<prep>for|within|after)\s+"
    rf"(?P<q>{_MEASURE}){_OR_MEASURE}",
    re.IGNORECASE,
)
_TIMING = re.compile(rf"\b(?P<prep>within|for|after)\s+(?P<q>{_MEASURE}){_OR_MEASURE}", re.I)
_TAKES = re.compile(
    rf"\b(?:takes?|may take|can take|will take)\s+(?P<bound>up to\s+)?(?P<q>{_MEASURE})", re.I
)
_LIMIT = re.compile(
    rf"\b(?P<bound>up to|at most|no more than|a maximum of|maximum of|at least|"
    rf"a minimum of|minimum of)\s+(?P<q>{_MEASURE})",
    re.IGNORECASE,
)
_SPAN_NOUN = re.compile(
    r"(?<![\w.,])(?P<n>\d+)-(?P<unit>day|week|month|year)\s+"
    r"(?P<noun>returns?(?:\s+window)?|warranty|guarantee|trial)\b",
    re.IGNORECASE,
)
_IS_PERIOD = re.compile(rf"\b(?:is|are)\s+(?P<q>{_MEASURE})", re.IGNORECASE)
_LABEL_MEASURE = re.compile(rf"^(?P<label>[^:]{{1,60}}?):\s*(?P<q>{_MEASURE}){_OR_MEASURE}")


def _passive_periods(unit: _Unit) -> Iterator[_Triple]:
    """ "E-bike batteries are covered for 2 years or 500 full charge cycles" → covered for."""
    for match in _PASSIVE.finditer(unit.text):
        if _inside_subject(unit, match.end()):
            continue
        predicate = f"{match.group('word')} {match.group('prep')}".casefold()
        subject = _adjacent_subject(unit, match.start())
        subject = subject or _section_subject(unit, predicate)
        for quantity in _quantities(match):
            yield subject, predicate, quantity, LIMIT_CONFIDENCE


def _timing_predicate(prefix: str, prep: str) -> str | None:
    """ "claim within", "deleted after", or plain "within"; None for a bare "for" or "after"."""
    words = [word.casefold().strip(",") for word in prefix.split()]
    last = words[-1] if words else ""
    if last in _ACTIONS or last in _PARTICIPLES or (len(last) > 4 and last.endswith("ed")):
        return f"{last} {prep}"
    if prep != "within":
        return None
    verb = _opening_verb(words)
    return f"{verb} within" if verb else "within"


def _opening_verb(words: list[str]) -> str | None:
    """The verb of an imperative ("report ...") or after a pronoun ("you can return ...")."""
    if words and words[0] in _PRONOUNS:
        words = list(itertools.dropwhile(lambda word: word in _MODALS, words[1:]))
    return words[0] if words and words[0] in _IMPERATIVES else None


def _timings(unit: _Unit) -> Iterator[_Triple]:
    """ "We refund within 5 business days", "deleted after 24 months"."""
    for match in _TIMING.finditer(unit.text):
        before = unit.text[: match.start()].split()
        if len(before) > 1 and before[-2].casefold() in {"is", "are"}:
            continue  # a passive period, read by _passive_periods
        named = None if _inside_subject(unit, match.end()) else _timing_names(unit, match)
        if named is None:
            continue
        subject, predicate = named
        for quantity in _quantities(match):
            yield subject, predicate, quantity, LIMIT_CONFIDENCE


def _timing_names(unit: _Unit, match: re.Match[str]) -> tuple[str, str] | None:
    """Subject and predicate of a "within", "for" or "after" period; None when both would be
    guesses (a bare "within" under a heading standing in for the subject)."""
    prefix = _clause_prefix(unit.text, match.start())
    predicate = _timing_predicate(prefix, match.group("prep").casefold())
    if predicate is None:
        return None
    subject = _leading_subject(unit, match.start())
    if subject is None and predicate == "within":
        return None
    return subject or _section_subject(unit, predicate), predicate


def _spans(unit: _Unit) -> Iterator[tuple[re.Match[str], str]]:
    """Matches of "takes N", "up to N" and "at least N", each with its predicate."""
    for match in _TAKES.finditer(unit.text):
        yield match, "takes up to" if match.group("bound") else "takes"
    for match in _LIMIT.finditer(unit.text):
        if not re.search(r"\btakes?\s*$", unit.text[: match.start()], re.IGNORECASE):
            bound = match.group("bound").casefold()
            yield match, "limit" if bound in _UPPER_BOUNDS else "minimum"


def _limits(unit: _Unit) -> Iterator[_Triple]:
    """ "Delivery takes 3 to 5 business days", "Up to 2 units per customer"."""
    for match, predicate in _spans(unit):
        if _inside_subject(unit, match.end()):
            continue
        subject = _leading_subject(unit, match.start()) or _verbless_subject(unit, match.start())
        subject = subject or _section_subject(unit, predicate)
        yield subject, predicate, _SPACES.sub(" ", match.group("q")), LIMIT_CONFIDENCE


def _span_nouns(unit: _Unit) -> Iterator[_Triple]:
    """ "60-day returns" → (subject or heading, returns window, 60 days)."""
    for match in _SPAN_NOUN.finditer(unit.text):
        noun = match.group("noun").casefold()
        predicate = "returns window" if noun.startswith("return") else noun
        count = match.group("n")
        span = f"{count} {match.group('unit').casefold()}{'' if count == '1' else 's'}"
        subject = _leading_subject(unit, match.start()) or _section_subject(unit, predicate)
        yield subject, predicate, span, LIMIT_CONFIDENCE


def _periods(unit: _Unit) -> Iterator[_Triple]:
    """ "Standard turnaround is 5 business days" → duration; "- Records: 6 years" → the
    section's name ("how long we keep data") as the predicate."""
    for match in _IS_PERIOD.finditer(unit.text):
        subject = _adjacent_subject(unit, match.start())
        if subject and _TIME.search(match.group("q")):
            yield subject, "duration", _SPACES.sub(" ", match.group("q")), LIMIT_CONFIDENCE
    label = _LABEL_MEASURE.match(unit.text) if unit.bullet else None
    predicate = _section_predicate(unit)
    if label and predicate and (subject := _name(label.group("label"), unit)):
        for quantity in _quantities(label):
            yield subject, predicate, quantity, LIMIT_CONFIDENCE


def _section_predicate(unit: _Unit) -> str | None:
    """The section heading as a predicate, "Return windows" → "return window"; None when the
    unit sits directly under the title."""
    if entity_key(unit.heading) == entity_key(unit.title):
        return None
    return _singular(entity_key(unit.heading))


_SHAPES: tuple[Callable[[_Unit], Iterator[_Triple]], ...] = (
    _named_quantities,
    _owners,
    _prices,
    _passive_periods,
    _timings,
    _limits,
    _span_nouns,
    _periods,
)
