"""TrainingSets: versioned fine-tuning datasets, and their exports.

A training set version (`NAME@VERSION`) holds its train and validation conversations and its
data card; like every versioned spec it has labels, history and an audit event per change
(`training-set.push`). Exports: OpenAI's chat fine-tuning JSONL, and a Hugging Face
`datasets` folder (`data/train.jsonl`, `data/validation.jsonl` and a dataset card whose
front matter names the splits, which `datasets.load_dataset(FOLDER)` reads).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import yaml

from steerwise.core.actors import Actor
from steerwise.core.errors import BadInputError
from steerwise.core.finetune import ChatRow, TrainingSetSpec
from steerwise.core.versioning import PushResult, SpecVersion
from steerwise.finetune.building import BuildOptions, RowSource, build_spec
from steerwise.store import Store
from steerwise.versioning.files import SpecFormat, no_problems
from steerwise.versioning.registry import VersionedRegistry

TrainingSet = SpecVersion[TrainingSetSpec]
EXPORT_FORMATS = ("openai", "huggingface")


TRAINING_SET_FORMAT: SpecFormat[TrainingSetSpec] = SpecFormat(
    noun="training-set",
    suffix=".training-set.json",
    model=TrainingSetSpec.model_validate,
    check=no_problems,
)


class TrainingSets(VersionedRegistry[TrainingSetSpec]):
    """The fine-tuning datasets of one workspace (module docstring)."""

    def __init__(self, store: Store, *, actor: Actor, label_cache_ttl_s: float = 1.0) -> None:
        super().__init__(
            store, TRAINING_SET_FORMAT, actor=actor, label_cache_ttl_s=label_cache_ttl_s
        )

    def build(
        self,
        name: str,
        sources: Sequence[RowSource],
        options: BuildOptions,
        *,
        description: str = "",
    ) -> PushResult:
        """Build a training set from `sources` and store it as a new version of `name` (the
        same rows again: the same version). Nothing is stored if any row is refused."""
        spec = build_spec(name, sources, options, description=description)
        origins = ", ".join(source.origin for source in sources)
        return self.push_spec(spec, origins)


def export(found: TrainingSet, form: str, destination: Path) -> list[Path]:
    """Write a training set version as OpenAI JSONL (`DEST` is a file prefix: DEST.train.jsonl
    and DEST.validation.jsonl) or a Hugging Face dataset folder; the paths written."""
    if form not in EXPORT_FORMATS:
        raise BadInputError(f"unknown export format {form!r}; use {' or '.join(EXPORT_FORMATS)}")
    splits = {"train": found.spec.train, "validation": found.spec.validation}
    if form == "openai":
        return [
            _write_jsonl(Path(f"{destination}.{split}.jsonl"), rows)
            for split, rows in splits.items()
            if rows
        ]
    data = destination / "data"
    data.mkdir(parents=True, exist_ok=True)
    written = [
        _write_jsonl(data / f"{split}.jsonl", rows) for split, rows in splits.items() if rows
    ]
    card = destination / "README.md"
    card.write_text(dataset_card(found, [split for split, rows in splits.items() if rows]))
    return [*written, card]


def _write_jsonl(path: Path, rows: Sequence[ChatRow]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            line = {**row.openai_line(), "id": row.id, "origin": row.origin}
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    return path


def dataset_card(found: TrainingSet, splits: Sequence[str]) -> str:
    """A Hugging Face dataset card: front matter naming the split files, then the data card."""
    front = {
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": split, "path": f"data/{split}.jsonl"} for split in splits],
            }
        ],
        "tags": ["steerwise", "chat", "fine-tuning"],
    }
    card = found.spec.card
    lines = [
        "---",
        yaml.safe_dump(front, sort_keys=False).rstrip(),
        "---",
        "",
        f"# {found.ref}",
        "",
        found.spec.description or "A steerwise training set.",
        "",
        f"- content hash: `{found.hash}`",
        f"- rows: {card.train} train, {card.validation} validation (seed {card.seed})",
        f"- origins: {', '.join(card.origins)}",
        f"- personal data: {card.pii_rows} rows ({card.pii_action})",
        *(f"- {note}" for note in card.filters),
    ]
    return "\n".join(lines) + "\n"
