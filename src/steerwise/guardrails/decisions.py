"""DecisionLog: every guardrail decision stored with its reason, written off the request path.

A stored decision holds the policy version, direction, outcome, reason code, message, and
each rail's findings (types, spans, scores, reasons: never the checked text, which may hold
the very data a rail redacts). Rows are written in batches by a background thread
(`BatchWriter`); `close` writes whatever is queued. A gateway hands them to its storer
process instead (`divert`; the storer stores them with `store_encoded`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from steerwise.core.clock import utc_now
from steerwise.core.guardrails import Decision
from steerwise.guardrails.policy import describe
from steerwise.store import Store
from steerwise.store.batching import BatchWriter, yielding
from steerwise.store.records import DecisionRow, EncodedJson, Transaction, dump_record


@dataclass(frozen=True)
class StoredDecision:
    """One decision as read back."""

    id: int
    created_at: str
    policy: str
    direction: str
    outcome: str
    reason_code: str
    elapsed_us: float
    decision: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "created_at": self.created_at,
            "policy": self.policy,
            "direction": self.direction,
            "outcome": self.outcome,
            "reason_code": self.reason_code,
            "elapsed_us": round(self.elapsed_us, 1),
            "message": self.decision.get("message", ""),
            "rails": self.decision.get("rails", []),
        }


def decision_row(decision: Decision, at: str) -> DecisionRow:
    """What is stored of `decision`: no text, no placeholder values."""
    return DecisionRow(
        created_at=at,
        policy=decision.policy,
        direction=decision.direction,
        outcome=decision.outcome,
        reason_code=decision.reason_code,
        elapsed_us=sum(rail.elapsed_us for rail in decision.rails),
        decision=describe(decision),
    )


def _write(tx: Transaction, queued: Sequence[tuple[str, Decision]]) -> None:
    tx.decisions.add_many([decision_row(decision, at) for at, decision in yielding(queued)])


def store_encoded(tx: Transaction, payloads: Sequence[dict[str, Any]]) -> None:
    """Store decisions encoded by `DecisionLog.encode` (the storer process's side; the
    decision's JSON goes in as it came)."""
    rows = [DecisionRow(**{**p, "decision": EncodedJson(p["decision"])}) for p in payloads]
    tx.decisions.add_many(rows)


class DecisionLog(BatchWriter[tuple[str, Decision]]):
    """Records decisions in the store's `guard_decisions` and reads them back.

    A decision is queued with its time; turning it into a row happens on the writer thread.
    """

    def __init__(self, store: Store) -> None:
        super().__init__(store, _write, name="steerwise-guard-decisions")

    def record(self, decision: Decision) -> None:
        """Queue `decision` for storage; returns at once."""
        self.put((utc_now(), decision))

    def encode(self, item: tuple[str, Decision]) -> dict[str, Any]:
        """The stored row of a queued decision, as JSON-ready data (the decision as the JSON
        text it is stored as)."""
        row = decision_row(item[1], item[0])
        encoded = {field.name: getattr(row, field.name) for field in dataclasses.fields(row)}
        return {**encoded, "decision": dump_record(row.decision)}

    def items(
        self, *, policy: str | None = None, outcome: str | None = None, limit: int = 50
    ) -> list[StoredDecision]:
        """Newest first, after writing what is queued; `policy` a name covers every version."""
        self.flush()
        with self._store.read() as tx:
            rows = tx.decisions.items(policy=policy, outcome=outcome, limit=limit)
        return [
            StoredDecision(
                int(row_id),
                str(at),
                str(ref),
                str(direction),
                str(state),
                str(code),
                float(elapsed),
                json.loads(body),
            )
            for row_id, at, ref, direction, state, code, elapsed, body in rows
        ]
