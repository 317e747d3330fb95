"""FlagLog: what a rail flagged (or a rail that failed), queued for human review off the
request path.

A flag is put with its time and written in batches by a background thread (`BatchWriter`)
as a review item: origin `guardrail.flag` (or `guardrail.rail_error`), the policy version,
the reason `direction.rail.finding-type`, and a payload with the decision, the rail's result
and the checked text scrubbed of personal data and secrets. `close` writes whatever is
queued; a reader of the review queue flushes first, so it sees every flag made before. A
gateway hands flags to its storer process instead (`divert`), with the text not yet scrubbed:
the storer scrubs it before storing (`store_encoded`), as the writer thread does here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from steerwise.core.clock import utc_now
from steerwise.core.guardrails import Decision, RailResult
from steerwise.guardrails.policy import describe
from steerwise.guardrails.scrub import scrub
from steerwise.store import Store
from steerwise.store.batching import BatchWriter, yielding
from steerwise.store.records import EncodedJson, ReviewRow, Transaction, dump_record


@dataclass(frozen=True)
class _Flag:
    at: str
    kind: str
    decision: Decision
    rail: RailResult
    text: str


class FlagLog(BatchWriter[_Flag]):
    """Queues flagged checks for review (module docstring)."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, _write, name="steerwise-guard-flags")

    def record(self, kind: str, decision: Decision, rail: RailResult, text: str) -> None:
        """Queue one flag (`kind`: `flag` or `rail_error`); returns at once."""
        self.put(_Flag(utc_now(), kind, decision, rail, text))

    def encode(self, item: _Flag) -> dict[str, Any]:
        """A queued flag as JSON-ready data (its text still to be scrubbed)."""
        return _encoded(item)


def _write(tx: Transaction, queued: Sequence[_Flag]) -> None:
    tx.reviews.add_many([_row(_encoded(flag)) for flag in yielding(queued)])


def store_encoded(tx: Transaction, payloads: Sequence[dict[str, Any]]) -> None:
    """Store flags encoded by `FlagLog.encode` (the storer process's side)."""
    tx.reviews.add_many([_row(payload) for payload in payloads])


def _encoded(flag: _Flag) -> dict[str, Any]:
    """A flag as JSON-ready data: what its review item is made of (the text unscrubbed; the
    decision and the rail's result as JSON text, put into the item's payload as they are)."""
    return {
        "at": flag.at,
        "kind": flag.kind,
        "policy": flag.decision.policy,
        "reason": _reason(flag.decision, flag.rail),
        "decision": dump_record(describe(flag.decision)),
        "rail": dump_record(flag.rail.to_dict()),
        "text": flag.text,
    }


def _row(flag: dict[str, Any]) -> ReviewRow:
    """The review item of an encoded flag, its text scrubbed of personal data and secrets:
    payload `{"decision", "rail", "text"}`, made from the parts' JSON text."""
    text = dump_record(scrub(flag["text"]))
    payload = f'{{"decision":{flag["decision"]},"rail":{flag["rail"]},"text":{text}}}'
    origin = f"guardrail.{flag['kind']}"
    return ReviewRow(flag["at"], origin, flag["policy"], flag["reason"], EncodedJson(payload))


def _reason(decision: Decision, rail: RailResult) -> str:
    """`direction.rail.finding-type` of the rail's first finding, or its `rail_error`."""
    what = rail.findings[0].type if rail.findings else "rail_error"
    return f"{decision.direction}.{rail.rail}.{what}"
