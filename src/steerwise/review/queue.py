"""ReviewQueue: items waiting for a person, in named queues, and the verdicts people give.

Guardrail flags and failed rails arrive in the `guardrails` queue; `review.fill` adds
low-confidence or sampled requests and regressed eval items to any queue. A reviewer (the
acting user or API key) takes the next open item of a queue that they have not judged yet,
and submits a verdict: `approve`, `reject` or `correct` (with the corrected answer), an
optional rubric of integer scores and a note. An item wants `required_reviews` verdicts
(several reviewers, for agreement) and is `done` once it has them. Corrections and notes are
scrubbed of personal data before they are stored; every verdict is audited. `stats` counts
verdicts per queue and reviewer, and reports Cohen's kappa for each pair of reviewers over
the items both judged.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from steerwise.audit import AuditLog
from steerwise.core.actors import Actor
from steerwise.core.audit import AuditEntry
from steerwise.core.clock import utc_now
from steerwise.core.errors import BadInputError, ConflictError, NotFoundError
from steerwise.core.evals import DatasetItem
from steerwise.core.traces import Trace
from steerwise.guardrails.scrub import scrub
from steerwise.review.agreement import cohen_kappa
from steerwise.review.fill import TraceRule, from_traces
from steerwise.store import Store
from steerwise.store.records import ReviewRow

VERDICTS = ("approve", "reject", "correct")


@dataclass(frozen=True)
class ReviewItem:
    """One queued item; `payload` holds what there is to judge (scrubbed)."""

    id: int
    created_at: str
    origin: str
    subject: str
    reason: str
    status: str
    payload: dict[str, Any]
    queue: str = "guardrails"
    required_reviews: int = 1


@dataclass(frozen=True)
class Verdict:
    """One reviewer's judgement of one item."""

    item_id: int
    reviewer: str
    verdict: str
    correction: str | None
    rubric: dict[str, int]
    note: str
    created_at: str


@dataclass(frozen=True)
class QueueSummary:
    """How many items of a queue are open and done."""

    queue: str
    open: int
    done: int


@dataclass(frozen=True)
class Agreement:
    """Two reviewers over the items both judged."""

    first: str
    second: str
    items: int
    kappa: float | None


@dataclass(frozen=True)
class ReviewStats:
    """Verdict counts per reviewer and the pairwise agreement of reviewers."""

    queue: str | None
    verdicts: dict[str, int]
    by_reviewer: dict[str, dict[str, int]]
    agreement: list[Agreement]


class ReviewQueue:
    """The review queues of one workspace (module docstring); `pending` writes what is queued
    for them (the guardrails' flags) before each read."""

    def __init__(
        self, store: Store, *, actor: Actor, pending: Callable[[], object] | None = None
    ) -> None:
        self._store = store
        self._actor = actor
        self._pending = pending

    def items(
        self, *, status: str | None = "open", limit: int = 50, queue: str | None = None
    ) -> list[ReviewItem]:
        """Newest first; `status` None for every status."""
        self._flush()
        with self._store.read() as tx:
            rows = tx.reviews.items(status=status, limit=limit, queue=queue)
        return [_item(row) for row in rows]

    def get(self, item_id: int) -> ReviewItem:
        """One item by id."""
        self._flush()
        with self._store.read() as tx:
            row = tx.reviews.get(item_id)
        if row is None:
            raise NotFoundError(f"no review item {item_id}", hint="see: steerwise review list")
        return _item(row)

    def queues(self) -> list[QueueSummary]:
        """Every queue with its open and done counts."""
        self._flush()
        counts: dict[str, Counter[str]] = {}
        with self._store.read() as tx:
            for queue, status, count in tx.reviews.queues():
                counts.setdefault(str(queue), Counter())[str(status)] += int(count)
        return [QueueSummary(name, c["open"], c["done"]) for name, c in counts.items()]

    def next(self, queue: str) -> ReviewItem | None:
        """The oldest open item of `queue` the acting reviewer has not judged (None: none)."""
        self._flush()
        with self._store.read() as tx:
            row = tx.reviews.next_for(queue, self._actor.name)
        return _item(row) if row else None

    def fill_from_traces(self, traces: Iterable[Trace], *, queue: str, rule: TraceRule) -> int:
        """Queue the requests `rule` selects (`review.fill.from_traces`), each trace once
        per queue; how many were queued."""
        rule.check()
        present = self.items(status=None, limit=1_000_000, queue=queue)
        queued = {str(item.payload.get("trace_id")) for item in present}
        return self.enqueue(from_traces(traces, queue=queue, rule=rule, already=queued))

    def enqueue(self, rows: Sequence[ReviewRow]) -> int:
        """Queue `rows` (their payloads scrubbed already); how many were queued."""
        if rows:
            with self._store.write() as tx:
                tx.reviews.add_many(rows)
        return len(rows)

    def submit(
        self,
        item_id: int,
        verdict: str,
        *,
        correction: str | None = None,
        rubric: Mapping[str, int] | None = None,
        note: str = "",
    ) -> Verdict:
        """Record the acting reviewer's verdict on an open item (audited); the item is done
        once it has its required number of verdicts."""
        _check_verdict(verdict, correction, rubric or {})
        item = self.get(item_id)
        if item.status != "open":
            raise ConflictError(f"review item {item_id} is {item.status}, not open")
        found = Verdict(
            item_id,
            self._actor.name,
            verdict,
            scrub(correction) if correction is not None else None,
            dict(rubric or {}),
            scrub(note),
            utc_now(),
        )
        with self._store.write() as tx:
            earlier = tx.reviews.verdicts(item_id=item_id)
            if any(row[1] == found.reviewer for row in earlier):
                raise ConflictError(f"{found.reviewer} has already judged review item {item_id}")
            tx.reviews.add_verdict(vars(found) | {"at": found.created_at})
            given = len(earlier) + 1
            if given >= item.required_reviews:
                tx.reviews.set_status(item_id, "done")
            after = {"verdict": verdict, "corrected": correction is not None, "verdicts": given}
            entry = AuditEntry("review.submit", f"review:{item_id}", None, after)
            AuditLog.record(tx, self._actor.name, entry)
        return found

    def verdicts(self, *, item_id: int | None = None, queue: str | None = None) -> list[Verdict]:
        """Verdicts, oldest first (of one item or queue, if given)."""
        with self._store.read() as tx:
            rows = tx.reviews.verdicts(item_id=item_id, queue=queue)
        return [
            Verdict(
                int(i), str(r), str(v), None if c is None else str(c), json.loads(s), str(n), str(a)
            )
            for i, r, v, c, s, n, a in rows
        ]

    def stats(self, *, queue: str | None = None) -> ReviewStats:
        """Verdict counts and pairwise Cohen's kappa (module docstring)."""
        given = self.verdicts(queue=queue)
        by_reviewer: dict[str, Counter[str]] = {}
        judged: dict[str, dict[int, str]] = {}
        for verdict in given:
            by_reviewer.setdefault(verdict.reviewer, Counter())[verdict.verdict] += 1
            judged.setdefault(verdict.reviewer, {})[verdict.item_id] = verdict.verdict
        pairs = []
        for first, second in combinations(sorted(judged), 2):
            shared = sorted(set(judged[first]) & set(judged[second]))
            labels = [(judged[first][i], judged[second][i]) for i in shared]
            kappa = cohen_kappa([a for a, _ in labels], [b for _, b in labels]) if labels else None
            pairs.append(Agreement(first, second, len(shared), kappa))
        totals = Counter(verdict.verdict for verdict in given)
        return ReviewStats(
            queue, dict(totals), {name: dict(c) for name, c in by_reviewer.items()}, pairs
        )

    def dataset_items(self, *, queue: str | None = None) -> list[DatasetItem]:
        """What reviewers settled, as dataset items (origin `review`): for each done item
        that carries the request's variables, the latest correction as the reference, else
        its answer when most verdicts approve it; rejected answers without a correction are
        left out."""
        verdicts: dict[int, list[Verdict]] = {}
        for verdict in self.verdicts(queue=queue):
            verdicts.setdefault(verdict.item_id, []).append(verdict)
        found = []
        for item in self.items(status="done", limit=1_000_000, queue=queue):
            reference = _settled(item, verdicts.get(item.id, []))
            if reference is None or not isinstance(item.payload.get("variables"), dict):
                continue
            found.append(
                DatasetItem(
                    id=f"review-{item.id}",
                    variables=item.payload["variables"],
                    reference=reference,
                    tags=[item.queue, item.origin],
                    origin="review",
                    origin_ref=str(item.id),
                )
            )
        return sorted(found, key=lambda entry: int(entry.origin_ref))

    def _flush(self) -> None:
        if self._pending is not None:
            self._pending()


def _check_verdict(verdict: str, correction: str | None, rubric: Mapping[str, int]) -> None:
    if verdict not in VERDICTS:
        raise BadInputError(
            f"unknown verdict {verdict!r}", hint=f"use one of: {', '.join(VERDICTS)}"
        )
    if (verdict == "correct") != (correction is not None and bool(correction.strip())):
        raise BadInputError("a correction goes with the verdict 'correct', and only with it")
    for name, value in rubric.items():
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10:
            raise BadInputError(f"rubric score {name}={value!r} is not an integer 0 to 10")


def _settled(item: ReviewItem, verdicts: Sequence[Verdict]) -> str | None:
    corrections = [v.correction for v in verdicts if v.verdict == "correct" and v.correction]
    if corrections:
        return corrections[-1]
    approvals = sum(1 for verdict in verdicts if verdict.verdict == "approve")
    answer = item.payload.get("output")
    return answer if approvals * 2 > len(verdicts) and isinstance(answer, str) else None


def _verdict(row: Any) -> Verdict:
    item_id, reviewer, verdict, correction, rubric, note, at = row
    found = None if correction is None else str(correction)
    return Verdict(
        int(item_id), str(reviewer), str(verdict), found, json.loads(rubric), str(note), str(at)
    )


def _item(row: Any) -> ReviewItem:
    item_id, at, origin, subject, reason, payload, state, queue, required = row
    return ReviewItem(
        id=int(item_id),
        created_at=str(at),
        origin=str(origin),
        subject=str(subject),
        reason=str(reason),
        status=str(state),
        payload=json.loads(payload),
        queue=str(queue),
        required_reviews=int(required),
    )
