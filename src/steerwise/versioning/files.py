"""Reading spec files (`*.prompt.yaml`, `*.policy.yaml`): YAML with line numbers, validated.

A `SpecFormat` says what a kind of file holds: its suffix, the pydantic model of its content,
and the checks beyond shape. Every problem is reported as `path:line: message`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import ValidationError

from steerwise.core.errors import BadInputError
from steerwise.core.versioning import VersionedSpec
from steerwise.core.yaml_input import YamlProblem, parse_bounded

Location = tuple[str | int, ...]
Problem = tuple[Location, str]
S = TypeVar("S", bound=VersionedSpec)


MAX_SPEC_BYTES = 5_000_000
"""A prompt, policy or other spec file larger than this is refused (YAML parses at about a
megabyte a second: a bigger file is a mistake or an attack, not a prompt)."""


@dataclass(frozen=True)
class SpecFormat(Generic[S]):
    """One kind of spec file: `noun` for messages, file `suffix`, content `model`, `check`."""

    noun: str
    suffix: str
    model: Callable[[Any], S]
    check: Callable[[S], Iterator[Problem]]


@dataclass(frozen=True)
class SpecFile(Generic[S]):
    """A validated spec file."""

    path: str
    spec: S
    lines: dict[Location, int] = field(default_factory=dict, compare=False, repr=False)

    def where(self, *location: str | int) -> str:
        """`path:line` of a part of the file (just `path` when the line is unknown)."""
        line = line_of(self.lines, location)
        return f"{self.path}:{line}" if line else self.path


def no_problems(spec: Any) -> Iterator[Problem]:
    """The `check` of a spec kind whose shape is all there is to check."""
    return iter(())


class FileProblem(BadInputError):
    """A problem in one file, with the line it was found on."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")


def find_spec_files(paths: Iterable[str | Path], form: SpecFormat[Any]) -> list[Path]:
    """Expand files and folders (recursively) into files with the format's suffix, sorted."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(path.rglob(f"*{form.suffix}")))
        elif path.is_file():
            found.append(path)
        else:
            raise BadInputError(f"{path}: no such file or folder")
    if not found:
        raise BadInputError(
            f"no {form.noun} files found", hint=f"{form.noun} files are named NAME{form.suffix}"
        )
    return found


def load_spec_files(paths: Sequence[Path], form: SpecFormat[S]) -> list[SpecFile[S]]:
    """Read and validate every file; raise one error listing every bad file."""
    loaded: list[SpecFile[S]] = []
    problems: list[str] = []
    for path in paths:
        try:
            loaded.append(load_spec_file(path, form))
        except BadInputError as error:
            problems.append(error.message)
    if problems:
        raise BadInputError("\n".join(problems), hint="fix the files above; nothing was written")
    _reject_duplicate_names(loaded, form.noun)
    return loaded


def load_spec_file(path: Path, form: SpecFormat[S]) -> SpecFile[S]:
    """Read, parse and validate one spec file (at most `MAX_SPEC_BYTES`)."""
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise FileProblem(
                str(path), None, f"the file is {size:,} bytes, over the limit of {MAX_SPEC_BYTES:,}"
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise FileProblem(str(path), None, f"cannot read the file: {error}") from error
    data, lines = parse_yaml(str(path), text)
    if not isinstance(data, dict):
        raise FileProblem(str(path), 1, f"a {form.noun} file must be a YAML mapping (name: ...)")
    return spec_file_from_data(str(path), data, form, lines=lines)


def spec_file_from_data(
    source: str, data: Any, form: SpecFormat[S], *, lines: dict[Location, int] | None = None
) -> SpecFile[S]:
    """Validate parsed data (a file's YAML, a request's JSON) as a spec of `form`."""
    lines = lines or {}
    if not isinstance(data, dict):
        raise FileProblem(source, None, f"a {form.noun} must be an object (name: ...)")
    try:
        spec = form.model(data)
    except ValidationError as error:
        first = error.errors()[0]
        location = tuple(first["loc"])
        raise FileProblem(
            source, line_of(lines, location), describe_error(location, first["msg"], first["type"])
        ) from None
    problem = next(form.check(spec), None)
    if problem is not None:
        location, message = problem
        raise FileProblem(source, line_of(lines, location), message)
    return SpecFile(source, spec, lines)


def parse_yaml(path: str, text: str) -> tuple[Any, dict[Location, int]]:
    """Parse YAML safely; return the data and the line (1-based) of each key and item."""
    try:
        data, node = parse_bounded(text)
    except YamlProblem as error:
        raise FileProblem(path, error.line, error.message) from None
    lines: dict[Location, int] = {}
    if node is not None:
        _collect_lines(path, node, (), lines)
    return data, lines


def _collect_lines(path: str, node: yaml.Node, at: Location, lines: dict[Location, int]) -> None:
    lines[at] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                raise FileProblem(path, key_node.start_mark.line + 1, f"duplicate key {key!r}")
            seen.add(key)
            _collect_lines(path, value_node, (*at, key), lines)
            lines[(*at, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_lines(path, item, (*at, index), lines)


def line_of(lines: dict[Location, int], location: Location) -> int | None:
    """The line of the deepest known part of `location`."""
    for end in range(len(location), -1, -1):
        line = lines.get(tuple(location[:end]))
        if line is not None:
            return line
    return None


def describe_error(location: Location, message: str, kind: str) -> str:
    """A pydantic error as a sentence naming the key."""
    if kind == "extra_forbidden":
        return f"unknown key {field_name(location)!r}"
    if kind == "missing":
        return f"missing required key {field_name(location)!r}"
    return f"{field_name(location)}: {message}"


def field_name(location: Location) -> str:
    """`messages[0].role` for ('messages', 0, 'role')."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _reject_duplicate_names(files: Sequence[SpecFile[Any]], noun: str) -> None:
    first_seen: dict[str, str] = {}
    for file in files:
        other = first_seen.setdefault(file.spec.name, file.path)
        if other != file.path:
            raise BadInputError(
                f"{file.path}: {noun} {file.spec.name!r} is also defined in {other}",
                hint=f"each {noun} name may appear in one file of a push",
            )
