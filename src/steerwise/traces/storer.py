"""The trace storer: a second process that stores a gateway's traces, at idle priority.

On a machine with few cores, a trace writer inside the serving process takes CPU in bursts
(a batch of traces every few tens of milliseconds) just when a request needs it: measured on
two cores, it tripled the gateway's 99th-percentile latency. A thread cannot be kept out of
the way (at low priority it is descheduled while it holds the interpreter's lock, and the
requests wait for that instead), but a process can: this one runs at the kernel's idle
priority (`SCHED_IDLE`, else nice 19) and gets a core only when nothing else wants it.

The serving process (`TraceLog.store_apart`) starts it and, after journaling each scrubbed
trace, writes the same JSON line to its standard input (a pipe). The storer gathers lines
into batches (up to `MAX_BATCH`, for at most `GATHER_S`), stores each in one transaction with
its facts (`traces.log.store_journaled`), hands the batch to the sinks `[tracing]`
configures, and answers `stored N` or `failed N` on its standard output. When its input
closes it stores what is left and exits. If it dies, the serving process stores its
journal's unstored lines itself and goes on with its own writer thread; while it starves
(`STARVED_AFTER_S` without an answer) or its pipe is half full, the serving process stores
traces itself instead of waiting for it (`send` returns False, `cover`).

Other writers of a gateway send their rows the same way (`TraceLog.send_apart`, `KIND {json}`
lines): guardrail decisions and flags (`DECISIONS`, `FLAGS`), stored in the same transaction
as the traces they came with. They are not journaled: a storer that is killed loses those it
holds (as a killed gateway loses its writer threads' queues).

The storer's program is `main` (its argument: the workspace's folder; the store's URL comes
in `STEERWISE_DATABASE_URL`).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import select
import signal
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, BinaryIO

from steerwise.core import environment
from steerwise.traces.sinks import TraceSink

MAX_BATCH = 256
GATHER_S = 0.02
PIPE_BYTES = 1 << 20
"""The pipe's capacity asked for (Linux; about 500 traces), so that the storer can fall
behind for a moment without holding up requests."""
READ_BYTES = 1 << 16
"""Bytes asked of the pipe per read: under the allocator's mmap threshold, so that a read
does not map and unmap a buffer of its own."""
STOPPED_AFTER_S = 10.0
STARVED_AFTER_S = 0.5
"""How long the storer may hold traces without answering before the gateway stores them
itself (`TraceLog`), and sends it no more until it answers."""
DECISIONS = "decision"
FLAGS = "flag"
"""The kinds of rows besides traces that the storer stores (`TraceLog.send_apart`): guardrail
decisions and flags, which a gateway makes for most requests."""
_CHILD = "import sys; from steerwise.traces.storer import main; sys.exit(main(sys.argv[1:]))"
log = logging.getLogger(__name__)


class TraceStorer:
    """The serving process's end of a storer process (module docstring).

    `send` is called with the trace log's journal lock held, so lines arrive whole and in
    journal order; `on_acknowledged` runs on the thread that reads the storer's answers after
    each batch, `on_gone` once when the storer exits."""

    def __init__(
        self,
        root: Path,
        store_url: str,
        *,
        on_acknowledged: Callable[[], None],
        on_gone: Callable[[], None],
    ) -> None:
        environ = {**os.environ, environment.DATABASE_URL.name: store_url}
        command = [sys.executable, "-c", _CHILD, str(root)]
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environ
        )
        lower_priority(self._process.pid)
        self._input = self._process.stdin
        self._on_acknowledged = on_acknowledged
        self._on_gone = on_gone
        self._capacity = _grow(self._input)
        self.sent = 0
        self.stored = 0
        self.failed = 0
        self.covered = 0
        """Lines (from the first) that the gateway stored itself while this storer starved."""
        self.alive = True
        self._quiet_since = time.monotonic()
        self._answered = threading.Condition()
        self._reader = threading.Thread(
            target=self._read_answers, name="steerwise-traces-storer", daemon=True
        )
        self._reader.start()

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def pending(self) -> int:
        """Lines sent and neither answered for nor stored by the gateway (`cover`)."""
        return self.sent - max(self.stored + self.failed, self.covered)

    def starved_for(self) -> float:
        """Seconds the storer has held lines without answering for any (0 when it holds
        none): at idle priority it gets no core while other processes keep them all busy."""
        return time.monotonic() - self._quiet_since if self.pending else 0.0

    def cover(self, lines: int) -> None:
        """The first `lines` sent are stored (by the gateway): waiters need not wait for the
        storer's answers for them (it skips them when it gets a core again)."""
        with self._answered:
            self.covered = max(self.covered, lines)
            self._answered.notify_all()

    def send(self, line: bytes) -> bool:
        """Hand one JSON line to the storer; False (nothing sent) while it starves or its
        pipe has no room for the line, so that the caller stores it another way instead of
        waiting for a storer that gets no core. An OSError (BrokenPipeError): it is gone."""
        assert self._input is not None
        if self.starved_for() >= STARVED_AFTER_S or not self._room_for(len(line) + 1):
            return False
        if not self.pending:
            self._quiet_since = time.monotonic()
        data = memoryview(line + b"\n")
        while data:
            data = data[os.write(self._input.fileno(), data) :]
        self.sent += 1
        return True

    def _room_for(self, size: int) -> bool:
        """Whether the pipe takes `size` more bytes without blocking (the one writer holds
        the caller's lock, so the room cannot shrink meanwhile). Half the capacity counts:
        the kernel fills the pipe's pages a write at a time, and a write that does not fit
        in the last page's rest starts a new page (lines of just over 2 KB fill it half)."""
        assert self._input is not None
        try:
            queued = fcntl.ioctl(self._input.fileno(), termios.FIONREAD, b"\0" * 4)
        except OSError:  # cannot tell: send, and wait if it must
            return True
        return self._capacity // 2 - int.from_bytes(queued, sys.byteorder) >= size

    def wait(self, timeout_s: float) -> bool:
        """Wait until every line sent so far is answered for (or the storer is gone)."""
        target = self.sent
        with self._answered:
            return self._answered.wait_for(
                lambda: not self.alive or self.sent - self.pending >= target, timeout_s
            )

    def finish(self, timeout_s: float = STOPPED_AFTER_S) -> bool:
        """Close its input, give it the normal priority back where the system allows, and
        wait while it stores what it holds and exits; False when `timeout_s` passes first
        (or, still at idle priority, it starves): then the caller stores the rest."""
        if self._input is not None and not self._input.closed:
            self._input.close()
        raised = normal_priority(self._process.pid)  # no request is waiting any more
        deadline = time.monotonic() + timeout_s
        while self._process.poll() is None:
            starved = not raised and self.starved_for() >= STARVED_AFTER_S
            if time.monotonic() >= deadline or starved:
                return False
            time.sleep(0.02)
        return True

    def close(self, timeout_s: float = STOPPED_AFTER_S) -> None:
        """Stop it (killed if `finish` did not see it exit) and read its last answers."""
        if self._input is not None and not self._input.closed:
            self._input.close()
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        self._reader.join(timeout_s)

    def _read_answers(self) -> None:
        assert self._process.stdout is not None
        for answer in self._process.stdout:
            kind, _, count = answer.decode("ascii", "replace").partition(" ")
            with self._answered:  # waiters see the new counts only with the journal rotated
                if kind == "stored":
                    self.stored += int(count)
                else:
                    self.failed += int(count)
                self._quiet_since = time.monotonic()
                self._on_acknowledged()
                self._answered.notify_all()
        with self._answered:
            self.alive = False
            self._answered.notify_all()
        self._on_gone()


def _grow(pipe: IO[bytes] | None) -> int:
    """Ask for a `PIPE_BYTES` pipe; the capacity it has (Linux tells; elsewhere the POSIX
    minimum is assumed)."""
    grow, size = getattr(fcntl, "F_SETPIPE_SZ", None), getattr(fcntl, "F_GETPIPE_SZ", None)
    if pipe is None or grow is None or size is None:
        return select.PIPE_BUF
    with contextlib.suppress(OSError):  # above the system's limit (fs.pipe-max-size)
        fcntl.fcntl(pipe.fileno(), grow, PIPE_BYTES)
    return int(fcntl.fcntl(pipe.fileno(), size))


# ---- the storer process -------------------------------------------------------------------


def lower_priority(pid: int) -> None:
    """Run process `pid` at the kernel's idle priority (Linux), else at the lowest nice
    level (threads it starts later inherit it)."""
    try:
        os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, pid, 19)


def normal_priority(pid: int) -> bool:
    """Give process `pid` the normal scheduling back; False where the system does not let
    this process raise another's priority."""
    try:
        os.sched_setscheduler(pid, os.SCHED_OTHER, os.sched_param(0))
        os.setpriority(os.PRIO_PROCESS, pid, 0)
    except (AttributeError, OSError):
        return False
    return True


class LineBatches:
    """Whole lines read from a file descriptor, in batches: the first line waited for, then
    what else arrives within `gather_s`, up to `max_lines`."""

    def __init__(self, source: int, *, max_lines: int = MAX_BATCH, gather_s: float = GATHER_S):
        self._source = source
        self._max_lines = max_lines
        self._gather_s = gather_s
        self._partial = b""
        self._lines: list[bytes] = []
        self.ended = False

    def next(self) -> list[bytes]:
        """The next batch; empty once the input has ended and every line was returned."""
        deadline: float | None = None
        while len(self._lines) < self._max_lines and not self.ended:
            if self._lines and deadline is None:
                deadline = time.monotonic() + self._gather_s
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                break
            if select.select([self._source], [], [], wait)[0]:
                self._read()
        batch, self._lines = self._lines[: self._max_lines], self._lines[self._max_lines :]
        return batch

    def _read(self) -> None:
        chunk = os.read(self._source, READ_BYTES)
        if not chunk:
            self.ended = True
            return
        *whole, self._partial = (self._partial + chunk).split(b"\n")
        self._lines += [line for line in whole if line.strip()]


def run(
    batches: LineBatches,
    answers: BinaryIO,
    store_batch: Callable[[Sequence[bytes]], bool],
) -> None:
    """Store batches until the input ends, answering `stored N` / `failed N` for each."""
    while batch := batches.next():
        kind = "stored" if store_batch(batch) else "failed"
        answers.write(f"{kind} {len(batch)}\n".encode("ascii"))
        answers.flush()


def main(argv: Sequence[str]) -> int:
    from steerwise.guardrails import decisions, flags
    from steerwise.settings import CONFIG_FILE, load_settings
    from steerwise.store import open_store
    from steerwise.traces.log import store_journaled
    from steerwise.traces.sinks import configured_sinks

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    for stop in (signal.SIGINT, signal.SIGTERM):  # sent to the gateway's whole group: the
        signal.signal(stop, signal.SIG_IGN)  # storer stops when its input closes, not before
    root = Path(argv[0])
    url = environment.DATABASE_URL.get()
    if url is None:
        log.error("steerwise-traces: the storer needs %s", environment.DATABASE_URL.name)
        return 2
    store = open_store(url)
    sinks: list[TraceSink] = configured_sinks(load_settings(root / CONFIG_FILE).tracing)
    try:
        batches = LineBatches(sys.stdin.fileno())
        writers = {DECISIONS: decisions.store_encoded, FLAGS: flags.store_encoded}
        run(
            batches,
            sys.stdout.buffer,
            lambda lines: store_journaled(store, sinks, lines, writers),
        )
    finally:
        for sink in sinks:
            sink.close()
        store.close()
    return 0
