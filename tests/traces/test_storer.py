"""The trace storer process: a gateway's traces stored by a second process at idle priority,
with the same rows (facts, roll-ups) as the in-process writer, nothing lost when it dies or
when the log closes, and the journal rotated as it stores."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from steerwise import Workspace
from steerwise.settings import STATE_DIR
from steerwise.traces.log import TraceLog, store_journaled
from steerwise.traces.storer import (
    STARVED_AFTER_S,
    LineBatches,
    lower_priority,
    normal_priority,
)
from tests.guardrails.test_policies import write_policy
from tests.monitor.builders import NOW, make_trace

EMAIL = "sam.taylor@example.co.uk"
LATER = NOW + timedelta(minutes=1)


def scheduling_policy(pid: int) -> int:
    return os.sched_getscheduler(pid)


def test_a_storer_process_stores_the_traces_at_idle_priority(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    with Workspace.init(root) as ws:
        ws.store_traces_apart()
        pid = ws.traces.storer_pid
        assert pid is not None and pid != os.getpid()
        assert scheduling_policy(pid) == os.SCHED_IDLE
        for number in range(300):
            asked = f"Write to {EMAIL} about order {number}"
            ws.traces.record(make_trace(number, at=NOW, latency_ms=10, model_ms=5, question=asked))
        assert ws.traces.flush()
        assert ws.traces.backlog == 0
        stored = ws.traces.items(limit=1000)
        metrics = ws.monitor.metrics("bot@production", window="1d", until=LATER)
    assert sorted(trace.id for trace in stored) == [f"trace-{n:05d}" for n in range(300)]
    assert all(EMAIL not in trace.input["question"] for trace in stored)  # scrubbed first
    assert "[EMAIL_" in stored[0].input["question"]
    assert metrics.requests == 300  # facts and roll-ups stored with the traces
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # closing the workspace stopped it
    assert list((root / STATE_DIR / "journal").iterdir()) == []  # everything stored


@pytest.mark.skipif(os.geteuid() != 0, reason="raising a process's priority needs root here")
def test_a_storer_at_idle_priority_gets_the_normal_one_back_for_closing() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lower_priority(child.pid)
        assert scheduling_policy(child.pid) == os.SCHED_IDLE
        assert normal_priority(child.pid)
        assert scheduling_policy(child.pid) == os.SCHED_OTHER
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == 0
    finally:
        child.kill()
        child.wait()


def test_when_the_storer_dies_the_log_stores_its_traces_itself(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        ws.store_traces_apart()
        pid = ws.traces.storer_pid
        assert pid is not None
        for number in range(100):
            ws.traces.record(make_trace(number, at=NOW, latency_ms=10, model_ms=5))
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while ws.traces.storer_pid is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ws.traces.storer_pid is None  # taken back
        for number in range(100, 150):  # recorded after: the writer thread stores them
            ws.traces.record(make_trace(number, at=NOW, latency_ms=10, model_ms=5))
        assert ws.traces.flush()
        stored = sorted(trace.id for trace in ws.traces.items(limit=1000))
    assert stored == [f"trace-{n:05d}" for n in range(150)]


def test_closing_waits_for_the_storer_to_store_what_it_was_sent(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    with Workspace.init(root) as ws:
        ws.store_traces_apart()
        for number in range(500):
            ws.traces.record(make_trace(number, at=NOW, latency_ms=10, model_ms=5))
    with Workspace.open(root) as ws:
        assert ws.traces.recovered == 0  # nothing left for the next start
        assert len(ws.traces.items(limit=1000)) == 500


def test_the_storer_rotates_the_journal_as_it_stores(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        folder = tmp_path / "journal"
        log = TraceLog(ws.store, journal=folder, rotate_after=3)
        try:
            log.store_apart(ws.root, ws.store_url)
            for number in range(4):
                log.record(make_trace(number, at=NOW, latency_ms=10, model_ms=5))
                assert log.flush()  # one line at a time, each stored before the next
            segments = sorted(next(folder.iterdir()).glob("segment-*.jsonl"))
            assert [len(path.read_bytes().splitlines()) for path in segments] == [1]
        finally:
            log.close()


def test_storing_apart_needs_the_journal(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        log = TraceLog(ws.store)
        with pytest.raises(ValueError, match="journal"):
            log.store_apart(ws.root, ws.store_url)


def test_line_batches_wait_for_the_first_line_then_gather_whole_lines(tmp_path: Path) -> None:
    read, write = os.pipe()
    batches = LineBatches(read, max_lines=3, gather_s=0.05)
    os.write(write, b'{"a": 1}\n{"b"')
    os.write(write, b': 2}\n\n{"c": 3}\n{"d": 4}\n')
    assert batches.next() == [b'{"a": 1}', b'{"b": 2}', b'{"c": 3}']  # up to max_lines
    started = time.monotonic()
    assert batches.next() == [b'{"d": 4}']  # then what came within the gathering time
    assert time.monotonic() - started >= 0.04
    os.write(write, b'{"e": 5}')  # no newline yet: not a line
    os.close(write)
    assert batches.next() == []  # ended: a line cut short is dropped
    assert batches.ended
    os.close(read)


def test_the_storer_skips_traces_already_stored(tmp_path: Path) -> None:
    first, second = (make_trace(n, at=NOW, latency_ms=10, model_ms=5) for n in range(2))
    with Workspace.init(tmp_path / "ws") as ws:
        ws.traces.record(first)  # say, stored by a restarted gateway's recovery
        assert ws.traces.flush()
        lines = [json.dumps(trace.to_dict()).encode() for trace in (first, second)]
        assert store_journaled(ws.store, [], [*lines, b'{"id": "cut sh'])
        stored = sorted(trace.id for trace in ws.traces.items())
        metrics = ws.monitor.metrics("bot@production", window="1d", until=LATER)
    assert stored == ["trace-00000", "trace-00001"]
    assert metrics.requests == 2  # not counted twice


def test_a_log_that_stores_apart_takes_no_sink_of_its_own(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        ws.store_traces_apart()
        with pytest.raises(ValueError, match=r"\[tracing\]"):
            ws.traces.add_sink(lambda traces: None)  # type: ignore[arg-type]


def test_a_starved_storer_s_traces_are_stored_by_the_gateway_itself(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        ws.store_traces_apart()
        pid = ws.traces.storer_pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # as if other processes kept every core busy
        try:
            for number in range(20):
                ws.traces.record(make_trace(number, at=NOW, latency_ms=10, model_ms=5))
            started = time.monotonic()
            assert ws.traces.flush(timeout_s=10)
            assert time.monotonic() - started < 5 * STARVED_AFTER_S
            assert len(ws.traces.items(limit=100)) == 20
        finally:
            os.kill(pid, signal.SIGCONT)
        ws.traces.record(make_trace(20, at=NOW, latency_ms=10, model_ms=5))
        assert ws.traces.flush()
        assert ws.traces.storer_pid == pid  # it goes on once it gets a core again
        metrics = ws.monitor.metrics("bot@production", window="1d", until=LATER)
    assert metrics.requests == 21  # what it stored late was skipped, not counted twice


def test_a_starved_storer_never_holds_up_recording(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        ws.store_traces_apart()
        pid = ws.traces.storer_pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # its pipe fills, then the writer thread takes over
        try:
            started = time.monotonic()
            for number in range(3000):  # about 4 MB of traces: more than the pipe holds
                ws.traces.record(make_trace(number, at=NOW, latency_ms=10, model_ms=5))
            assert time.monotonic() - started < 30
            assert ws.traces.flush(timeout_s=30)
            assert len(ws.traces.items(limit=5000)) == 3000
        finally:
            os.kill(pid, signal.SIGCONT)
        assert ws.traces.flush(timeout_s=30)
        metrics = ws.monitor.metrics("bot@production", window="1d", until=LATER)
    assert metrics.requests == 3000  # each stored once, whoever stored it


FLAGGING = "name: watch\ninput:\n  - detector: pii\n    action: flag\n"


def test_guardrail_decisions_and_flags_are_stored_by_the_storer_too(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    with Workspace.init(root) as ws:
        ws.policies.push([write_policy(tmp_path / "p", FLAGGING, name="watch")])
        ws.store_traces_apart()
        policy = ws.policies.load("watch")
        for number in range(50):
            policy.check_input(f"Write to {EMAIL} about order {number}")
        assert len(ws.policies.decisions.items(limit=100)) == 50  # reading waits for it
        for number in range(50, 80):  # and closing stores what it still holds
            policy.check_input(f"Write to {EMAIL} about order {number}")
        by_gateway = (ws.policies.decisions.written, ws.policies.flags.written)
    assert by_gateway == (0, 0)  # the gateway's own writer threads stored nothing
    with Workspace.open(root) as reopened:
        decisions = reopened.policies.decisions.items(limit=100)
        flagged = reopened.reviews.items(limit=100)
    assert len(decisions) == 80 and {d.outcome for d in decisions} == {"flag"}
    assert decisions[0].to_dict()["rails"][0]["findings"][0]["type"] == "EMAIL"
    assert len(flagged) == 80 and {i.reason for i in flagged} == {"input.pii.EMAIL"}
    assert all(EMAIL not in str(item.payload) for item in flagged)  # scrubbed by the storer
    assert flagged[0].payload["text"].startswith("Write to [EMAIL_1] about order")
    assert [i.payload["decision"] for i in flagged] == [d.decision for d in decisions]


def test_without_a_storer_decisions_go_to_the_gateway_s_writer_thread(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        ws.policies.push([write_policy(tmp_path / "p", FLAGGING, name="watch")])
        ws.store_traces_apart()
        pid = ws.traces.storer_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while ws.traces.storer_pid is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ws.traces.storer_pid is None
        ws.policies.load("watch").check_input(f"Write to {EMAIL}")
        assert len(ws.policies.decisions.items()) == 1
        assert (ws.policies.decisions.written, ws.policies.flags.written) == (1, 1)
