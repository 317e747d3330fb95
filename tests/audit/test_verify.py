"""The audit chain catches edits, deletions, insertions, reordering and truncation."""

from __future__ import annotations

from pathlib import Path

import pytest

from steerwise import StoreError, Workspace
from steerwise.audit.chain import event_hash
from tests.conftest import simple_prompt, write_prompt


@pytest.fixture
def busy(workspace: Workspace, tmp_path: Path) -> Workspace:
    """A workspace with six events: init, three pushes, two label moves."""
    folder = tmp_path / "prompts"
    for name in ("a", "b", "c"):
        write_prompt(folder, name, simple_prompt(name))
    workspace.prompts.push([folder])
    workspace.prompts.label("a@1", "production")
    workspace.prompts.label("b@1", "staging")
    assert workspace.audit.head().count == 6
    return workspace


def _sql(ws: Workspace, statement: str, params: dict[str, object] | None = None) -> None:
    """Tamper as someone with full rights on the database would: triggers off first."""
    with ws.store.write() as tx:
        if tx.session.dialect == "sqlite":
            tx.session.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
            tx.session.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
        else:
            tx.session.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change")
        tx.session.execute(statement, params)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET actor = 'user:mallory' WHERE seq = 2",
        "DELETE FROM audit_events WHERE seq = 6",
        "UPDATE prompt_versions SET spec_json = '{}' WHERE prompt = 'a'",
        "DELETE FROM prompt_versions WHERE prompt = 'a'",
    ],
)
def test_database_refuses_changes_to_history(busy: Workspace, statement: str) -> None:
    with pytest.raises(StoreError, match=r"is append-only|is immutable"), busy.store.write() as tx:
        tx.session.execute(statement)
    assert busy.audit.verify().ok
    assert busy.prompts.get("a@1").spec.messages[0].content == "You help."


def test_intact_log_verifies(busy: Workspace) -> None:
    report = busy.audit.verify()
    assert report.ok
    assert report.count == 6
    assert report.head_hash == busy.audit.head().hash


def test_edited_event_is_named(busy: Workspace) -> None:
    _sql(busy, "UPDATE audit_events SET after_json = '{\"version\":99}' WHERE seq = 5")
    report = busy.audit.verify()
    assert not report.ok
    assert report.failed_seq == 5
    assert "edited" in str(report.problem)


def test_edited_actor_is_named(busy: Workspace) -> None:
    _sql(busy, "UPDATE audit_events SET actor = 'user:mallory' WHERE seq = 2")
    assert busy.audit.verify().failed_seq == 2


def test_deleted_event_is_named(busy: Workspace) -> None:
    _sql(busy, "DELETE FROM audit_events WHERE seq = 3")
    report = busy.audit.verify()
    assert report.failed_seq == 4
    assert "deleted or inserted" in str(report.problem)


def test_deleted_and_renumbered_event_is_named(busy: Workspace) -> None:
    _sql(busy, "DELETE FROM audit_events WHERE seq = 3")
    _sql(busy, "UPDATE audit_events SET seq = seq + 100 WHERE seq > 3")
    _sql(busy, "UPDATE audit_events SET seq = seq - 101 WHERE seq > 100")
    report = busy.audit.verify()
    assert report.failed_seq == 3
    assert "does not link" in str(report.problem)


def test_inserted_event_is_named(busy: Workspace) -> None:
    """A forger shifts later events and inserts one with a correct hash of its own."""
    previous = busy.audit.events(limit=100)[1]  # event 2
    fields = {
        "seq": 3,
        "ts": previous.ts,
        "actor": "user:mallory",
        "action": "prompt.label.set",
        "target": "prompt:a#production",
        "before": None,
        "after": {"version": 1},
        "prev_hash": previous.hash,
    }
    forged_hash = event_hash(**fields)
    _sql(busy, "UPDATE audit_events SET seq = seq + 100 WHERE seq >= 3")
    _sql(busy, "UPDATE audit_events SET seq = seq - 99 WHERE seq > 100")
    _sql(
        busy,
        "INSERT INTO audit_events (seq, ts, actor, action, target, before_json, after_json,"
        " prev_hash, hash) VALUES (3, :ts, :actor, :action, :target, 'null', :after, :prev, :h)",
        {
            "ts": fields["ts"],
            "actor": fields["actor"],
            "action": fields["action"],
            "target": fields["target"],
            "after": '{"version":1}',
            "prev": previous.hash,
            "h": forged_hash,
        },
    )
    report = busy.audit.verify()
    assert report.failed_seq == 4
    assert "does not link" in str(report.problem)


def test_reordered_events_are_named(busy: Workspace) -> None:
    _sql(busy, "UPDATE audit_events SET seq = 100 WHERE seq = 3")
    _sql(busy, "UPDATE audit_events SET seq = 3 WHERE seq = 4")
    _sql(busy, "UPDATE audit_events SET seq = 4 WHERE seq = 100")
    report = busy.audit.verify()
    assert report.failed_seq == 3
    assert "does not link" in str(report.problem)


def test_truncation_is_caught_by_a_head_kept_elsewhere(busy: Workspace) -> None:
    kept = busy.audit.head()
    _sql(busy, "DELETE FROM audit_events WHERE seq > 4")
    assert busy.audit.verify().ok  # a cut chain is still a chain ...
    report = busy.audit.verify(expected_head=kept.hash)  # ... but not the one we knew
    assert not report.ok
    assert "cut short" in str(report.problem)
    assert busy.audit.verify(expected_head=busy.audit.head().hash).ok


def test_every_change_of_state_is_in_the_log(busy: Workspace) -> None:
    actions = [(e.action, e.target, e.actor) for e in busy.audit.events(limit=10)]
    assert actions == [
        ("workspace.init", "workspace:ws", "user:tester"),
        ("prompt.push", "prompt:a", "user:tester"),
        ("prompt.push", "prompt:b", "user:tester"),
        ("prompt.push", "prompt:c", "user:tester"),
        ("prompt.label.set", "prompt:a#production", "user:tester"),
        ("prompt.label.set", "prompt:b#staging", "user:tester"),
    ]
    label_event = busy.audit.events(limit=1)[0]
    assert label_event.before is None
    assert label_event.after == {"version": 1}
