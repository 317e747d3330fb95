"""TraceLog: traces stored off the request path (batched), read back, exported as JSONL.

`record` scrubs a trace's input and output of personal data and secrets (`guardrails.scrub`),
appends it to the process's journal (`steerwise.traces.journal`: one write, so that a killed
process loses no trace) and queues it; a writer thread stores the queue in batches. Each
trace's numbers for metrics (`steerwise.monitor.facts`) are stored with it, in the same
transaction; the spans hold ids, versions, scores, counts and timings, never the text of
retrieved chunks. After each batch is written, the same traces go to the log's sinks
(`TraceSink`, for example OpenTelemetry export), still on the writer thread; a sink that fails
is logged and counted (`export_failed`), never raised. Opening a log stores what the journals
of killed processes hold (`recover`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from steerwise.core.errors import NotFoundError
from steerwise.core.traces import Span, Trace
from steerwise.guardrails.scrub import scrub
from steerwise.monitor.facts import facts_of
from steerwise.monitor.sums import store_facts
from steerwise.store import Store
from steerwise.store.batching import BatchWriter, yielding
from steerwise.store.records import Transaction, dump_record
from steerwise.traces.journal import ROTATE_AFTER, TraceJournal, claimed_orphans, journal_lines
from steerwise.traces.sinks import TraceSink

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Queued:
    """A scrubbed trace waiting for the writer, with its stored form when the request thread
    already made it (for the journal: the same JSON, not made twice)."""

    trace: Trace
    body: dict[str, Any] | None = None
    encoded: str | None = None


def _write(tx: Transaction, rows: Sequence[_Queued]) -> None:
    # scrubbed already (TraceLog.record); the facts metrics sum go in with each trace. Each
    # trace's work is done between hand-overs of the GIL (`yielding`), so that a batch does
    # not hold up a request for the interpreter's whole switch interval.
    bodies, encoded, facts = [], [], []
    for item in yielding(rows):
        bodies.append(item.body or item.trace.to_dict())
        encoded.append(item.encoded)
        facts.append(facts_of(item.trace))
    tx.traces.add_many(bodies, encoded)
    store_facts(tx, facts)


def scrubbed(trace: Trace) -> Trace:
    """`trace` with personal data and secrets in its input and output replaced by
    placeholders (done on the writer thread, off the request path)."""
    found = {k: scrub(v) if isinstance(v, str) else v for k, v in trace.input.items()}
    return replace(trace, input=found, output=scrub(trace.output))


def trace_from_json(body: str) -> Trace:
    """A trace as stored."""
    data = json.loads(body)
    return Trace(
        id=data["id"],
        created_at=data["created_at"],
        target=data["target"],
        release=data["release"],
        release_id=data["release_id"],
        outcome=data["outcome"],
        status=data["status"],
        latency_ms=float(data["latency_ms"]),
        input=dict(data["input"]),
        output=str(data["output"]),
        root=Span.from_dict(data["root"]),
    )


class TraceLog(BatchWriter[_Queued]):
    """Records traces in the store's `traces` table (and its sinks) and reads them back."""

    def __init__(
        self,
        store: Store,
        *,
        sinks: Sequence[TraceSink] = (),
        journal: Path | None = None,
        rotate_after: int = ROTATE_AFTER,
    ) -> None:
        super().__init__(store, _write, name="steerwise-traces")
        self._sinks = tuple(sinks)
        self.export_failed = 0
        self._journal_parent = journal
        self._rotate_after = rotate_after
        self._journal: TraceJournal | None = None
        self._journal_lock = threading.Lock()
        self.recovered = self.recover() if journal is not None else 0

    def record(self, trace: Trace) -> None:
        """Scrub `trace`, journal it and queue it for storage; returns without waiting for
        the store."""
        clean = scrubbed(trace)
        if self._journal_parent is None:
            self.put(_Queued(clean))
            return
        body = clean.to_dict()
        encoded = dump_record(body)
        with self._journal_lock:  # journaled and queued together: see _rotate_when_idle
            if self._journal is None:
                self._journal = TraceJournal(self._journal_parent)
            self._journal.append(encoded.encode())
            self.put(_Queued(clean, body, encoded))

    def recover(self) -> int:
        """Store the traces that killed processes journaled but did not store (those stored
        already are skipped); how many were stored. A failure is logged, and the journals
        are left for the next try."""
        if self._journal_parent is None:
            return 0
        try:
            with claimed_orphans(self._journal_parent) as folders:
                return sum(self._store_journal(folder) for folder in folders)
        except Exception:
            log.exception("steerwise-traces: could not recover journaled traces")
            return 0

    def _store_journal(self, folder: Path) -> int:
        found: dict[str, _Queued] = {}
        for line in journal_lines(folder):
            try:
                trace = trace_from_json(line.decode())
            except (ValueError, KeyError, TypeError):  # a line cut short by the kill
                continue
            found[trace.id] = _Queued(trace)
        with self._store.write() as tx:
            stored = set(tx.traces.existing(list(found)))
            missing = [item for trace_id, item in found.items() if trace_id not in stored]
            if missing:
                _write(tx, missing)
        return len(missing)

    def add_sink(self, sink: TraceSink) -> None:
        """Hand every trace written from now on to `sink` as well; `close` closes it."""
        self._sinks = (*self._sinks, sink)

    def close(self, timeout_s: float = 10.0) -> None:
        """Write what is queued, stop the thread, close the journal (deleted when everything
        was stored), then close the sinks."""
        super().close(timeout_s)
        with self._journal_lock:
            if self._journal is not None:
                self._journal.close(everything_stored=self.failed == 0 and not self.backlog)
                self._journal = None
        for sink in self._sinks:
            try:
                sink.close()
            except Exception:  # one sink must not keep the others (or the store) open
                log.exception("steerwise-traces: could not close the sink %r", sink)

    def _write_batch(self, batch: list[_Queued]) -> None:
        """Write (the traces were scrubbed by `record`), then hand them to each sink."""
        super()._write_batch(batch)
        self._rotate_when_idle()
        traces = [item.trace for item in batch] if self._sinks else []
        for sink in self._sinks:
            try:
                sink.export(traces)
            except Exception:  # export is best effort: never the store's or a request's failure
                self.export_failed += len(batch)
                log.exception("steerwise-traces: the sink %r failed on %d traces", sink, len(batch))

    def _rotate_when_idle(self) -> None:
        """Drop the journal's stored lines once it holds `rotate_after`: when nothing waits
        in the queue, every line journaled is stored. Never after a failed batch (its traces
        live only in the journal until the next start stores them), and never waiting for a
        `record` in progress (one blocked on a full queue would wait for this thread). Only
        the switch to a new segment holds the lock that `record` takes; the old segments
        are deleted after."""
        journal = self._journal
        if journal is None or journal.unrotated < self._rotate_after:
            return
        if self.failed or self._queue.qsize() or not self._journal_lock.acquire(blocking=False):
            return
        try:
            rotated = self._journal is journal and not self._queue.qsize()
            if rotated:
                journal.rotate()
        finally:
            self._journal_lock.release()
        if rotated:
            journal.delete_rotated()

    def items(
        self,
        *,
        target: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 50,
    ) -> list[Trace]:
        """Newest first (after writing what is queued), from `since` on, before `until`."""
        self.flush()
        with self._store.read() as tx:
            rows = tx.traces.items(target=target, since=since, until=until, limit=limit)
        return [trace_from_json(str(body)) for (body,) in rows]

    def texts(self, target: str, since: str, until: str, limit: int) -> list[tuple[str, str]]:
        """(input, output) of the newest `limit` requests of `target` in a window, as stored
        (redacted); the input is the request's variables' text, one after another."""
        found = self.items(target=target, since=since, until=until, limit=limit)
        return [(_input_text(trace), trace.output) for trace in found]

    def texts_of(self, trace_ids: Sequence[str]) -> list[tuple[str, str]]:
        """(input, output) of the given stored traces, in their order (missing ones left out)."""
        self.flush()
        with self._store.read() as tx:
            found = {t.id: t for t in map(trace_from_json, tx.traces.many(list(trace_ids)))}
        return [(_input_text(found[i]), found[i].output) for i in trace_ids if i in found]

    def get(self, trace_id: str) -> Trace:
        """One trace by id or unique prefix."""
        self.flush()
        with self._store.read() as tx:
            body = tx.traces.get(trace_id)
        if body is None:
            raise NotFoundError(
                f"no single trace has id {trace_id!r}", hint="see: steerwise traces list"
            )
        return trace_from_json(body)

    def export(self, *, target: str | None = None, since: str | None = None) -> Iterator[str]:
        """One JSON line per trace, oldest first."""
        for trace in reversed(self.items(target=target, since=since, limit=10_000_000)):
            yield json.dumps(trace.to_dict(), ensure_ascii=False, sort_keys=True)


def _input_text(trace: Trace) -> str:
    return "\n".join(str(value) for value in trace.input.values() if isinstance(value, str))
