"""User feedback on answers: a score in [0, 1] (1: good) and a comment, given on a trace.

Clients send it with the trace id every answer carries (`POST /api/traces/{id}/feedback`,
`steerwise traces feedback ID --up|--down|--score S`, `ws.feedback.add`). The comment is
scrubbed of personal data and secrets before it is stored; each rating is audited. Metrics
count it by when it was given, per deployment (`monitor show`: count, mean, share negative).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from steerwise.audit import AuditLog
from steerwise.core.actors import Actor
from steerwise.core.audit import AuditEntry
from steerwise.core.clock import utc_now
from steerwise.core.errors import BadInputError
from steerwise.core.traces import Trace
from steerwise.guardrails.scrub import scrub
from steerwise.store import Store

MAX_COMMENT = 4000


@dataclass(frozen=True)
class Feedback:
    """One rating of one answer."""

    id: str
    trace_id: str
    created_at: str
    score: float
    comment: str
    actor: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FeedbackLog:
    """Records and reads feedback (module docstring)."""

    def __init__(self, store: Store, *, actor: Actor, trace: Callable[[str], Trace]) -> None:
        self._store = store
        self._actor = actor
        self._trace = trace  # the stored trace by id or prefix (NotFoundError when none)

    def add(self, trace_id: str, score: float, comment: str = "", *, by: str = "") -> Feedback:
        """Rate the answer of a stored trace; `by` names the rater (default: the actor)."""
        if not 0.0 <= score <= 1.0:
            raise BadInputError(
                f"feedback score {score} is outside 0 to 1", hint="1 is good, 0 is bad"
            )
        if len(comment) > MAX_COMMENT:
            raise BadInputError(f"feedback comment is over {MAX_COMMENT} characters")
        trace = self._trace(trace_id)
        actor = by or self._actor.name
        found = Feedback(uuid.uuid4().hex, trace.id, utc_now(), score, scrub(comment), actor)
        release_name = trace.release.rpartition("@")[0] or trace.release
        with self._store.write() as tx:
            tx.feedback.add(
                {
                    **found.to_dict(),
                    "target": trace.target,
                    "release_name": release_name,
                    "release": trace.release,
                }
            )
            entry = AuditEntry("feedback.add", f"trace:{trace.id}", None, {"score": score})
            AuditLog.record(tx, actor, entry)
        return found

    def of_trace(self, trace_id: str) -> list[Feedback]:
        """A stored trace's feedback, oldest first."""
        trace = self._trace(trace_id)
        with self._store.read() as tx:
            rows = tx.feedback.of_trace(trace.id)
        return [
            Feedback(str(i), trace.id, str(at), float(s), str(c), str(a)) for i, at, s, c, a in rows
        ]
