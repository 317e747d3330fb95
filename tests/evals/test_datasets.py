"""Datasets: import from JSONL and CSV on both stores, versions by content, item diffs,
export round trips, audit; bad files name the line and import nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from steerwise import BadInputError, Workspace
from steerwise.core.evals import DatasetItem
from steerwise.evals.datasets import export_lines, read_items

ITEMS = [
    {
        "id": "refund-time",
        "variables": {"question": "How long do refunds take?"},
        "reference": "Five working days.",
        "reference_doc_ids": ["returns"],
        "tags": ["billing"],
    },
    {
        "id": "shipping",
        "variables": {"question": "Do you ship to Norway?"},
        "reference": ["Yes.", "Yes, we ship to Norway."],
        "tags": ["shipping"],
    },
    {"id": "legal", "variables": {"question": "Can I sue you?"}, "tags": ["refuse"]},
]


def _jsonl(path: Path, rows: list[dict[str, object]], *, blank_after: int = -1) -> Path:
    lines = []
    for index, row in enumerate(rows):
        lines.append(json.dumps(row))
        if index == blank_after:
            lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_versions_by_content_and_audits(workspace: Workspace, tmp_path: Path) -> None:
    source = _jsonl(tmp_path / "qa.jsonl", ITEMS, blank_after=0)
    first = workspace.datasets.import_file("support-qa", source, description="support questions")
    assert (first.ref, first.status) == ("support-qa@1", "new")
    again = workspace.datasets.import_file("support-qa", source, description="support questions")
    assert again.status == "unchanged"
    stored = workspace.datasets.get("support-qa@1")
    assert [item.id for item in stored.spec.items] == ["refund-time", "shipping", "legal"]
    assert stored.spec.items[1].references == ("Yes.", "Yes, we ship to Norway.")
    assert stored.spec.items[2].references == ()
    assert stored.spec.items[0].origin == "file" and stored.spec.description == "support questions"
    changed = [dict(ITEMS[0], reference="Five business days."), *ITEMS[1:]]
    changed.append({"id": "warranty", "variables": {"question": "Warranty?"}, "reference": "2y"})
    second = workspace.datasets.import_file(
        "support-qa", _jsonl(tmp_path / "v2.jsonl", changed), description="support questions"
    )
    assert second.ref == "support-qa@2"
    diff = workspace.datasets.item_diff("support-qa@1", "support-qa@2")
    assert (diff.added, diff.removed, diff.changed, diff.unchanged) == (
        ["warranty"],
        [],
        ["refund-time"],
        2,
    )
    events = workspace.audit.events(limit=1000)
    actions = [event.action for event in events if event.target.startswith("dataset:")]
    assert actions == ["dataset.push", "dataset.push"]
    assert workspace.audit.verify().ok


def test_csv_columns_are_variables_and_lists_split_on_commas(tmp_path: Path) -> None:
    source = tmp_path / "qa.csv"
    source.write_text(
        "question,customer,reference,tags,reference_doc_ids\n"
        'How long do refunds take?,jo,Five working days.,"billing, refunds",returns\n'
        '"Multi-line\nquestion",ann,,,\n',
        encoding="utf-8",
    )
    items = read_items(source)
    assert [item.id for item in items] == ["1", "2"]  # no id column: the row number
    assert items[0].variables == {"question": "How long do refunds take?", "customer": "jo"}
    assert items[0].tags == ["billing", "refunds"] and items[0].reference_doc_ids == ["returns"]
    assert items[1].variables["question"] == "Multi-line\nquestion"
    assert items[1].references == () and items[1].tags == []


def test_export_round_trips_through_jsonl_and_csv(tmp_path: Path) -> None:
    items = read_items(_jsonl(tmp_path / "qa.jsonl", ITEMS))
    again = tmp_path / "again.jsonl"
    again.write_text("\n".join(export_lines(items, "jsonl")) + "\n", encoding="utf-8")
    assert read_items(again) == items
    single = [item for item in items if not isinstance(item.reference, list)]
    table = tmp_path / "again.csv"
    table.write_text("\n".join(export_lines(single, "csv")) + "\n", encoding="utf-8")
    assert read_items(table) == single
    with pytest.raises(BadInputError, match="'shipping' has several references"):
        list(export_lines(items, "csv"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "a"}\n{"id": "b", \n', r"qa.jsonl:2: not valid JSON"),
        ('{"id": "a"}\n{"variables": {}}\n', r"qa.jsonl:2: missing required key 'id'"),
        ('{"id": "a"}\n\n{"id": "a"}\n', r"qa.jsonl:3: duplicate id 'a' \(first on line 1\)"),
        ('{"id": "a", "variables": []}\n', r"qa.jsonl:1: variables: Input should be a valid dict"),
        ('{"id": "a", "refrence": "x"}\n', r"qa.jsonl:1: unknown key 'refrence'"),
        ('["a"]\n', r"qa.jsonl:1: an item must be a JSON object"),
        ("\n\n", r"qa.jsonl: no items"),
    ],
)
def test_a_bad_file_names_the_line_and_imports_nothing(
    sqlite_workspace: Workspace, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "qa.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BadInputError, match=message):
        sqlite_workspace.datasets.import_file("qa", path)
    assert sqlite_workspace.datasets.summaries() == []


def test_other_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no such file"):
        read_items(tmp_path / "missing.jsonl")
    odd = tmp_path / "qa.txt"
    odd.write_text("{}", encoding="utf-8")
    with pytest.raises(BadInputError, match=r"unknown format \.txt; use \.jsonl or \.csv"):
        read_items(odd)
    ragged = tmp_path / "qa.csv"
    ragged.write_text("question\nhello,extra\n", encoding="utf-8")
    with pytest.raises(BadInputError, match=r"qa\.csv:2: more cells than header columns"):
        read_items(ragged)
    empty_id = _jsonl(tmp_path / "empty-id.jsonl", [{"id": ""}])
    with pytest.raises(BadInputError, match="id: String should have at least 1 character"):
        read_items(empty_id)
    with pytest.raises(BadInputError, match="duplicate item id 'a'"):
        Workspace.init(tmp_path / "ws").datasets.import_items(
            "qa", [DatasetItem(id="a"), DatasetItem(id="a")], source="code"
        )
