"""Datasets: versioned sets of evaluation items, imported from JSONL or CSV.

A dataset version is immutable and identified by `NAME@VERSION`; its content hash covers the
items in order, so importing the same items again keeps the version. Versions, labels and
history are the shared `VersionedRegistry`'s (every import is audited as `dataset.push`).

A JSONL file holds one item per line: `{"id", "variables": {...}, "reference": "..." or
[...], "reference_doc_ids": [...], "tags": [...]}` (blank lines are skipped). A CSV file has
a header; `id`, `reference`, `reference_doc_ids` and `tags` are read as such (the last two
comma-separated inside their cell; without an `id` column the row number is the id) and
every other column is a variable. Any problem names the file and line, and nothing is
imported.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from steerwise.core.actors import Actor
from steerwise.core.errors import BadInputError
from steerwise.core.evals import DatasetItem, DatasetSpec
from steerwise.core.json_input import parse_json
from steerwise.core.traces import Trace
from steerwise.core.versioning import PushResult, SpecVersion
from steerwise.store import Store
from steerwise.versioning.files import FileProblem, SpecFormat, describe_error, no_problems
from steerwise.versioning.registry import VersionedRegistry

Dataset = SpecVersion[DatasetSpec]
MAX_FILE_BYTES = 200_000_000
_CSV_FIELDS = ("id", "reference", "reference_doc_ids", "tags")


DATASET_FORMAT: SpecFormat[DatasetSpec] = SpecFormat(
    noun="dataset", suffix=".dataset.json", model=DatasetSpec.model_validate, check=no_problems
)


@dataclass(frozen=True)
class DatasetDiff:
    """What changed between two versions, by item id."""

    old: str
    new: str
    added: list[str]
    removed: list[str]
    changed: list[str]
    unchanged: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "old": self.old,
            "new": self.new,
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "unchanged": self.unchanged,
        }


class DatasetRegistry(VersionedRegistry[DatasetSpec]):
    """The datasets of one workspace (module docstring)."""

    def __init__(self, store: Store, *, actor: Actor, label_cache_ttl_s: float = 1.0) -> None:
        super().__init__(store, DATASET_FORMAT, actor=actor, label_cache_ttl_s=label_cache_ttl_s)

    def import_file(self, name: str, path: str | Path, *, description: str = "") -> PushResult:
        """Read every item of a JSONL or CSV file, then store them as a new version of `name`
        (unchanged items: the same version). Nothing is stored if any item is wrong."""
        return self.import_items(name, read_items(path), source=str(path), description=description)

    def import_items(
        self, name: str, items: list[DatasetItem], *, source: str, description: str = ""
    ) -> PushResult:
        """Store `items` as a new version of `name` (built in code, from traces or reviews)."""
        if not items:
            raise BadInputError(f"dataset {name!r}: no items to import ({source})")
        try:
            spec = DatasetSpec(name=name, description=description, items=items)
        except ValidationError as error:
            first = error.errors()[0]
            message = describe_error(tuple(first["loc"]), first["msg"], first["type"])
            raise BadInputError(f"dataset {name!r}: {message}") from None
        return self.push_spec(spec, source)

    def import_traces(
        self,
        name: str,
        traces: Iterable[Trace],
        *,
        source: str,
        outcome: str | None = None,
        status: str | None = None,
        with_outputs: bool = False,
    ) -> PushResult:
        """Store the requests of `traces` (those with `outcome` and `status`, if given) as a
        new version of `name`: their (scrubbed) variables as inputs, and with `with_outputs`
        their answers as references (a regression set of what the release said)."""
        items = items_from_traces(
            (t for t in traces if outcome in (None, t.outcome) and status in (None, t.status)),
            with_outputs=with_outputs,
        )
        if not items:
            raise BadInputError(f"{source}: no trace matches", hint="see: steerwise traces list")
        return self.import_items(name, items, source=source)

    def item_diff(self, old_ref: str, new_ref: str) -> DatasetDiff:
        """Items added, removed and changed (by id) from one version to another."""
        old, new = self.get(old_ref), self.get(new_ref)
        before = {item.id: item.without_origin() for item in old.spec.items}
        after = {item.id: item.without_origin() for item in new.spec.items}
        shared = [key for key in after if key in before]
        changed = [key for key in shared if before[key] != after[key]]
        return DatasetDiff(
            old.ref,
            new.ref,
            added=[key for key in after if key not in before],
            removed=[key for key in before if key not in after],
            changed=changed,
            unchanged=len(shared) - len(changed),
        )


def items_from_traces(traces: Iterable[Trace], *, with_outputs: bool) -> list[DatasetItem]:
    """One item per trace (oldest first): id and origin from the trace, its variables, its
    outcome and target as tags, and its answer as the reference when asked (and it has one)."""
    items = []
    for trace in sorted(traces, key=lambda t: (t.created_at, t.id)):
        reference = trace.output if with_outputs and trace.output else None
        items.append(
            DatasetItem(
                id=trace.id[:16],
                variables=dict(trace.input),
                reference=reference,
                tags=[trace.outcome, trace.target],
                origin="trace",
                origin_ref=trace.id,
            )
        )
    return items


def read_items(path: str | Path) -> list[DatasetItem]:
    """The items of a JSONL or CSV file (by its suffix; `.jsonl`, `.json` or `.csv`)."""
    file = Path(path)
    if not file.is_file():
        raise BadInputError(f"{path}: no such file")
    if file.stat().st_size > MAX_FILE_BYTES:
        raise BadInputError(f"{path}: larger than {MAX_FILE_BYTES // 1_000_000} MB")
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise BadInputError(f"{path}: not UTF-8 text ({error.reason})") from None
    suffix = file.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        rows = _jsonl_rows(str(path), text)
    elif suffix == ".csv":
        rows = _csv_rows(str(path), text)
    else:
        raise BadInputError(f"{path}: unknown format {suffix or '(none)'}; use .jsonl or .csv")
    items = _checked(str(path), rows)
    if not items:
        raise BadInputError(f"{path}: no items")
    return items


def _jsonl_rows(path: str, text: str) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, parse_json(line)
        except json.JSONDecodeError as error:
            raise FileProblem(path, number, f"not valid JSON: {error.msg}") from None


def _csv_rows(path: str, text: str) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        raise FileProblem(path, 1, "no header row")
    for index, row in enumerate(reader, start=1):
        if None in row:
            raise FileProblem(path, reader.line_num, "more cells than header columns")
        yield reader.line_num, _csv_item(row, index)


def _csv_item(row: dict[str, str], index: int) -> dict[str, Any]:
    variables = {key: value for key, value in row.items() if key not in _CSV_FIELDS}
    item: dict[str, Any] = {"id": row.get("id") or str(index), "variables": variables}
    if row.get("reference"):
        item["reference"] = row["reference"]
    for listed in ("reference_doc_ids", "tags"):
        cells = [part.strip() for part in (row.get(listed) or "").split(",")]
        item[listed] = [part for part in cells if part]
    return item


def _checked(path: str, rows: Iterator[tuple[int, Any]]) -> list[DatasetItem]:
    items: list[DatasetItem] = []
    first_line: dict[str, int] = {}
    for line, row in rows:
        if not isinstance(row, dict):
            raise FileProblem(path, line, "an item must be a JSON object")
        try:
            item = DatasetItem.model_validate(row)
        except ValidationError as error:
            first = error.errors()[0]
            message = describe_error(tuple(first["loc"]), first["msg"], first["type"])
            raise FileProblem(path, line, message) from None
        if item.id in first_line:
            raise FileProblem(
                path, line, f"duplicate id {item.id!r} (first on line {first_line[item.id]})"
            )
        first_line[item.id] = line
        items.append(item)
    return items


def export_lines(items: list[DatasetItem], form: str) -> Iterator[str]:
    """The items as JSONL lines (every field, so that an import gives them back) or CSV rows
    (variables as columns; a list reference or a non-text variable has no CSV form)."""
    if form == "jsonl":
        for item in items:
            yield json.dumps(item.model_dump(mode="json"), ensure_ascii=False)
        return
    names = list(dict.fromkeys(key for item in items for key in item.variables))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", *names, "reference", "reference_doc_ids", "tags"])
    for item in items:
        writer.writerow(_csv_cells(item, names))
    yield from buffer.getvalue().splitlines()


def _csv_cells(item: DatasetItem, names: list[str]) -> list[str]:
    if isinstance(item.reference, list):
        raise BadInputError(
            f"item {item.id!r} has several references, which CSV cannot hold: export as jsonl"
        )
    cells = []
    for name in names:
        value = item.variables.get(name, "")
        if not isinstance(value, str):
            raise BadInputError(
                f"item {item.id!r}: variable {name!r} is not text, which CSV cannot hold:"
                " export as jsonl"
            )
        cells.append(value)
    listed = [",".join(item.reference_doc_ids), ",".join(item.tags)]
    return [item.id, *cells, item.reference or "", *listed]
