"""Training sets on both stores: built from datasets and reviews, de-duplicated, scanned for
personal data, split, versioned, audited, exported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from steerwise import Workspace
from steerwise.core.errors import BadInputError
from steerwise.core.evals import DatasetItem
from steerwise.finetune.building import BuildOptions
from steerwise.finetune.datasets import export
from steerwise.store.records import ReviewRow

QUESTIONS = [
    ("refund", "How long do refunds take?", "Refunds take 5 business days."),
    ("returns", "How long is the return window?", "30 days from delivery."),
    ("shipping", "Do you ship to Norway?", "Yes, in 5 to 7 days."),
    ("warranty", "How long is the frame warranty?", "Frames have a lifetime warranty."),
    ("battery", "Can I post a battery?", "No. Batteries cannot be posted."),
]


def _items(rows: list[tuple[str, str, str | None]]) -> list[DatasetItem]:
    return [
        DatasetItem(id=key, variables={"question": question}, reference=reference)
        for key, question, reference in rows
    ]


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    repeated = [("refund-again", "How long do  REFUNDS take?", "Refunds take 5 business days.")]
    unanswered: list[tuple[str, str, str | None]] = [("open", "Any gift cards?", None)]
    items = _items([*QUESTIONS, *repeated, *unanswered])
    workspace.datasets.import_items("support", items, source="test")
    return workspace


def test_rows_are_chat_conversations_with_a_data_card(ws: Workspace) -> None:
    result = ws.build_training_set(
        "support-ft", datasets=["support"], options=BuildOptions(validation_share=0.2, seed=3)
    )
    found = ws.training_sets.get(result.ref)
    card = found.spec.card
    dataset = ws.datasets.get("support@1")
    assert (result.ref, result.status) == ("support-ft@1", "new")
    assert card.origins == [f"support@1 ({dataset.hash[:12]})"]
    assert (card.rows_in, card.duplicates_removed, card.train, card.validation) == (7, 1, 4, 1)
    assert card.filters == [
        "1 items without a reference answer left out",
        "1 duplicate conversations removed",
    ]
    rows = {row.id: row for row in [*found.spec.train, *found.spec.validation]}
    assert sorted(rows) == sorted(f"support-{key}" for key, _, _ in QUESTIONS)
    refund = rows["support-refund"]
    assert [m.model_dump() for m in refund.messages] == [
        {"role": "user", "content": "How long do refunds take?"},
        {"role": "assistant", "content": "Refunds take 5 business days."},
    ]
    assert refund.origin == f"support@1 ({dataset.hash[:12]})#refund"
    again = ws.build_training_set(
        "support-ft", datasets=["support"], options=BuildOptions(validation_share=0.2, seed=3)
    )
    assert (again.ref, again.status) == ("support-ft@1", "unchanged")
    other_split = ws.build_training_set(
        "support-ft", datasets=["support"], options=BuildOptions(validation_share=0.2, seed=4)
    )
    assert other_split.ref == "support-ft@2"
    events = [e for e in ws.audit.events() if e.action == "training-set.push"]
    assert [e.target for e in events] == ["training-set:support-ft"] * 2


def test_personal_data_is_refused_unless_redacted(ws: Workspace) -> None:
    leaky = _items([("mail", "My email is ann@example.com, refund?", "Refunds take 5 days.")])
    ws.datasets.import_items("leaky", leaky, source="test")
    with pytest.raises(BadInputError) as refused:
        ws.build_training_set("leaky-ft", datasets=["support", "leaky"])
    assert "training row 'leaky-mail' carries personal data (EMAIL)" in refused.value.message
    assert refused.value.hint is not None and "--redact-pii" in refused.value.hint
    assert ws.training_sets.summaries() == []
    redacted = ws.build_training_set(
        "leaky-ft", datasets=["support", "leaky"], options=BuildOptions(pii="redact")
    )
    found = ws.training_sets.get(redacted.ref).spec
    row = next(r for r in [*found.train, *found.validation] if r.id == "leaky-mail")
    assert row.messages[0].content == "My email is [EMAIL_1], refund?"
    assert (found.card.pii_rows, found.card.pii_types, found.card.pii_action) == (
        1,
        {"EMAIL": 1},
        "redact",
    )


def test_splits_follow_the_seed_and_tiny_sets_are_refused(ws: Workspace) -> None:
    first = ws.build_training_set("a", datasets=["support"], options=BuildOptions(seed=7))
    second = ws.build_training_set("b", datasets=["support"], options=BuildOptions(seed=7))
    ids = [
        [row.id for row in ws.training_sets.get(ref).spec.validation]
        for ref in (first.ref, second.ref)
    ]
    assert ids[0] == ids[1] and len(ids[0]) == 1
    ws.datasets.import_items("one", _items([QUESTIONS[0]]), source="test")
    with pytest.raises(BadInputError, match="1 training row is too few to split"):
        ws.build_training_set("tiny", datasets=["one"])
    whole = ws.build_training_set(
        "tiny", datasets=["one"], options=BuildOptions(validation_share=0)
    )
    assert ws.training_sets.get(whole.ref).spec.card.validation == 0


def test_items_that_are_not_a_conversation_need_a_prompt(ws: Workspace, tmp_path: Path) -> None:
    form = DatasetItem(id="form", variables={"name": "Ann", "topic": "refunds"}, reference="Hi")
    ws.datasets.import_items("forms", [form], source="test")
    with pytest.raises(BadInputError) as unclear:
        ws.build_training_set(
            "forms-ft", datasets=["forms"], options=BuildOptions(validation_share=0)
        )
    assert "item 'form' of forms@1" in unclear.value.message
    assert "--prompt" in str(unclear.value.hint)
    (tmp_path / "greet.prompt.yaml").write_text(
        "name: greet\nmessages:\n"
        "  - {role: system, content: 'Greet {{ name }}.'}\n"
        "  - {role: user, content: 'About {{ topic }}'}\n"
        "variables:\n  type: object\n"
        "  properties: {name: {type: string}, topic: {type: string}}\n"
    )
    ws.prompts.push([tmp_path / "greet.prompt.yaml"])
    built = ws.build_training_set(
        "forms-ft", datasets=["forms"], prompt="greet", options=BuildOptions(validation_share=0)
    )
    spec = ws.training_sets.get(built.ref).spec
    assert spec.card.prompt == "greet@1"
    assert [(m.role, m.content) for m in spec.train[0].messages] == [
        ("system", "Greet Ann."),
        ("user", "About refunds"),
        ("assistant", "Hi"),
    ]


def test_settled_reviews_become_training_rows(ws: Workspace) -> None:
    payload = {"variables": {"question": "Refunds?"}, "output": "Ten days."}
    row = ReviewRow("2026-12-01T00:00:00Z", "review.trace", "bot", "sampled", payload, "sampled")
    assert ws.reviews.enqueue([row]) == 1
    item = ws.reviews.next("sampled")
    assert item is not None
    ws.reviews.submit(item.id, "correct", correction="Five business days.")
    built = ws.build_training_set(
        "reviewed", queues=["sampled"], options=BuildOptions(validation_share=0)
    )
    (only,) = ws.training_sets.get(built.ref).spec.train
    assert [m.content for m in only.messages] == ["Refunds?", "Five business days."]
    assert only.origin == f"reviews of sampled#review-{item.id}"
    with pytest.raises(BadInputError, match="no settled item"):
        ws.build_training_set("none", queues=["empty-queue"])


def test_exports_load_in_openai_form_and_in_hugging_face_datasets(
    ws: Workspace, tmp_path: Path
) -> None:
    import datasets

    built = ws.build_training_set("support-ft", datasets=["support"])
    found = ws.training_sets.get(built.ref)
    written = export(found, "openai", tmp_path / "support")
    assert [path.name for path in written] == ["support.train.jsonl", "support.validation.jsonl"]
    lines = [json.loads(line) for line in written[0].read_text().splitlines()]
    assert lines[0]["messages"] == [m.model_dump() for m in found.spec.train[0].messages]
    folder = tmp_path / "hf"
    export(found, "huggingface", folder)
    loaded = datasets.load_dataset(str(folder))
    assert {name: len(split) for name, split in loaded.items()} == {"train": 4, "validation": 1}
    assert loaded["train"][0]["messages"] == lines[0]["messages"]
    assert f"content hash: `{found.hash}`" in (folder / "README.md").read_text()
    with pytest.raises(BadInputError, match="unknown export format"):
        export(found, "csv", tmp_path / "x")
