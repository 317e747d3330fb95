"""BatchWriter: rows written in batches on a background thread, off the request path.

A caller `put`s a row and goes on; a daemon thread takes what has queued (up to
`max_batch`, waiting at most `max_delay_s` for more) and writes it in one transaction.
`flush` waits until everything queued so far is written; `close` flushes and stops the
thread, so nothing is lost on a clean shutdown. A batch that fails to write is logged and
counted (`failed`), never raised into the caller's request.

A writer can be `divert`ed to another process that stores rows (the gateway's storer,
`steerwise.traces.storer`): each row is then encoded (`encode`, JSON-ready) and handed over
under the writer's `kind`; only a row the other side cannot take at the moment is queued here.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

from steerwise.store.interface import Store
from steerwise.store.records import Transaction

Item = TypeVar("Item")
MAX_QUEUED = 5_000
"""Rows that may wait; then `put` blocks, so that a writer that falls behind (a stuck store,
or more requests than it can store) slows the callers down instead of filling memory."""
WriteBatch = Callable[[Transaction, Sequence[Item]], object]
_STOP = object()
_LOOKS = 4  # times a writer looks at its queue while it gathers a batch
log = logging.getLogger(__name__)


class Apart(Protocol):
    """Where diverted rows go: another process's storer (`TraceLog` implements it)."""

    def send_apart(self, kind: str, encoded: Callable[[], Any]) -> bool:
        """Hand over one row, `encoded()` (made only when it can be taken); False when it
        cannot be taken now (then it is queued here)."""
        ...

    def wait_apart(self, timeout_s: float) -> bool:
        """Wait until every row handed over so far is stored; False on timeout."""
        ...


class BatchWriter(Generic[Item]):
    """Queues rows and writes them in batches on one background thread (module docstring)."""

    def __init__(
        self,
        store: Store,
        write: WriteBatch[Item],
        *,
        name: str,
        max_batch: int = 256,
        max_delay_s: float = 0.02,
        max_queued: int = MAX_QUEUED,
    ) -> None:
        self._store = store
        self._write = write
        self._name = name
        self._max_batch = max_batch
        self._max_delay_s = max_delay_s
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queued)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.written = 0
        self.failed = 0
        self._apart: tuple[str, Apart] | None = None

    def put(self, item: Item) -> None:
        """Queue one row (or hand it over, when diverted); blocks while `max_queued` rows
        wait (the writer is behind: the store is stuck, or requests come faster than it
        stores them)."""
        apart = self._apart
        if apart is not None and apart[1].send_apart(apart[0], partial(self.encode, item)):
            return
        self._ensure_started()
        self._queue.put(item)

    def divert(self, kind: str, apart: Apart) -> None:
        """From now on hand rows to `apart` as `kind`, encoded (module docstring)."""
        self._apart = (kind, apart)

    def encode(self, item: Item) -> Any:
        """A row as JSON-ready data for `divert`; a writer that can be diverted says how."""
        raise NotImplementedError(f"{self._name} rows cannot be stored apart")

    @property
    def backlog(self) -> int:
        """Rows queued and not yet written."""
        return self._queue.unfinished_tasks

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every row queued (or handed over) so far is written (or failed);
        False on timeout."""
        deadline = time.monotonic() + timeout_s
        if self._apart is not None and not self._apart[1].wait_apart(timeout_s):
            return False
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    def close(self, timeout_s: float = 10.0) -> None:
        """Write what is queued, then stop the thread."""
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(_STOP)
        thread.join(timeout_s)
        if thread.is_alive():
            log.error("%s: rows still unwritten after %.0f s at close", self._name, timeout_s)

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            batch, stop = self._gather(first)
            if batch:
                self._write_batch(batch)
            for _ in range(len(batch) + (1 if stop else 0)):
                self._queue.task_done()
            if stop:
                return

    def _gather(self, first: object) -> tuple[list[Item], bool]:
        """`first` and what else arrives within the delay, up to a batch; and whether to stop.

        The thread sleeps between looks at the queue instead of waiting on it: a waiting
        thread wakes at every row, and each wake takes the GIL from a request thread, which
        then waits to get it back; looking a few times per batch costs a few hand-overs."""
        if first is _STOP:
            return [], True
        batch: list[Item] = [first]  # type: ignore[list-item]
        deadline = time.monotonic() + self._max_delay_s
        while True:
            if self._drain(batch):
                return batch, True
            remaining = deadline - time.monotonic()
            if remaining <= 0 or len(batch) >= self._max_batch:
                return batch, False
            time.sleep(min(remaining, self._max_delay_s / _LOOKS))

    def _drain(self, batch: list[Item]) -> bool:
        """Move what is queued into `batch`, up to a batch; whether the stop mark came."""
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return False
            if item is _STOP:
                return True
            batch.append(item)  # type: ignore[arg-type]
        return False

    def _write_batch(self, batch: list[Item]) -> None:
        try:
            with self._store.write() as tx:
                self._write(tx, batch)
            self.written += len(batch)
        except Exception:  # a failed write must not kill the writer or reach a request
            self.failed += len(batch)
            log.exception("%s: could not write %d rows", self._name, len(batch))


YIELD_EVERY_S = 0.002


def yielding(items: Iterable[Item], *, every_s: float = YIELD_EVERY_S) -> Iterator[Item]:
    """`items` one by one, handing the GIL over after each `every_s` of work: a writer
    thread's batch then delays a request thread by about that much, not by the interpreter's
    switch interval (5 ms) each time the request needs the GIL back. Handing it over after
    every row starved the writer under load (each hand-over waits for a busy thread's switch
    interval), and its queue grew."""
    last = time.perf_counter()
    for item in items:
        yield item
        now = time.perf_counter()
        if now - last >= every_s:
            time.sleep(0)
            last = time.perf_counter()
