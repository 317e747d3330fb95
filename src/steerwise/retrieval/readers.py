"""Read knowledge files (Markdown, text, HTML, PDF, DOCX) into text and metadata.

Every reader gives the same shape: the body as text, structure kept as Markdown headings
("# Title", "## Section") and paragraphs separated by a blank line, plus the few metadata
keys ingestion knows. A file that cannot be ingested raises `SkipFile` with a short reason.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from steerwise.core.errors import BadInputError
from steerwise.core.yaml_input import YamlProblem, parse_bounded

Format = Literal["markdown", "text", "html", "pdf", "docx"]

SUPPORTED_SUFFIXES: dict[str, Format] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}

MAX_BYTES_DEFAULT = 20 * 1024 * 1024

METADATA_KEYS = ("id", "title", "owner", "updated", "valid_until")

Reader = Callable[[Path, bytes], tuple[str, dict[str, str]]]


@dataclass(frozen=True)
class ReadDocument:
    """One file read into text with Markdown headings, its metadata and checksum."""

    path: Path
    format: Format
    text: str
    metadata: dict[str, str]
    checksum: str


class SkipFile(BadInputError):
    """Why a file was not ingested; `reason` is one short phrase."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def discover(paths: Sequence[str | Path]) -> tuple[list[Path], list[SkipFile]]:
    """Expand files and folders (recursively, sorted) into the files to read.

    Inside folders, hidden entries and files of an unsupported type are ignored silently and
    symlinked folders are not followed; paths given explicitly are reported when they cannot
    be read.
    """
    files: list[Path] = []
    skipped: list[SkipFile] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            _walk(path, files, skipped)
        elif not path.exists():
            skipped.append(SkipFile(path, "does not exist"))
        elif path.suffix.lower() not in SUPPORTED_SUFFIXES:
            skipped.append(SkipFile(path, _unsupported(path)))
        else:
            files.append(path)
    return list(dict.fromkeys(files)), skipped


def read_document(path: Path, *, max_bytes: int = MAX_BYTES_DEFAULT) -> ReadDocument:
    """Read one file, or raise SkipFile with the reason."""
    format_ = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if format_ is None:
        raise SkipFile(path, _unsupported(path))
    data = _read_bytes(path, max_bytes)
    text, metadata = _reader(format_)(path, data)
    if not text.strip():
        raise SkipFile(path, "no text")
    if "title" not in metadata and (heading := _first_heading(text)):
        metadata["title"] = heading
    checksum = "sha256:" + hashlib.sha256(data).hexdigest()
    return ReadDocument(path, format_, text, metadata, checksum)


def _walk(folder: Path, files: list[Path], skipped: list[SkipFile]) -> None:
    try:
        entries = sorted(folder.iterdir())
    except OSError as error:
        skipped.append(SkipFile(folder, f"cannot read: {_os_detail(error)}"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            if not entry.is_symlink():
                _walk(entry, files, skipped)
        elif entry.is_file() and entry.suffix.lower() in SUPPORTED_SUFFIXES:
            files.append(entry)


def _unsupported(path: Path) -> str:
    return f"unsupported file type {path.suffix or '(no suffix)'}"


def _os_detail(error: OSError) -> str:
    return error.strerror or str(error)


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, checking its size before reading it."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise SkipFile(path, "cannot read: not a regular file")
        _check_size(path, info.st_size, max_bytes)
        with path.open("rb") as file:
            data = file.read(max_bytes + 1)
    except FileNotFoundError:
        raise SkipFile(path, "does not exist") from None
    except OSError as error:
        raise SkipFile(path, f"cannot read: {_os_detail(error)}") from error
    _check_size(path, len(data), max_bytes)  # the file may have changed since stat
    return data


def _check_size(path: Path, size: int, max_bytes: int) -> None:
    if size == 0:
        raise SkipFile(path, "empty file")
    if size > max_bytes:
        raise SkipFile(path, f"file too large ({size} bytes, limit {max_bytes})")


def decode(path: Path, data: bytes) -> str:
    """Strict UTF-8 (a leading BOM is dropped) with line endings normalised to \\n."""
    if b"\x00" in data:
        raise SkipFile(path, "binary content")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SkipFile(path, "not UTF-8 text") from None
    return normalise_newlines(text)


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def collapse(text: str) -> str:
    return " ".join(text.split())


def parser_error(error: Exception) -> str:
    """A short, one-line description of a parser's error."""
    lines = str(error).strip().splitlines()
    first = lines[0] if lines else type(error).__name__
    return first[:120]


_HEADING = re.compile(r"#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*")


def _first_heading(text: str) -> str | None:
    """The text of the first Markdown heading outside fenced code, if any."""
    in_fence = False
    for line in text.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        elif not in_fence and (match := _HEADING.fullmatch(line)):
            return match.group(1).strip()
    return None


# --- Markdown and text


_FRONT_MATTER = re.compile(r"---[ \t]*\n(.*?)^(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S | re.M)


def _read_text(path: Path, data: bytes) -> tuple[str, dict[str, str]]:
    return decode(path, data).strip("\n"), {}


def _read_markdown(path: Path, data: bytes) -> tuple[str, dict[str, str]]:
    text = decode(path, data)
    if text.split("\n", 1)[0].rstrip() != "---":
        return text.strip("\n"), {}
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise SkipFile(path, "malformed front matter: no closing '---' line")
    return text[match.end() :].strip("\n"), _front_matter(path, match.group(1))


def _front_matter(path: Path, source: str) -> dict[str, str]:
    try:
        loaded, _ = parse_bounded(source)
    except YamlProblem as error:
        raise SkipFile(path, f"malformed front matter: {error.message}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise SkipFile(path, "malformed front matter: not a mapping")
    values = {key: _metadata_value(loaded.get(key)) for key in METADATA_KEYS}
    return {key: value for key, value in values.items() if value}


def _metadata_value(value: object) -> str | None:
    """A front matter value as text; dates as ISO strings, lists and mappings ignored."""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value).strip() or None
    return None


_PLAIN_READERS: dict[Format, Reader] = {"markdown": _read_markdown, "text": _read_text}


def _reader(format_: Format) -> Reader:
    """The reader of a format; HTML, PDF and DOCX load their parsers (bs4, pypdf,
    python-docx) on first use, so that commands that read no such file do not pay for them."""
    if format_ in _PLAIN_READERS:
        return _PLAIN_READERS[format_]
    from steerwise.retrieval.rich_readers import READERS

    return READERS[format_]
