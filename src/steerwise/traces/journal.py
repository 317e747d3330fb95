"""TraceJournal: traces on disk from the moment a request records them until they are stored.

The trace writer stores traces in batches, off the request path; a process killed outright
(SIGKILL, out of memory, power cut of the container) would lose the traces still queued. So
`TraceLog.record` first appends the trace (already scrubbed of personal data and secrets) as
one JSON line to this process's journal, with one `write` system call: from then on it is in
the operating system's hands, and a killed process loses nothing. When the writer has stored
everything queued and the journal holds `ROTATE_AFTER` lines or more, it starts a new journal
file (the only step under the lock that recording takes), then deletes the older ones. Lines
already stored cost the next start a skip, nothing more; rotating less often keeps file
work off that lock.

Each process journals into its own folder under `.steerwise/journal/`, holding an exclusive
`flock` on the folder's lock file for as long as it lives (the kernel releases it when the
process dies, however it dies). At the next start, `orphans` are the folders whose lock is
free: their traces are stored (those already stored are skipped) and the folder deleted.
The journal survives the process, not the machine: it is not fsynced.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = "lock"
SEGMENT_GLOB = "segment-*.jsonl"
STARTING = ".starting"
ROTATE_AFTER = 1_000
"""Lines a journal takes before the writer rotates it (a few MB at most)."""


class TraceJournal:
    """This process's journal folder (module docstring)."""

    def __init__(self, parent: Path) -> None:
        parent.mkdir(parents=True, exist_ok=True)
        name = f"{os.getpid()}-{secrets.token_hex(4)}"
        starting = parent / f"{name}{STARTING}"  # never claimed: not locked yet
        starting.mkdir(mode=0o700)
        self._lock = os.open(starting / LOCK_FILE, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.folder = starting.rename(parent / name)
        self._number = 0
        self._segment = self._open_segment()
        self.unrotated = 0
        """Lines appended since the last rotation."""

    def append(self, line: bytes) -> None:
        """Add one JSON line (without its newline) in one write."""
        os.write(self._segment, line + b"\n")
        self.unrotated += 1

    def rotate(self) -> None:
        """Start a new segment (call it when everything appended so far is stored, and
        nothing is appended meanwhile); `delete_rotated` then deletes the older ones."""
        old = self._segment
        self._segment = self._open_segment()
        self.unrotated = 0
        os.close(old)

    def delete_rotated(self) -> None:
        """Delete the segments before the current one (safe while lines are appended)."""
        current = _segment_name(self._number)
        for old in self.folder.glob(SEGMENT_GLOB):
            if old.name < current:
                old.unlink(missing_ok=True)

    def close(self, *, everything_stored: bool) -> None:
        """Stop journaling; delete the folder when everything is stored, else leave it for
        the next start to store (it becomes an orphan when the lock goes)."""
        os.close(self._segment)
        if everything_stored:
            shutil.rmtree(self.folder, ignore_errors=True)
        os.close(self._lock)

    def _open_segment(self) -> int:
        self._number += 1
        path = self.folder / _segment_name(self._number)
        return os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)


def _segment_name(number: int) -> str:
    return f"segment-{number:06d}.jsonl"


@contextmanager
def claimed_orphans(parent: Path) -> Iterator[list[Path]]:
    """The journal folders under `parent` whose process is gone, locked for this process
    while the caller stores their lines; deleted afterwards if the caller succeeded."""
    claimed: list[tuple[Path, int]] = []
    try:
        for folder in sorted(parent.glob("*")) if parent.is_dir() else []:
            handle = None if folder.name.endswith(STARTING) else _claim(folder)
            if handle is not None:
                claimed.append((folder, handle))
        yield [folder for folder, _ in claimed]
        for folder, _ in claimed:
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        for _, handle in claimed:
            os.close(handle)


def _claim(folder: Path) -> int | None:
    """A locked handle on `folder`'s lock file, or None if its process still holds it."""
    lock = folder / LOCK_FILE
    if not lock.is_file():
        return None
    handle = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(handle)
        return None
    return handle


def journal_lines(folder: Path) -> Iterator[bytes]:
    """Every whole line of a journal folder's segments, oldest first (a line cut short by a
    crash in the middle of its write is skipped)."""
    for segment in sorted(folder.glob(SEGMENT_GLOB)):
        for line in segment.read_bytes().split(b"\n"):
            if line.strip():
                yield line
