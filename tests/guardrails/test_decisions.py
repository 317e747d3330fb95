"""Every guardrail decision is stored with its reason, off the request path, never its text."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from steerwise import Workspace
from steerwise.store.batching import BatchWriter
from steerwise.store.records import Transaction
from tests.guardrails.test_policies import POLICY, write_policy


def test_each_check_is_recorded_with_outcome_reason_and_findings(
    workspace: Workspace, tmp_path: Path
) -> None:
    workspace.policies.push([write_policy(tmp_path / "p", POLICY)])
    policy = workspace.policies.load("support")
    policy.check_input("Write to ana@example.com please")
    policy.check_input("x" * 2500)
    policy.check_output("All fine.")
    found = workspace.policies.decisions.items(policy="support")
    assert [(d.direction, d.outcome, d.reason_code) for d in found] == [
        ("output", "allow", ""),
        ("input", "block", "input.length.too_long"),
        ("input", "redact", ""),
    ]
    redacted = found[2].to_dict()
    assert redacted["policy"] == "support@1"
    assert [f["type"] for f in redacted["rails"][0]["findings"]] == ["EMAIL"]
    assert "ana@example.com" not in str(redacted)
    assert found[1].to_dict()["message"] == "I can't help with that request."
    assert all(d.elapsed_us > 0 for d in found)
    only_blocks = workspace.policies.decisions.items(outcome="block")
    assert [d.reason_code for d in only_blocks] == ["input.length.too_long"]
    assert workspace.policies.decisions.items(policy="supp") == []


def test_closing_the_workspace_writes_what_is_queued(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace.init(root).close()
    with Workspace.open(root) as first:
        first.policies.push([write_policy(tmp_path / "p", POLICY)])
        loaded = first.policies.load("support@1")
        for number in range(40):
            loaded.check_input(f"message {number}")
    with Workspace.open(root) as second:
        stored = second.policies.decisions.items(limit=100)
    assert len(stored) == 40
    assert {d.outcome for d in stored} == {"allow"}


def test_a_failing_batch_is_counted_and_the_writer_goes_on(sqlite_workspace: Workspace) -> None:
    written: list[int] = []
    caller = threading.get_ident()

    def write(tx: Transaction, rows: Sequence[int]) -> None:
        assert threading.get_ident() != caller, "batches are written off the caller's thread"
        if 13 in rows:
            raise RuntimeError("disk full")
        written.extend(rows)

    writer: BatchWriter[int] = BatchWriter(
        sqlite_workspace.store, write, name="test-writer", max_delay_s=0.01
    )
    writer.put(13)
    assert writer.flush(5.0)
    for number in range(5):
        writer.put(number)
    writer.close()
    assert (writer.failed, writer.written, written) == (1, 5, [0, 1, 2, 3, 4])
