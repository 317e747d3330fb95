"""The trace journal: a process killed with SIGKILL right after recording traces loses none of
them (the next process to open the workspace stores them), the journal holds no personal
data, and a clean close leaves nothing behind."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

from steerwise import Workspace
from steerwise.settings import STATE_DIR
from steerwise.traces.journal import TraceJournal
from steerwise.traces.log import TraceLog
from tests.monitor.builders import NOW, make_trace

EMAIL = "sam.taylor@example.co.uk"
KILLED_AFTER_RECORDING = textwrap.dedent(
    """
    import os, signal, sys
    from steerwise import Workspace
    from tests.monitor.builders import NOW, make_trace

    ws = Workspace.open(sys.argv[1])
    for number in range(int(sys.argv[2])):
        ws.traces.record(make_trace(number, at=NOW, latency_ms=10, model_ms=5,
                                    question="Write to {email} about my order"))
    os.kill(os.getpid(), signal.SIGKILL)  # before the writer can store what is queued
    """
).format(email=EMAIL)


def journal_folder(root: Path) -> Path:
    return root / STATE_DIR / "journal"


def killed_after_recording(root: Path, count: int) -> None:
    done = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_RECORDING, str(root), str(count)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -9, done.stderr.decode()


def test_traces_recorded_by_a_killed_process_are_stored_at_the_next_open(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace.init(root).close()
    killed_after_recording(root, 2000)
    orphans = list(journal_folder(root).iterdir())
    assert len(orphans) == 1
    journaled = b"".join(path.read_bytes() for path in orphans[0].glob("segment-*.jsonl"))
    assert EMAIL.encode() not in journaled and b"[EMAIL_" in journaled  # scrubbed on disk too
    with Workspace.open(root) as ws:
        assert ws.traces.recovered > 0  # the journal held traces the store did not have
        stored = ws.traces.items(limit=5000)
    assert sorted(trace.id for trace in stored) == [f"trace-{n:05d}" for n in range(2000)]
    assert all(EMAIL not in trace.input["question"] for trace in stored)
    assert list(journal_folder(root).iterdir()) == []  # recovered journals are deleted
    later = NOW + timedelta(minutes=1)
    with Workspace.open(root) as ws:
        assert ws.traces.recovered == 0
        assert ws.monitor.metrics("bot@production", window="1d", until=later).requests == 2000


def test_recovery_skips_traces_already_stored_and_lines_cut_short(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    first, second = (make_trace(n, at=NOW, latency_ms=10, model_ms=5) for n in range(2))
    with Workspace.init(root) as ws:
        ws.traces.record(first)
        ws.traces.flush()
    journal = TraceJournal(journal_folder(root))  # a process that journaled, then died
    for trace in (first, second):
        journal.append(json.dumps(trace.to_dict()).encode())
    journal.append(b'{"id": "trace-99999", "created_at": "2026-12-')  # the kill cut it short
    journal.close(everything_stored=False)
    with Workspace.open(root) as ws:
        assert ws.traces.recovered == 1
        assert sorted(trace.id for trace in ws.traces.items()) == ["trace-00000", "trace-00001"]


def test_a_clean_close_leaves_no_journal(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    with Workspace.init(root) as ws:
        for number in range(50):
            ws.traces.record(make_trace(number, at=NOW, latency_ms=10, model_ms=5))
        assert len(list(journal_folder(root).iterdir())) == 1  # this process's, locked
        with Workspace.open(root) as other:  # another open does not take a live journal
            assert other.traces.recovered == 0
    assert list(journal_folder(root).iterdir()) == []
    with Workspace.open(root) as ws:
        assert len(ws.traces.items(limit=100)) == 50


def segment_lines(folder: Path) -> list[int]:
    """The number of lines in each of the journal's segments, oldest first."""
    segments = sorted(next(folder.iterdir()).glob("segment-*.jsonl"))
    return [len(path.read_bytes().splitlines()) for path in segments]


def test_the_journal_is_rotated_once_it_holds_enough_stored_lines(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        folder = tmp_path / "journal"
        log = TraceLog(ws.store, journal=folder, rotate_after=3)
        try:
            for number in range(2):
                log.record(make_trace(number, at=NOW, latency_ms=10, model_ms=5))
            assert log.flush()
            assert segment_lines(folder) == [2]  # stored, but fewer than 3 lines: kept
            for number in range(2, 4):
                log.record(make_trace(number, at=NOW, latency_ms=10, model_ms=5))
            assert log.flush()
            assert segment_lines(folder) == [0]  # all stored: a new segment, the old deleted
            log.record(make_trace(4, at=NOW, latency_ms=10, model_ms=5))
            assert log.flush()
            assert segment_lines(folder) == [1]
            assert len(log.items(limit=10)) == 5
        finally:
            log.close()
        assert not folder.exists() or list(folder.iterdir()) == []
