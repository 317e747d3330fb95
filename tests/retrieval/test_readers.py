"""File readers: real Markdown, text, HTML, PDF and DOCX files written into a temporary folder."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

import steerwise
from steerwise.retrieval.readers import (
    SUPPORTED_SUFFIXES,
    ReadDocument,
    SkipFile,
    discover,
    read_document,
)

MARKDOWN_WITH_FRONT_MATTER = """\
---
id: returns-policy
title: Returns Policy
owner: customer-care
updated: 2026-03-01
valid_until: 2027-03-31
tags: [returns, refunds]
---

# Returns Policy

You can return an item within 30 days.

## Refunds

Refunds take five working days.
"""


def _write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def _skip_reason(path: Path, **options: int) -> str:
    with pytest.raises(SkipFile) as caught:
        read_document(path, **options)
    assert caught.value.path == path
    return caught.value.reason


def _pdf_bytes(*pages: str, title: str | None = None) -> bytes:
    pdf = FPDF()
    if title is not None:
        pdf.set_title(title)
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.cell(text=text)
    return bytes(pdf.output())


def _encrypted(pdf: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password, owner_password="owner-secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_markdown_front_matter_becomes_metadata_and_is_removed(tmp_path: Path) -> None:
    path = _write(tmp_path / "returns.md", MARKDOWN_WITH_FRONT_MATTER)
    document = read_document(path)
    assert document == ReadDocument(
        path=path,
        format="markdown",
        text="# Returns Policy\n\nYou can return an item within 30 days.\n\n"
        "## Refunds\n\nRefunds take five working days.",
        metadata={
            "id": "returns-policy",
            "title": "Returns Policy",
            "owner": "customer-care",
            "updated": "2026-03-01",
            "valid_until": "2027-03-31",
        },
        checksum="sha256:" + hashlib.sha256(path.read_bytes()).hexdigest(),
    )


def test_markdown_without_front_matter_takes_title_from_first_heading(tmp_path: Path) -> None:
    lines = ["Intro line.", "", "```sh", "# not a heading", "```", "", "## Warranty  ##", "Two"]
    document = read_document(_write(tmp_path / "warranty.markdown", "\r\n".join(lines) + "\r\n"))
    assert document.format == "markdown"
    assert document.text == "\n".join(lines)
    assert document.metadata == {"title": "Warranty"}


@pytest.mark.parametrize(
    ("front_matter", "reason"),
    [
        ("title: [unclosed\n", "malformed front matter: "),
        ("- just\n- a list\n", "malformed front matter: not a mapping"),
    ],
)
def test_malformed_front_matter_is_skipped(tmp_path: Path, front_matter: str, reason: str) -> None:
    path = _write(tmp_path / "bad.md", f"---\n{front_matter}---\n\n# Body\n")
    assert _skip_reason(path).startswith(reason)


def test_unclosed_front_matter_is_skipped(tmp_path: Path) -> None:
    path = _write(tmp_path / "open.md", "---\ntitle: Open\n\n# Body\n")
    assert _skip_reason(path) == "malformed front matter: no closing '---' line"


def test_text_file_keeps_its_lines_with_unix_line_endings(tmp_path: Path) -> None:
    document = read_document(_write(tmp_path / "notes.txt", "\r\nLine one\r\nLine two\r\n\r\n"))
    assert (document.format, document.text, document.metadata) == (
        "text",
        "Line one\nLine two",
        {},
    )
    assert document.checksum.startswith("sha256:") and len(document.checksum) == 7 + 64


def test_utf8_bom_is_dropped(tmp_path: Path) -> None:
    path = _write(tmp_path / "bom.text", "\ufeffCafé opening hours".encode())
    assert read_document(path).text == "Café opening hours"


def test_html_keeps_headings_paragraphs_and_meta(tmp_path: Path) -> None:
    html = """<!DOCTYPE html>
<html><head><title>Shipping  Guide</title>
<meta name="owner" content="logistics"><meta name="updated" content="2026-03-01">
<meta name="valid_until" content="2027-03-01"><meta name="id" content="shipping">
<meta name="description" content="not kept">
<style>p { color: red; }</style></head>
<body><nav><a href="/">Home</a></nav>
<h1>Shipping</h1>
<!-- a comment -->
<p>We ship   to the
 whole UK.</p>
<script>var tracking = 1;</script>
<h3>Costs</h3>
<ul><li>Standard: <b>free</b> over £50</li><li>Next day: £6</li></ul>
<div>Loose <em>text</em> here<br>and more</div>
<table><tr><td>Zone</td><td>Days</td></tr></table>
<footer>Copyright</footer>
</body></html>"""
    document = read_document(_write(tmp_path / "shipping.htm", html))
    assert document.format == "html"
    assert document.text == (
        "# Shipping\n\nWe ship to the whole UK.\n\n### Costs\n\n- Standard: free over £50\n\n"
        "- Next day: £6\n\nLoose text here and more\n\nZone\n\nDays"
    )
    assert document.metadata == {
        "title": "Shipping Guide",
        "owner": "logistics",
        "updated": "2026-03-01",
        "valid_until": "2027-03-01",
        "id": "shipping",
    }


def test_html_without_title_uses_first_heading(tmp_path: Path) -> None:
    path = _write(tmp_path / "page.html", "<body><h2>Opening hours</h2><p>9 to 5.</p></body>")
    assert read_document(path).metadata == {"title": "Opening hours"}


def test_pdf_pages_are_joined_with_blank_lines(tmp_path: Path) -> None:
    pdf = _pdf_bytes("Returns within 30 days.", "Refunds take five days.", title="Returns Guide")
    document = read_document(_write(tmp_path / "guide.pdf", pdf))
    assert (document.format, document.text, document.metadata) == (
        "pdf",
        "Returns within 30 days.\n\nRefunds take five days.",
        {"title": "Returns Guide"},
    )


def test_encrypted_pdf_is_skipped(tmp_path: Path) -> None:
    path = _write(tmp_path / "locked.pdf", _encrypted(_pdf_bytes("Secret."), "user-secret"))
    assert _skip_reason(path) == "encrypted PDF"


def test_pdf_with_only_an_owner_password_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "restricted.pdf", _encrypted(_pdf_bytes("Open to all."), ""))
    assert read_document(path).text == "Open to all."


@pytest.mark.parametrize("damage", ["random", "truncated"])
def test_corrupt_pdf_is_skipped(tmp_path: Path, damage: str) -> None:
    real = _pdf_bytes("Some text.")
    content = os.urandom(2000) if damage == "random" else real[: len(real) // 2]
    path = _write(tmp_path / "broken.pdf", content)
    assert _skip_reason(path).startswith("corrupt PDF: ")


def test_pdf_without_text_layer_is_skipped(tmp_path: Path) -> None:
    path = _write(tmp_path / "scan.pdf", _pdf_bytes("", ""))
    assert _skip_reason(path) == "PDF has no text layer"


def test_docx_keeps_headings_paragraphs_and_tables(tmp_path: Path) -> None:
    document = docx.Document()
    document.core_properties.title = "Workshop Servicing"
    document.add_heading("Servicing", level=1)
    document.add_paragraph("We service all bikes.")
    document.add_heading("Prices", level=2)
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Service", "Price"), ("Basic", "£45")], strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    document.add_paragraph("Book online.")
    document.add_paragraph("   ")
    document.save(str(tmp_path / "servicing.docx"))
    read = read_document(tmp_path / "servicing.docx")
    assert (read.format, read.text, read.metadata) == (
        "docx",
        "# Servicing\n\nWe service all bikes.\n\n## Prices\n\nService | Price\n\nBasic | £45"
        "\n\nBook online.",
        {"title": "Workshop Servicing"},
    )


def test_docx_title_style_and_lists(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("Privacy", level=0)
    document.add_paragraph("Names", style="List Bullet")
    document.save(str(tmp_path / "privacy.docx"))
    read = read_document(tmp_path / "privacy.docx")
    assert (read.text, read.metadata) == ("# Privacy\n\n- Names", {"title": "Privacy"})


def test_corrupt_docx_is_skipped(tmp_path: Path) -> None:
    path = _write(tmp_path / "broken.docx", b"PK\x03\x04 not really a zip")
    assert _skip_reason(path).startswith("corrupt DOCX: ")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.md", b"", "empty file"),
        ("latin.txt", "Caf\xe9".encode("latin-1"), "not UTF-8 text"),
        ("nul.txt", b"text\x00more", "binary content"),
        ("nul.html", b"<p>a\x00b</p>", "binary content"),
        ("blank.txt", b" \n\t\n", "no text"),
        ("only-front-matter.md", b"---\ntitle: Nothing\n---\n\n", "no text"),
        ("scripts.html", b"<script>x()</script><p> </p>", "no text"),
        ("notes.xyz", b"text", "unsupported file type .xyz"),
    ],
)
def test_unusable_files_are_skipped_with_a_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    assert _skip_reason(_write(tmp_path / name, content)) == reason


def test_file_over_the_limit_is_skipped(tmp_path: Path) -> None:
    path = _write(tmp_path / "big.txt", "x" * 101)
    assert _skip_reason(path, max_bytes=100) == "file too large (101 bytes, limit 100)"
    assert read_document(path, max_bytes=101).text == "x" * 101


def test_missing_and_unreadable_files_are_skipped(tmp_path: Path) -> None:
    assert _skip_reason(tmp_path / "gone.md") == "does not exist"
    (tmp_path / "folder.txt").mkdir()
    assert _skip_reason(tmp_path / "folder.txt") == "cannot read: not a regular file"


def test_file_without_permission_is_skipped(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their permissions")
    path = _write(tmp_path / "secret.txt", "hidden")
    path.chmod(0)
    try:
        assert _skip_reason(path) == "cannot read: Permission denied"
    finally:
        path.chmod(0o600)


def test_discover_walks_folders_sorted_and_reports_explicit_problems(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    for name in [
        "b.md",
        "a.txt",
        "image.png",
        ".hidden.md",
        ".git/config.md",
        "sub/c.PDF",
        "sub/deeper/d.docx",
        "sub/e.html",
    ]:
        _write(root / name, "x")
    explicit_hidden = _write(tmp_path / ".notes.md", "x")
    unsupported = _write(tmp_path / "data.csv", "x")
    files, skipped = discover([root, str(explicit_hidden), tmp_path / "missing.md", unsupported])
    assert files == [
        root / "a.txt",
        root / "b.md",
        root / "sub" / "c.PDF",
        root / "sub" / "deeper" / "d.docx",
        root / "sub" / "e.html",
        explicit_hidden,
    ]
    assert [(skip.path, skip.reason) for skip in skipped] == [
        (tmp_path / "missing.md", "does not exist"),
        (unsupported, "unsupported file type .csv"),
    ]


def test_discover_lists_a_file_once(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.md", "x")
    assert discover([path, tmp_path, str(path)]) == ([path], [])


def test_discover_reports_an_unreadable_folder(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads folders whatever their permissions")
    locked = tmp_path / "locked"
    _write(locked / "a.md", "x")
    locked.chmod(0)
    try:
        files, skipped = discover([tmp_path])
    finally:
        locked.chmod(0o700)
    assert files == []
    assert [(skip.path, skip.reason) for skip in skipped] == [
        (locked, "cannot read: Permission denied")
    ]


def test_supported_suffixes_cover_every_format() -> None:
    assert set(SUPPORTED_SUFFIXES.values()) == {"markdown", "text", "html", "pdf", "docx"}


def test_demo_pack_documents_read_with_full_metadata() -> None:
    docs = Path(steerwise.__file__).parent / "demo" / "pack" / "docs"
    paths = sorted(docs.glob("*.md"))
    assert paths
    for path in paths:
        document = read_document(path)
        assert set(document.metadata) == {"id", "title", "owner", "updated", "valid_until"}
        assert document.metadata["id"] == path.stem
        assert document.text.startswith("# ")
