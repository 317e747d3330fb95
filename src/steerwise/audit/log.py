"""AuditLog: append events in the caller's transaction, list them, and verify the chain."""

from __future__ import annotations

from steerwise.audit.chain import ChainVerifier, event_hash
from steerwise.core.audit import GENESIS_HASH, AuditEntry, AuditEvent, AuditHead, VerifyReport
from steerwise.core.clock import utc_now
from steerwise.store import Store, Transaction

VERIFY_BATCH = 1000


class AuditLog:
    """The workspace's append-only, hash-chained record of every change of state."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @staticmethod
    def record(tx: Transaction, actor: str, entry: AuditEntry) -> AuditEvent:
        """Append one event inside `tx`, the write transaction that makes the change."""
        last = tx.audit.last()
        seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
        fields = {
            "seq": seq,
            "ts": utc_now(),
            "actor": actor,
            "action": entry.action,
            "target": entry.target,
            "before": entry.before,
            "after": entry.after,
            "prev_hash": prev_hash,
        }
        event = AuditEvent(**fields, hash=event_hash(**fields))
        tx.audit.insert(event)
        return event

    def events(self, *, limit: int = 100, after_seq: int | None = None) -> list[AuditEvent]:
        """The newest `limit` events, or those after `after_seq`, oldest first."""
        with self._store.read() as tx:
            if after_seq is None:
                return tx.audit.newest(limit)
            return tx.audit.page(after_seq=after_seq, limit=limit)

    def head(self) -> AuditHead:
        """The count of events and the latest hash."""
        with self._store.read() as tx:
            last = tx.audit.last()
            return AuditHead(count=tx.audit.count(), hash=last[1] if last else GENESIS_HASH)

    def verify(self, *, expected_head: str | None = None) -> VerifyReport:
        """Recompute every hash and link; name the first event that fails."""
        verifier = ChainVerifier()
        with self._store.read() as tx:
            after = 0
            while True:
                batch = tx.audit.page(after_seq=after, limit=VERIFY_BATCH)
                if not batch or not verifier.feed(batch):
                    break
                after = batch[-1].seq
        return verifier.report(expected_head=expected_head)
