"""Building a training set: conversations from dataset items and reviews, de-duplicated,
scanned for personal data (refused or redacted), split into train and validation, with a
data card saying what was done.

Nothing here touches the store; `TrainingSets.build` stores what `build_spec` returns.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from steerwise.core.errors import BadInputError
from steerwise.core.evals import DatasetItem
from steerwise.core.finetune import ChatMessage, ChatRow, DataCard, TrainingSetSpec
from steerwise.core.guardrails import Finding
from steerwise.core.models import Message
from steerwise.guardrails.redaction import redact
from steerwise.guardrails.scrub import pii_findings

PiiAction = Literal["refuse", "redact"]
UNKNOWN_ANSWER = "The context does not say."


@dataclass(frozen=True)
class Rendered:
    """The messages before the answer, for one item, and the document of each numbered
    passage of their context (empty when nothing was retrieved)."""

    messages: list[Message]
    sources: tuple[str, ...] = ()


Render = Callable[[DatasetItem], Rendered]
"""How an item becomes messages: its question alone, a prompt, or a release (retrieval)."""


@dataclass(frozen=True)
class RowSource:
    """Items to turn into rows: where they came from (`support-qa@3 (sha256…)`,
    `reviews of sampled`), a short prefix for row ids, and the items."""

    origin: str
    prefix: str
    items: Sequence[DatasetItem]


@dataclass(frozen=True)
class BuildOptions:
    """How to build: validation share and seed, what to do with PII, and the renderer."""

    validation_share: float = 0.1
    seed: int = 0
    pii: PiiAction = "refuse"
    allowed_pii: tuple[str, ...] = ()
    """Published values that are not personal data (a company's contact address); a
    finding equal to one of them (ignoring case) is not refused or redacted."""
    render: Render | None = None
    prompt: str | None = None
    snapshot: str | None = None
    cite: bool = False
    """Retrieval-augmented rows: the answer cites the passage from a reference document
    (`... [2]`), and is `unknown_answer` when no retrieved passage comes from one."""
    unknown_answer: str = UNKNOWN_ANSWER


@dataclass
class _Tally:
    without_reference: int = 0
    duplicates: int = 0
    unknown: int = 0
    pii_rows: int = 0
    pii_types: Counter[str] = field(default_factory=Counter)


def default_render(item: DatasetItem) -> Rendered:
    """A single user message: the item's `question` variable, or its only variable."""
    variables = item.variables
    if "question" in variables:
        return Rendered([{"role": "user", "content": str(variables["question"])}])
    if len(variables) == 1:
        return Rendered([{"role": "user", "content": str(next(iter(variables.values())))}])
    raise BadInputError(
        f"item {item.id!r}: cannot tell which variable is the user's message"
        f" ({', '.join(sorted(variables)) or 'none'})",
        hint="name the prompt to render the items with: --prompt NAME@REF",
    )


def build_spec(
    name: str, sources: Sequence[RowSource], options: BuildOptions, *, description: str = ""
) -> TrainingSetSpec:
    """The training set `sources` make under `options` (module docstring)."""
    tally = _Tally()
    rows = _unique(_rows(sources, options, tally), tally)
    allowed = {value.strip().lower() for value in options.allowed_pii}
    rows = [_checked_for_pii(row, options.pii, allowed, tally) for row in rows]
    train, validation = split(rows, options.validation_share, options.seed)
    card = DataCard(
        origins=[source.origin for source in sources],
        rows_in=sum(len(source.items) for source in sources),
        duplicates_removed=tally.duplicates,
        pii_rows=tally.pii_rows,
        pii_action=options.pii,
        pii_allowed=sorted(allowed),
        pii_types=dict(sorted(tally.pii_types.items())),
        train=len(train),
        validation=len(validation),
        validation_share=options.validation_share,
        seed=options.seed,
        prompt=options.prompt,
        snapshot=options.snapshot,
        unknown_rows=tally.unknown,
        filters=_filters(tally),
    )
    return TrainingSetSpec(
        name=name, description=description, train=train, validation=validation, card=card
    )


def _rows(sources: Sequence[RowSource], options: BuildOptions, tally: _Tally) -> list[ChatRow]:
    render = options.render or default_render
    rows = []
    for source in sources:
        for item in source.items:
            try:
                rendered = render(item)
            except BadInputError as error:
                raise BadInputError(
                    f"item {item.id!r} of {source.origin}: {error.message}", hint=error.hint
                ) from None
            answer = _reference(item)
            if answer is None:
                tally.without_reference += 1
                continue
            if options.cite:
                answer = cited_answer(item, answer, rendered.sources, options.unknown_answer)
                tally.unknown += int(answer == options.unknown_answer or not item.reference_doc_ids)
            messages = [*rendered.messages, {"role": "assistant", "content": answer}]
            rows.append(
                ChatRow(
                    id=f"{source.prefix}{item.id}",
                    messages=[ChatMessage.model_validate(message) for message in messages],
                    origin=f"{source.origin}#{item.id}",
                )
            )
    if not rows:
        raise BadInputError(
            "no training rows: no item has a reference answer",
            hint="fine-tuning learns the references: build from a dataset with references",
        )
    return rows


def cited_answer(item: DatasetItem, reference: str, sources: Sequence[str], unknown: str) -> str:
    """The reference with the number of the first passage from one of the item's
    reference documents (`... [2]`); `unknown` when none was retrieved; the reference as it
    is for an item that rests on no document (an unanswerable question)."""
    if not item.reference_doc_ids:
        return reference
    wanted = set(item.reference_doc_ids)
    for number, doc_id in enumerate(sources, start=1):
        if doc_id in wanted:
            return f"{reference.rstrip()} [{number}]"
    return unknown


def _reference(item: DatasetItem) -> str | None:
    references = [text for text in item.references if text.strip()]
    return references[0] if references else None


def _unique(rows: list[ChatRow], tally: _Tally) -> list[ChatRow]:
    """The rows with repeated conversations (same text, ignoring case and spacing) dropped;
    the first of each is kept, and repeated ids are made unique."""
    seen: set[str] = set()
    ids: Counter[str] = Counter()
    kept = []
    for row in rows:
        key = "\x00".join(f"{m.role}:{_normal(m.content)}" for m in row.messages)
        if key in seen:
            tally.duplicates += 1
            continue
        seen.add(key)
        ids[row.id] += 1
        repeat = ids[row.id]
        kept.append(row if repeat == 1 else row.model_copy(update={"id": f"{row.id}~{repeat}"}))
    return kept


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _checked_for_pii(row: ChatRow, action: PiiAction, allowed: set[str], tally: _Tally) -> ChatRow:
    """The row, or with `redact` its PII replaced by typed placeholders; with `refuse`,
    an error naming the rows and types found (nothing is stored)."""
    found = [(message, _findings(message.content, allowed)) for message in row.messages]
    types = Counter(finding.type for _, findings in found for finding in findings)
    if not types:
        return row
    tally.pii_rows += 1
    tally.pii_types.update(types)
    if action == "refuse":
        raise PiiInRowError(row.id, sorted(types))
    placeholders: dict[str, str] = {}
    messages = []
    for message, findings in found:
        text, placeholders = redact(message.content, findings, placeholders)
        messages.append(message.model_copy(update={"content": text}))
    return row.model_copy(update={"messages": messages})


def _findings(text: str, allowed: set[str]) -> list[Finding]:
    return [
        finding
        for finding in pii_findings(text)
        if finding.start is None or text[finding.start : finding.end].lower() not in allowed
    ]


class PiiInRowError(BadInputError):
    """A training row carries personal data; redact it (`--redact-pii`) or fix the data."""

    def __init__(self, row_id: str, types: list[str]) -> None:
        super().__init__(
            f"training row {row_id!r} carries personal data ({', '.join(types)});"
            " nothing was stored",
            hint="redact it with --redact-pii, allow a published value with --allow-pii"
            " VALUE, or correct the source dataset",
        )


def split(rows: list[ChatRow], share: float, seed: int) -> tuple[list[ChatRow], list[ChatRow]]:
    """A seeded shuffle cut into train and validation (at least one row each if `share`
    is above 0); too few rows to split is an error."""
    if not 0 <= share < 1:
        raise BadInputError(f"validation share {share} must be at least 0 and below 1")
    if share == 0:
        return rows, []
    if len(rows) < 2:
        raise BadInputError(
            f"{len(rows)} training row is too few to split into train and validation",
            hint="add items, or build without a validation split: --validation-share 0",
        )
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    count = min(max(1, round(len(rows) * share)), len(rows) - 1)
    held = set(order[:count])
    train = [row for index, row in enumerate(rows) if index not in held]
    return train, [row for index, row in enumerate(rows) if index in held]


def _filters(tally: _Tally) -> list[str]:
    notes = []
    if tally.without_reference:
        notes.append(f"{tally.without_reference} items without a reference answer left out")
    if tally.duplicates:
        notes.append(f"{tally.duplicates} duplicate conversations removed")
    if tally.pii_rows:
        notes.append(f"{tally.pii_rows} rows with personal data redacted")
    return notes
