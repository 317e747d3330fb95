"""The hash chain: a canonical encoding of each event, and the checks that verify it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from steerwise.core.audit import GENESIS_HASH, AuditEvent, VerifyReport


def canonical_bytes(
    *,
    seq: int,
    ts: str,
    actor: str,
    action: str,
    target: str,
    before: Any,
    after: Any,
    prev_hash: str,
) -> bytes:
    """The bytes an event's hash covers: sorted-key compact JSON of every field but the hash."""
    document = {
        "seq": seq,
        "ts": ts,
        "actor": actor,
        "action": action,
        "target": target,
        "before": before,
        "after": after,
        "prev_hash": prev_hash,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(**fields: Any) -> str:
    """SHA-256 (hex) of an event's canonical bytes."""
    return hashlib.sha256(canonical_bytes(**fields)).hexdigest()


def hash_of(event: AuditEvent) -> str:
    """Recompute the hash a stored event should carry."""
    return event_hash(
        seq=event.seq,
        ts=event.ts,
        actor=event.actor,
        action=event.action,
        target=event.target,
        before=event.before,
        after=event.after,
        prev_hash=event.prev_hash,
    )


class ChainVerifier:
    """Walks events in stored order and stops at the first one that breaks the chain."""

    def __init__(self) -> None:
        self.count = 0
        self.head_hash = GENESIS_HASH
        self.seen: set[str] = set()
        self.failure: tuple[int, str] | None = None

    def feed(self, events: Iterable[AuditEvent]) -> bool:
        """Check a batch; return False once a failure is found."""
        for event in events:
            problem = self._problem(event)
            if problem is not None:
                self.failure = (event.seq, problem)
                return False
            self.count += 1
            self.head_hash = event.hash
            self.seen.add(event.hash)
        return True

    def _problem(self, event: AuditEvent) -> str | None:
        expected_seq = self.count + 1
        if event.seq != expected_seq:
            return (
                f"event {event.seq} stands where event {expected_seq} should"
                " (an event was deleted or inserted)"
            )
        if event.prev_hash != self.head_hash:
            return (
                f"event {event.seq} does not link to the event before it"
                " (an event was deleted, inserted or reordered)"
            )
        if hash_of(event) != event.hash:
            return f"event {event.seq} does not match its hash (its content was edited)"
        return None

    def report(self, *, expected_head: str | None) -> VerifyReport:
        """The verdict, also checking a head hash kept elsewhere when one is given."""
        if self.failure is not None:
            seq, problem = self.failure
            return VerifyReport(False, self.count, self.head_hash, seq, problem)
        if expected_head is not None and expected_head not in self.seen:
            return VerifyReport(
                False,
                self.count,
                self.head_hash,
                None,
                f"the head {expected_head[:16]}... kept elsewhere is not in the log"
                " (the log was cut short or rewritten)",
            )
        return VerifyReport(True, self.count, self.head_hash)
