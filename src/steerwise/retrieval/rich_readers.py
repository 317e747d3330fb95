"""Readers of HTML, PDF and DOCX files (`steerwise.retrieval.readers` loads this module, and
with it bs4, pypdf and python-docx, the first time it reads such a file)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
from bs4 import BeautifulSoup, Tag
from bs4.element import NavigableString
from docx.table import Table
from docx.text.paragraph import Paragraph
from pypdf import PasswordType, PdfReader

from steerwise.retrieval.readers import (
    METADATA_KEYS,
    Format,
    Reader,
    SkipFile,
    collapse,
    decode,
    normalise_newlines,
    parser_error,
)

# --- HTML


_HTML_DROPPED = ("script", "style", "nav", "footer", "head", "title", "noscript", "template")
_HTML_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_HTML_PARAGRAPHS = {"p": "", "li": "- ", "td": "", "th": ""}
_HTML_INLINE = frozenset(
    {"a", "abbr", "b", "bdi", "bdo", "br", "cite", "code", "data", "del", "dfn", "em", "font"}
    | {"i", "img", "ins", "kbd", "label", "mark", "q", "s", "samp", "small", "span", "strike"}
    | {"strong", "sub", "sup", "time", "tt", "u", "var", "wbr"}
)


def _read_html(path: Path, data: bytes) -> tuple[str, dict[str, str]]:
    soup = BeautifulSoup(decode(path, data), "html.parser")
    metadata = _html_metadata(soup)
    for tag in soup.find_all([*_HTML_DROPPED]):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with(" ")
    return "\n\n".join(_html_blocks(soup)), metadata


def _html_metadata(soup: BeautifulSoup) -> dict[str, str]:
    metadata: dict[str, str] = {}
    for meta in soup.find_all("meta"):
        name, content = meta.get("name"), meta.get("content")
        if not (isinstance(name, str) and isinstance(content, str)):
            continue
        if name.lower() in METADATA_KEYS and (value := collapse(content)):
            metadata[name.lower()] = value
    if soup.title is not None and (title := collapse(soup.title.get_text())):
        metadata["title"] = title
    return metadata


def _html_blocks(node: Tag) -> Iterator[str]:
    """Headings and paragraphs in document order; loose inline text becomes a paragraph."""
    inline: list[str] = []
    for child in node.children:
        if isinstance(child, Tag) and child.name not in _HTML_INLINE:
            yield from _flush(inline)
            yield from _html_block(child)
        elif isinstance(child, Tag):
            inline.append(child.get_text())
        elif type(child) is NavigableString:  # comments, doctypes and CDATA are not text
            inline.append(str(child))
    yield from _flush(inline)


def _html_block(tag: Tag) -> Iterator[str]:
    if tag.name in _HTML_HEADINGS or tag.name in _HTML_PARAGRAPHS:
        text = collapse(tag.get_text())
        if text and tag.name in _HTML_HEADINGS:
            yield "#" * _HTML_HEADINGS[tag.name] + " " + text
        elif text:
            yield _HTML_PARAGRAPHS[tag.name] + text
    else:
        yield from _html_blocks(tag)


def _flush(inline: list[str]) -> Iterator[str]:
    text = collapse("".join(inline))
    inline.clear()
    if text:
        yield text


# --- PDF


def _read_pdf(path: Path, data: bytes) -> tuple[str, dict[str, str]]:
    try:
        reader = PdfReader(io.BytesIO(data))
        locked = reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED
        pages = [] if locked else [_pdf_page_text(page) for page in reader.pages]
        title = None if locked else _pdf_title(reader)
    except Exception as error:  # pypdf raises many exception types on damaged files
        raise SkipFile(path, f"corrupt PDF: {parser_error(error)}") from error
    if locked:
        raise SkipFile(path, "encrypted PDF")
    if not any(pages):
        raise SkipFile(path, "PDF has no text layer")
    text = "\n\n".join(page for page in pages if page)
    return text, ({"title": title} if title else {})


def _pdf_page_text(page: Any) -> str:
    text: str = page.extract_text() or ""
    return normalise_newlines(text).strip()


def _pdf_title(reader: PdfReader) -> str | None:
    metadata = reader.metadata
    title = metadata.title if metadata is not None else None
    return collapse(str(title)) if title else None


# --- DOCX

_DOCX_HEADING = re.compile(r"heading\s*(\d+)", re.IGNORECASE)


def _read_docx(path: Path, data: bytes) -> tuple[str, dict[str, str]]:
    try:
        document: Any = docx.Document(io.BytesIO(data))
    except Exception as error:  # python-docx raises zip, XML and key errors on damaged files
        raise SkipFile(path, f"corrupt DOCX: {parser_error(error)}") from error
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            blocks.extend(_docx_rows(item))
        elif isinstance(item, Paragraph) and (text := _docx_paragraph(item)):
            blocks.append(text)
    title = collapse(document.core_properties.title or "")
    return normalise_newlines("\n\n".join(blocks)), ({"title": title} if title else {})


def _docx_paragraph(paragraph: Paragraph) -> str:
    text = paragraph.text.strip()
    style = (paragraph.style.name if paragraph.style is not None else None) or ""
    if not text:
        return ""
    if level := _docx_heading_level(style):
        return "#" * level + " " + collapse(text)
    return "- " + text if style.startswith("List") else text


def _docx_heading_level(style: str) -> int:
    if style == "Title":
        return 1
    match = _DOCX_HEADING.fullmatch(style)
    return min(int(match.group(1)), 6) if match else 0


def _docx_rows(table: Table) -> Iterator[str]:
    for row in table.rows:
        cells = [collapse(cell.text) for cell in row.cells]
        if any(cells):
            yield " | ".join(cells)


READERS: dict[Format, Reader] = {"html": _read_html, "pdf": _read_pdf, "docx": _read_docx}
