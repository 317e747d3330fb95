"""TraceLog: traces stored off the request path (batched), read back, exported as JSONL.

`record` scrubs a trace's input and output of personal data and secrets (`guardrails.scrub`),
appends it to the process's journal (`steerwise.traces.journal`: one write, so that a killed
process loses no trace) and queues it; a writer thread stores the queue in batches. Each
trace's numbers for metrics (`steerwise.monitor.facts`) are stored with it, in the same
transaction; the spans hold ids, versions, scores, counts and timings, never the text of
retrieved chunks. After each batch is written, the same traces go to the log's sinks
(`TraceSink`, for example OpenTelemetry export), still on the writer thread; a sink that fails
is logged and counted (`export_failed`), never raised. Opening a log stores what the journals
of killed processes hold (`recover`). A gateway stores its traces in a second process instead,
at idle priority (`store_apart`, `steerwise.traces.storer`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
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
from steerwise.traces.storer import STARVED_AFTER_S, TraceStorer

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


RowWriter = Callable[[Transaction, Sequence[Any]], None]
"""Stores rows of one kind that other writers handed to the storer (`send_apart`)."""


def store_journaled(
    store: Store,
    sinks: Sequence[TraceSink],
    lines: Sequence[bytes],
    writers: Mapping[str, RowWriter] | None = None,
) -> bool:
    """Store journal lines (scrubbed traces' JSON) in one transaction with their facts, and
    the rows of other kinds among them (`KIND {json}`, from `send_apart`) with `writers`,
    then hand the traces to `sinks`; False when the transaction failed (logged). The storer
    process's work (`steerwise.traces.storer`)."""
    items: list[_Queued] = []
    others: dict[str, list[Any]] = {}
    for line in lines:
        if line.startswith(b"{"):
            item = _journaled(line)
            if item is not None:
                items.append(item)
        elif (tagged := _tagged(line)) is not None:
            others.setdefault(tagged[0], []).append(tagged[1])
    try:
        with store.write() as tx:
            written = _write_missing(tx, items)
            _write_others(tx, others, writers or {})
    except Exception:
        log.exception("steerwise-traces: could not store %d lines", len(lines))
        return False
    export(sinks, [item.trace for item in written])
    return True


def _tagged(line: bytes) -> tuple[str, Any] | None:
    """`KIND {json}` as (kind, data); None (logged) for a line that is not."""
    kind, _, payload = line.partition(b" ")
    try:
        return kind.decode("ascii"), json.loads(payload)
    except ValueError:
        log.error("steerwise-traces: skipped a line that is neither a trace nor a row")
        return None


def _write_others(
    tx: Transaction, rows: dict[str, list[Any]], writers: Mapping[str, RowWriter]
) -> None:
    for kind, payloads in rows.items():
        writer = writers.get(kind)
        if writer is None:
            log.error("steerwise-traces: no writer for %d rows of kind %r", len(payloads), kind)
        else:
            writer(tx, payloads)


def _write_missing(tx: Transaction, items: Sequence[_Queued]) -> list[_Queued]:
    """Write the traces the store does not hold yet (a restarted gateway's recovery may
    have stored some of a killed one's journal first); those written."""
    stored = set(tx.traces.existing([item.trace.id for item in items]))
    missing = [item for item in items if item.trace.id not in stored]
    if missing:
        _write(tx, missing)
    return missing


def export(sinks: Sequence[TraceSink], traces: Sequence[Trace]) -> int:
    """Hand stored traces to each sink; how many exports failed (logged, never raised:
    export is best effort, never the store's or a request's failure)."""
    failed = 0
    for sink in sinks if traces else ():
        try:
            sink.export(traces)
        except Exception:
            failed += len(traces)
            log.exception("steerwise-traces: the sink %r failed on %d traces", sink, len(traces))
    return failed


def _journaled(line: bytes) -> _Queued | None:
    """A journal line as a queued trace, or None for a line cut short by a kill."""
    try:
        data = json.loads(line)
        return _Queued(trace_from_dict(data), data, line.decode())
    except (ValueError, KeyError, TypeError):
        return None


def trace_from_json(body: str) -> Trace:
    """A trace as stored."""
    return trace_from_dict(json.loads(body))


def trace_from_dict(data: dict[str, Any]) -> Trace:
    """A trace from its stored JSON, parsed."""
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
        super().__init__(store, _write_missing, name="steerwise-traces")
        self._sinks = tuple(sinks)
        self.export_failed = 0
        self._journal_parent = journal
        self._rotate_after = rotate_after
        self._journal: TraceJournal | None = None
        self._journal_lock = threading.Lock()
        self._storer: TraceStorer | None = None
        self._watching = threading.Event()
        self.recovered = self.recover() if journal is not None else 0

    def record(self, trace: Trace) -> None:
        """Scrub `trace`, journal it and queue it for storage (or send it to the storer
        process); returns without waiting for the store."""
        clean = scrubbed(trace)
        if self._journal_parent is None:
            self.put(_Queued(clean))
            return
        body = clean.to_dict()
        encoded = dump_record(body)
        line = encoded.encode()
        with self._journal_lock:  # journaled and queued together: see _rotate_when_idle
            if self._journal is None:
                self._journal = TraceJournal(self._journal_parent)
            self._journal.append(line)
            if self._storer is None or not self._send(self._storer, line):
                self.put(_Queued(clean, body, encoded))

    def store_apart(self, root: Path, store_url: str) -> None:
        """From now on, store traces in a storer process at idle priority (`traces.storer`:
        the serving process then does no storing of its own) that sends them to the sinks
        `[tracing]` configures in `root`'s settings; this log's own sinks are closed. Needs
        the journal, which stays the hand-over that a killed process cannot lose."""
        if self._journal_parent is None:
            raise ValueError("storing traces apart needs the journal")
        self.flush()
        with self._journal_lock:
            try:
                self._storer = TraceStorer(
                    root,
                    store_url,
                    on_acknowledged=self._rotate_when_idle,
                    on_gone=self._storer_gone,
                )
            except OSError:  # no process to start: the writer thread goes on
                log.exception("steerwise-traces: could not start the storer process")
                return
        self._close_sinks()
        watch = threading.Thread(
            target=self._watch, args=(self._storer,), name="steerwise-traces-watch", daemon=True
        )
        watch.start()

    def _watch(self, storer: TraceStorer) -> None:
        """While `storer` serves this log: when it starves (it holds traces and has not
        answered for `STARVED_AFTER_S`, because other processes keep every core busy), store
        what the journal holds and the store lacks here, at the gateway's own priority, so
        that stored traces lag by about that much at most."""
        while not self._watching.wait(STARVED_AFTER_S / 4) and self._storer is storer:
            if storer.starved_for() >= STARVED_AFTER_S:
                self._store_while_starved(storer)

    def _store_while_starved(self, storer: TraceStorer) -> None:
        journal, lines = self._journal, storer.sent  # every line sent is journaled already
        if journal is None:
            return
        try:
            self._store_journal(journal.folder)
        except Exception:  # rotated meanwhile, or the store failed: the next look retries
            log.exception("steerwise-traces: could not store for the starved storer")
            return
        storer.cover(lines)
        self._rotate_when_idle()  # the journal read here must not grow while it starves

    @property
    def storer_pid(self) -> int | None:
        """The storer process's id while one stores this log's traces."""
        storer = self._storer
        return None if storer is None else storer.pid

    @property
    def backlog(self) -> int:
        """Traces recorded and not yet stored (queued, or sent to the storer)."""
        storer = self._storer
        return super().backlog + (0 if storer is None else storer.pending)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every trace recorded so far is stored (or failed); False on timeout."""
        return self.wait_apart(timeout_s) and super().flush(timeout_s)

    def send_apart(self, kind: str, encoded: Callable[[], Any]) -> bool:
        """Hand a row of another kind (a guardrail decision, a flag) to the storer, which
        stores it with the writer its program has for `kind` (`storer.main`); False while no
        storer can take it (none, it starves, its pipe is full, it is gone): then the caller
        stores it itself. Not journaled: a storer killed while it holds such rows loses them."""
        if self._storer is None:  # (checked again under the lock)
            return False
        line = kind.encode("ascii") + b" " + dump_record(encoded()).encode()
        with self._journal_lock:
            storer = self._storer
            if storer is None:
                return False
            try:
                return storer.send(line)
            except OSError:  # gone: its traces are taken back; this row is the caller's
                self._take_back()
                return False

    def wait_apart(self, timeout_s: float) -> bool:
        """Wait until the storer has answered for every line sent so far (or is gone)."""
        storer = self._storer
        return storer is None or storer.wait(timeout_s)

    def _send(self, storer: TraceStorer, line: bytes) -> bool:
        """Hand a journaled line to the storer (the journal lock is held); False when the
        caller is to queue it for the writer thread instead (the storer starves, or its pipe
        is full). When the storer is gone, the journal's unstored lines, this one included,
        are stored here."""
        try:
            return storer.send(line)
        except OSError:
            self._take_back()
            return True

    def _storer_gone(self) -> None:
        """The storer exited: if it was not closed, take its work back."""
        with self._journal_lock:
            self._take_back()

    def _take_back(self) -> None:
        """Back to the writer thread after the storer died (the journal lock is held):
        store what the journal holds and the store does not."""
        storer, self._storer = self._storer, None
        if storer is None or self._journal is None:
            return
        log.error("steerwise-traces: the storer process stopped; storing traces here")
        self.failed += storer.failed
        try:
            self._store_journal(self._journal.folder)
        except Exception:  # the journal keeps them for the next start
            self.failed += storer.pending
            log.exception("steerwise-traces: could not store the journal's traces")

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
        for item in map(_journaled, journal_lines(folder)):
            if item is not None:
                found[item.trace.id] = item
        with self._store.write() as tx:
            return len(_write_missing(tx, list(found.values())))

    def add_sink(self, sink: TraceSink) -> None:
        """Hand every trace written from now on to `sink` as well; `close` closes it. Not
        for a log that stores apart: its storer exports to the sinks `[tracing]` names."""
        if self._storer is not None:
            raise ValueError("traces are stored apart: their storer exports what [tracing] says")
        self._sinks = (*self._sinks, sink)

    def close(self, timeout_s: float = 10.0) -> None:
        """Write what is queued (the storer stores what it was sent and stops), stop the
        thread, close the journal (deleted when everything was stored), then the sinks."""
        with self._journal_lock:
            storer, self._storer = self._storer, None
        self._watching.set()
        unstored = 0
        if storer is not None:
            if not storer.finish(timeout_s):  # it gets no core: what it holds is stored here
                self._store_while_starved(storer)
            storer.close(timeout_s)
            self.failed += storer.failed
            unstored = storer.pending
        super().close(timeout_s)
        with self._journal_lock:
            if self._journal is not None:
                stored = self.failed == 0 and not unstored and not self.backlog
                self._journal.close(everything_stored=stored)
                self._journal = None
        self._close_sinks()

    def _close_sinks(self) -> None:
        sinks, self._sinks = self._sinks, ()
        for sink in sinks:
            try:
                sink.close()
            except Exception:  # one sink must not keep the others (or the store) open
                log.exception("steerwise-traces: could not close the sink %r", sink)

    def _write_batch(self, batch: list[_Queued]) -> None:
        """Write (the traces were scrubbed by `record`), then hand them to each sink."""
        super()._write_batch(batch)
        self._rotate_when_idle()
        traces = [item.trace for item in batch] if self._sinks else []
        self.export_failed += export(self._sinks, traces)

    def _rotate_when_idle(self) -> None:
        """Drop the journal's stored lines once it holds `rotate_after`: when nothing waits
        to be stored, every line journaled is stored. Never after a failed batch (its traces
        live only in the journal until the next start stores them), and never waiting for a
        `record` in progress (one blocked on a full queue would wait for this thread). Only
        the switch to a new segment holds the lock that `record` takes; the old segments
        are deleted after."""
        journal = self._journal
        if journal is None or journal.unrotated < self._rotate_after:
            return
        if self._failures() or self._waiting() or not self._journal_lock.acquire(blocking=False):
            return
        try:
            rotated = self._journal is journal and not self._waiting()
            if rotated:
                journal.rotate()
        finally:
            self._journal_lock.release()
        if rotated:
            journal.delete_rotated()

    def _failures(self) -> int:
        storer = self._storer
        return self.failed + (0 if storer is None else storer.failed)

    def _waiting(self) -> int:
        """Traces neither stored nor being stored by the writer thread's current batch."""
        storer = self._storer
        return self._queue.qsize() + (0 if storer is None else storer.pending)

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
