"""Property-based tests (hypothesis): the audit chain catches every edit, deletion and
reordering; prompt versions and labels behave like their model under any sequence of pushes,
label moves and rollbacks; a dataset's hash depends on its items' content and order, never on
how their keys are written."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from steerwise import BadInputError, Workspace
from steerwise.audit.chain import ChainVerifier, event_hash
from steerwise.core.audit import GENESIS_HASH, AuditEvent
from steerwise.core.evals import DatasetItem, DatasetSpec
from steerwise.versioning.registry import content_hash

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
ENTRY = st.tuples(TEXT, TEXT, TEXT, JSON_VALUE, JSON_VALUE)
FIELDS = ("ts", "actor", "action", "target", "before", "after")


def chain(entries: list[tuple[str, str, str, Any, Any]]) -> list[AuditEvent]:
    """Events linked as `AuditLog.record` links them."""
    events: list[AuditEvent] = []
    previous = GENESIS_HASH
    for seq, (actor, action, target, before, after) in enumerate(entries, start=1):
        fields = {
            "seq": seq,
            "ts": f"2026-12-06T00:00:{seq % 60:02d}Z",
            "actor": actor,
            "action": action,
            "target": target,
            "before": before,
            "after": after,
            "prev_hash": previous,
        }
        event = AuditEvent(**fields, hash=event_hash(**fields))
        events.append(event)
        previous = event.hash
    return events


def verdict(events: list[AuditEvent]) -> tuple[bool, int | None]:
    verifier = ChainVerifier()
    verifier.feed(events)
    report = verifier.report(expected_head=None)
    return report.ok, report.failed_seq


@given(st.lists(ENTRY, min_size=1, max_size=12))
def test_an_untouched_chain_verifies(entries: list[Any]) -> None:
    events = chain(entries)
    assert verdict(events) == (True, None)


@given(st.lists(ENTRY, min_size=1, max_size=12), st.data())
def test_any_edit_to_any_event_is_caught_at_that_event(entries: list[Any], data: Any) -> None:
    events = chain(entries)
    index = data.draw(st.integers(0, len(events) - 1))
    field = data.draw(st.sampled_from(FIELDS))
    value = data.draw(JSON_VALUE if field in ("before", "after") else TEXT)
    original = getattr(events[index], field)
    assume(json.dumps(value, sort_keys=True) != json.dumps(original, sort_keys=True))
    events[index] = dataclasses.replace(events[index], **{field: value})
    assert verdict(events) == (False, index + 1)


@given(st.lists(ENTRY, min_size=2, max_size=12), st.data())
def test_deleting_or_swapping_events_is_caught(entries: list[Any], data: Any) -> None:
    events = chain(entries)
    index = data.draw(st.integers(0, len(events) - 2))
    deleted = events[:index] + events[index + 1 :]
    assert verdict(deleted)[0] is False
    swapped = list(events)
    swapped[index], swapped[index + 1] = swapped[index + 1], swapped[index]
    assert verdict(swapped)[0] is False


ITEM = st.builds(
    DatasetItem,
    id=st.text("abcdef0123456789", min_size=1, max_size=6),
    variables=st.dictionaries(st.sampled_from(["question", "context", "lang"]), TEXT, max_size=3),
    reference=TEXT,
)


def dataset(items: list[DatasetItem]) -> DatasetSpec:
    return DatasetSpec(name="qa", description="", items=items)


@given(st.lists(ITEM, min_size=1, max_size=6, unique_by=lambda item: item.id))
def test_a_dataset_hash_ignores_key_order_but_not_content_or_order(
    items: list[DatasetItem],
) -> None:
    reordered_keys = [
        item.model_copy(update={"variables": dict(reversed(list(item.variables.items())))})
        for item in items
    ]
    assert content_hash(dataset(items)) == content_hash(dataset(reordered_keys))
    changed = [*items[:-1], items[-1].model_copy(update={"reference": f"{items[-1].reference}!"})]
    assert content_hash(dataset(changed)) != content_hash(dataset(items))
    if len(items) > 1:
        assert content_hash(dataset(items[::-1])) != content_hash(dataset(items))


CONTENTS = st.sampled_from(["Answer briefly.", "Answer in French.", "Cite sources.", "Be kind."])
LABELS = st.sampled_from(["production", "staging"])


class PromptVersions(RuleBasedStateMachine):
    """Pushes, label moves and rollbacks on a real workspace, against a plain model."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        self.ws = Workspace.init(Path(self.folder.name) / "ws", actor="user:property")
        self.versions: list[str] = []  # content of version n at index n - 1
        self.labels: dict[str, tuple[int, int | None]] = {}  # label -> (now, before last move)

    def teardown(self) -> None:
        self.ws.close()
        self.folder.cleanup()

    @rule(content=CONTENTS)
    def push(self, content: str) -> None:
        data = {"name": "t", "messages": [{"role": "system", "content": content}]}
        result = self.ws.prompts.push_data(data, source="property")
        if self.versions and self.versions[-1] == content:
            assert (result.status, result.version) == ("unchanged", len(self.versions))
        else:
            self.versions.append(content)
            assert (result.status, result.version) == ("new", len(self.versions))

    @precondition(lambda self: bool(self.versions))
    @rule(label=LABELS, data=st.data())
    def move_label(self, label: str, data: Any) -> None:
        version = data.draw(st.integers(1, len(self.versions)))
        self.ws.prompts.label(f"t@{version}", label)
        now = self.labels.get(label)
        if now is None or now[0] != version:
            self.labels[label] = (version, None if now is None else now[0])

    @rule(label=LABELS)
    def roll_back(self, label: str) -> None:
        now = self.labels.get(label)
        if now is None or now[1] is None:
            with pytest.raises(BadInputError):
                self.ws.prompts.rollback("t", label)
            return
        self.ws.prompts.rollback("t", label)
        self.labels[label] = (now[1], now[0])

    @invariant()
    def versions_labels_and_audit_agree_with_the_model(self) -> None:
        if not self.versions:
            return
        for number, content in enumerate(self.versions, start=1):
            found = self.ws.prompts.get(f"t@{number}")
            assert found.spec.messages[0].content == content
        assert self.ws.prompts.labels_of("t") == {k: v[0] for k, v in self.labels.items()}
        assert self.ws.audit.verify().ok


TestPromptVersions = PromptVersions.TestCase
TestPromptVersions.settings = settings(
    max_examples=15,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
