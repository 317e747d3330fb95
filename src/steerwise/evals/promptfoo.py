"""Import a promptfoo configuration: its prompts, test variables and common assertions become
steerwise prompt files, a dataset and scorer specs, and what could not be mapped is listed.

| promptfoo assertion | steerwise |
|---|---|
| `equals` | the item's reference, scored by `exact_match` (normalised: SQuAD's rules) |
| `contains`, `icontains` | the item's reference, scored by `contains` (case kept / folded) |
| `similar` (threshold t) | the item's reference, scored by `semantic_similarity:threshold=t` |
| `regex` | `regex:pattern=...` |
| `is-json`, `contains-json` | `json_valid` (`extract=true` for the second); with a schema |
| | `json_schema` |
| `llm-rubric` | `llm_judge:rubric=...` |
| `latency` (ms) / `cost` (dollars) | `latency:max_ms=...` / `cost:max_usd=...` |

A value that varies from test to test can only travel as the item's reference, so one kind
of reference assertion per test maps (the first); a scorer setting (a regex, a rubric, a
schema, a limit) must be the same in every test that has it. Everything else (other types,
`not-` assertions, varying settings, file references) is reported as not mapped, with how
often it occurs. Prompts become `promptfoo-N.prompt.yaml` files with one user message;
promptfoo's `{{ var }}` is Jinja2's too.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from steerwise.core.errors import BadInputError
from steerwise.core.evals import DatasetItem, DatasetSpec
from steerwise.core.yaml_input import YamlProblem, parse_bounded
from steerwise.versioning.files import describe_error

_REFERENCE_SCORERS = {"equals": "exact_match", "contains": "contains", "icontains": "contains"}


@dataclass
class PromptfooImport:
    """What a promptfoo configuration became."""

    prompts: list[tuple[str, str]]
    """(file name, prompt YAML) per prompt."""
    items: list[DatasetItem]
    scorers: list[str]
    unmapped: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "prompts": [name for name, _ in self.prompts],
            "items": len(self.items),
            "scorers": self.scorers,
            "unmapped": dict(self.unmapped),
        }


def read_promptfoo(path: str | Path) -> PromptfooImport:
    """Map the configuration at `path` (module docstring)."""
    config = _load(Path(path))
    tests = config.get("tests") or []
    if not isinstance(tests, list) or not tests:
        raise BadInputError(f"{path}: no inline `tests` list (tests from files are not read)")
    default = config.get("defaultTest") or {}
    mapping = _Mapping()
    items = [mapping.item(index, test, default) for index, test in enumerate(tests, start=1)]
    prompts = [_prompt(index, text, items) for index, text in enumerate(_prompts(config), 1)]
    return PromptfooImport(prompts, items, mapping.scorer_specs(), mapping.unmapped)


@dataclass
class _References:
    """The reference answers of one test, all from one kind of assertion."""

    kind: str = ""
    values: list[str] = field(default_factory=list)


class _Mapping:
    """Assertions seen so far: scorer settings (which must agree) and what did not map."""

    def __init__(self) -> None:
        self.scorers: dict[str, str] = {}  # scorer kind -> spec
        self.unmapped: Counter[str] = Counter()

    def item(self, index: int, test: Any, default: dict[str, Any]) -> DatasetItem:
        if not isinstance(test, dict):
            raise BadInputError(f"test {index} is not a mapping")
        variables = {**(default.get("vars") or {}), **(test.get("vars") or {})}
        references = _References()
        for check in [*(default.get("assert") or []), *(test.get("assert") or [])]:
            self._assertion(check if isinstance(check, dict) else {}, references)
        values = references.values
        return DatasetItem(
            id=str(test.get("description") or "").strip()[:200] or f"t{index}",
            variables=variables,
            reference=values[0] if len(values) == 1 else (values or None),
            tags=["promptfoo"],
        )

    def _assertion(self, check: dict[str, Any], references: _References) -> None:
        kind, value = str(check.get("type", "")), check.get("value")
        if kind in _REFERENCE_SCORERS or kind == "similar":
            self._reference(kind, value, check, references)
            return
        make = _SETTING_SPECS.get(kind)
        spec = make(value, check) if make else None
        if spec is None:
            self.unmapped[kind or "(no type)"] += 1
        elif self.scorers.setdefault(spec.partition(":")[0], spec) != spec:
            self.unmapped[f"{kind} (a setting that differs between tests)"] += 1

    def _reference(
        self, kind: str, value: Any, check: dict[str, Any], references: _References
    ) -> None:
        if not isinstance(value, str):
            self.unmapped[f"{kind} (not one text)"] += 1
            return
        scorer = _reference_spec(kind, check)
        if references.kind not in ("", kind):
            self.unmapped[f"{kind} (a second kind of reference in one test)"] += 1
            return
        if self.scorers.setdefault(scorer.partition(":")[0], scorer) != scorer:
            self.unmapped[f"{kind} (a setting that differs between tests)"] += 1
            return
        references.kind = kind
        references.values.append(value)

    def scorer_specs(self) -> list[str]:
        return list(self.scorers.values())


def _reference_spec(kind: str, check: dict[str, Any]) -> str:
    if kind == "similar":
        return f"semantic_similarity:threshold={float(check.get('threshold', 0.75))}"
    if kind == "contains":
        return "contains:ignore_case=false"
    return _REFERENCE_SCORERS[kind]


def _json(kind: str) -> SettingSpec:
    extract = "true" if kind == "contains-json" else "false"

    def spec(value: Any, check: dict[str, Any]) -> str | None:
        if isinstance(value, dict):
            schema = json.dumps(value, separators=(",", ":"))
            return f"json_schema:json_schema={schema},extract={extract}"
        return f"json_valid:extract={extract}"

    return spec


def _text_setting(template: str) -> SettingSpec:
    def spec(value: Any, check: dict[str, Any]) -> str | None:
        return template.format(json.dumps(value)) if isinstance(value, str) else None

    return spec


def _limit(template: str) -> SettingSpec:
    def spec(value: Any, check: dict[str, Any]) -> str | None:
        threshold = check.get("threshold")
        return template.format(threshold) if isinstance(threshold, int | float) else None

    return spec


SettingSpec = Callable[[Any, dict[str, Any]], "str | None"]
_SETTING_SPECS: dict[str, SettingSpec] = {
    "regex": _text_setting("regex:pattern={}"),
    "llm-rubric": _text_setting("llm_judge:rubric={}"),
    "is-json": _json("is-json"),
    "contains-json": _json("contains-json"),
    "latency": _limit("latency:max_ms={}"),
    "cost": _limit("cost:max_usd={}"),
}


def _load(path: Path) -> dict[str, Any]:
    try:
        data, _ = parse_bounded(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise BadInputError(f"{path}: cannot read it: {error.strerror}") from None
    except YamlProblem as error:
        where = f"{path}:{error.line}" if error.line else str(path)
        raise BadInputError(f"{where}: not valid YAML: {error.message}") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{path}: a promptfoo configuration is a mapping")
    return data


def _prompts(config: dict[str, Any]) -> list[str]:
    found = config.get("prompts") or []
    texts = [p if isinstance(p, str) else (p or {}).get("raw") for p in found]
    usable = [text for text in texts if isinstance(text, str) and not text.startswith("file://")]
    if not usable:
        raise BadInputError("no inline prompt to import (prompts from files are not read)")
    return usable


def _prompt(index: int, text: str, items: list[DatasetItem]) -> tuple[str, str]:
    names = sorted({name for item in items for name in item.variables})
    spec = {
        "name": f"promptfoo-{index}",
        "description": "Imported from a promptfoo configuration.",
        "messages": [{"role": "user", "content": text}],
        "variables": {
            "type": "object",
            "properties": {name: {} for name in names},
        },
    }
    return f"promptfoo-{index}.prompt.yaml", yaml.safe_dump(spec, sort_keys=False)


@dataclass(frozen=True)
class Imported:
    """What an import stored: prompt versions, the dataset version, the scorer specs."""

    prompts: list[str]
    dataset: str
    items: int
    scorers: list[str]
    unmapped: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(vars(self))


def import_promptfoo(
    path: str | Path,
    *,
    dataset: str,
    folder: Path,
    push_prompts: Callable[[list[Path]], list[str]],
    import_items: Callable[[str, list[DatasetItem], str], str],
) -> Imported:
    """Write the prompts as files in `folder` and push them, import the tests as `dataset`;
    everything is read and checked before anything is written."""
    mapped = read_promptfoo(path)
    try:
        DatasetSpec(name=dataset, items=mapped.items)
    except ValidationError as error:
        first = error.errors()[0]
        message = describe_error(tuple(first["loc"]), first["msg"], first["type"])
        raise BadInputError(f"{path}: the tests do not make a dataset: {message}") from None
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name, text in mapped.prompts:
        target = folder / name
        target.write_text(text, encoding="utf-8")
        files.append(target)
    refs = push_prompts(files)
    version = import_items(dataset, mapped.items, str(path))
    return Imported(refs, version, len(mapped.items), mapped.scorers, dict(mapped.unmapped))
