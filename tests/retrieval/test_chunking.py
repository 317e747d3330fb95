"""The structure-aware chunker: sections, exact offsets, token limits, overlap and stable ids."""

from __future__ import annotations

import itertools
import random
import re
from pathlib import Path

import pytest

import steerwise
from steerwise.retrieval.chunking import Chunk, ChunkerSettings, chunk_document, count_tokens

DEMO_DOCS = Path(steerwise.__file__).parent / "demo" / "pack" / "docs"
FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
HEADING_LINE = re.compile(r"^#{1,6}[ \t]+\S", re.MULTILINE)

POLICY = """# Returns and Refunds Policy

This policy explains how to return items.

## Return windows

Parts: 30 days.

## Refunds

Refunds take 5 business days.

### Card payments

Card refunds go back to the card.

## Exchanges
# Warranty

Two years on frames.
"""

WORDS = ("bike", "frame", "wheel", "refund", "store", "member", "battery", "service", "order")


def _demo_documents() -> dict[str, str]:
    return {path.stem: FRONT_MATTER.sub("", path.read_text()) for path in DEMO_DOCS.glob("*.md")}


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def _generated_document(seed: int, sections: int = 12) -> str:
    """Markdown with nested headings, paragraphs, lists and a few oversized runs."""
    rng = random.Random(seed)
    parts = ["Preamble before any heading."]
    for index in range(sections):
        parts.append("#" * rng.randint(1, 4) + f" Section {index}")
        for _ in range(rng.randint(0, 6)):
            kind = rng.random()
            if kind < 0.1:
                parts.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(150, 400))))
            elif kind < 0.2:
                parts.append("\n".join(f"- {_sentence(rng, 6)}" for _ in range(rng.randint(2, 30))))
            elif kind < 0.23:
                parts.append("see https://example.org/" + "x/" * rng.randint(50, 300))
            else:
                count = rng.randint(1, 25)
                parts.append(" ".join(_sentence(rng, rng.randint(3, 30)) for _ in range(count)))
    return "\n\n".join(parts) + "\n"


def _all_documents() -> dict[str, str]:
    generated = {f"generated-{seed}": _generated_document(seed) for seed in range(6)}
    oddities = {
        "plain": "One paragraph.\n\n\n   \nAnother, after blank lines with spaces.\n",
        "crlf": "# Title\r\n\r\nFirst line.\r\nSecond line.\r\n\r\n## Sub\r\n\r\nMore.\r\n",
        "unbroken": "# Blob\n\n" + "a" * 5000 + "\n\n" + "数据" * 2000 + "\n\n" + ".," * 900,
    }
    return _demo_documents() | generated | oddities


SETTINGS = [ChunkerSettings(), ChunkerSettings(max_tokens=40, overlap_tokens=10)]
SETTINGS += [ChunkerSettings(max_tokens=16, overlap_tokens=0)]


def test_demo_pack_documents_are_found() -> None:
    documents = _demo_documents()
    assert len(documents) >= 5
    assert all(not text.startswith("---") for text in documents.values())


def test_nested_headings_give_exact_paths_and_texts() -> None:
    chunks = chunk_document("returns", POLICY)
    assert [(chunk.heading_path, chunk.text) for chunk in chunks] == [
        (
            ("Returns and Refunds Policy",),
            "# Returns and Refunds Policy\n\nThis policy explains how to return items.",
        ),
        (("Returns and Refunds Policy", "Return windows"), "## Return windows\n\nParts: 30 days."),
        (("Returns and Refunds Policy", "Refunds"), "## Refunds\n\nRefunds take 5 business days."),
        (
            ("Returns and Refunds Policy", "Refunds", "Card payments"),
            "### Card payments\n\nCard refunds go back to the card.",
        ),
        (("Returns and Refunds Policy", "Exchanges"), "## Exchanges"),
        (("Warranty",), "# Warranty\n\nTwo years on frames."),
    ]
    assert [chunk.ordinal for chunk in chunks] == list(range(6))
    assert {chunk.doc_id for chunk in chunks} == {"returns"}
    assert chunks[2].start == POLICY.index("## Refunds")
    assert chunks[2].tokens == count_tokens(chunks[2].text) == 9


def test_heading_levels_skip_and_closing_hashes_are_dropped() -> None:
    text = "# A\n\nx\n\n### Deep ##\n\ny\n\n## B\n\nz\n"
    paths = [chunk.heading_path for chunk in chunk_document("d", text)]
    assert paths == [("A",), ("A", "Deep"), ("A", "B")]


def test_hash_lines_inside_code_fences_are_not_headings() -> None:
    text = "# Setup\n\n```bash\n# install first\npip install x\n```\n\nDone.\n"
    chunks = chunk_document("d", text)
    assert [chunk.heading_path for chunk in chunks] == [("Setup",)]
    assert "# install first" in chunks[0].text


def test_text_before_the_first_heading_has_an_empty_path() -> None:
    chunks = chunk_document("d", "Intro line.\n\n# Title\n\nBody.")
    assert [(chunk.heading_path, chunk.text) for chunk in chunks] == [
        ((), "Intro line."),
        (("Title",), "# Title\n\nBody."),
    ]


def test_plain_text_without_headings() -> None:
    chunks = chunk_document("plain", "  Just one paragraph.\n\nAnd another one.\n\n")
    assert [(chunk.heading_path, chunk.text) for chunk in chunks] == [
        ((), "Just one paragraph.\n\nAnd another one.")
    ]
    assert (chunks[0].start, chunks[0].end) == (2, 39)


@pytest.mark.parametrize("text", ["", "   ", "\n\n \t\n"])
def test_empty_text_gives_no_chunks(text: str) -> None:
    assert chunk_document("empty", text) == []


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda settings: settings.fingerprint())
def test_offsets_index_the_document_exactly(settings: ChunkerSettings) -> None:
    for name, text in _all_documents().items():
        chunks = chunk_document(name, text, settings)
        assert chunks, name
        assert [chunk.ordinal for chunk in chunks] == list(range(len(chunks)))
        for chunk in chunks:
            assert chunk.text == text[chunk.start : chunk.end], name
            assert chunk.text == chunk.text.strip(), name
            assert chunk.tokens == count_tokens(chunk.text), name
        starts = [chunk.start for chunk in chunks]
        assert starts == sorted(starts), name
        assert chunk_document(name, text, settings) == chunks


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda settings: settings.fingerprint())
def test_every_chunk_respects_max_tokens(settings: ChunkerSettings) -> None:
    for name, text in _all_documents().items():
        largest = max(chunk.tokens for chunk in chunk_document(name, text, settings))
        assert largest <= settings.max_tokens, name


def test_unbroken_runs_are_cut_between_tokens() -> None:
    text = "a" * 1000 + " tail"
    chunks = chunk_document("blob", text, ChunkerSettings(max_tokens=16, overlap_tokens=4))
    assert "".join(chunk.text for chunk in chunks[:-1]) == "a" * 960
    assert chunks[-1].text == "a" * 40 + " tail"
    assert [chunk.tokens for chunk in chunks] == [16] * 15 + [10 + 1]


@pytest.mark.parametrize("settings", SETTINGS[:2], ids=lambda settings: settings.fingerprint())
def test_chunks_of_a_long_section_overlap_within_the_limit(settings: ChunkerSettings) -> None:
    rng = random.Random(7)
    body = "\n\n".join(
        " ".join(_sentence(rng, rng.randint(4, 20)) for _ in range(6)) for _ in range(20)
    )
    text = "# Long\n\n" + body
    chunks = chunk_document("long", text, settings)
    assert len(chunks) > 3
    for before, after in itertools.pairwise(chunks):
        assert after.start < before.end
        overlap = count_tokens(text[after.start : before.end])
        assert 0 < overlap <= settings.overlap_tokens
        assert text[after.start - 1].isspace()


def test_overlap_gives_way_rather_than_leave_a_chunk_that_mostly_repeats() -> None:
    text = "# S\n\n" + " ".join(["word"] * 45) + "\n\n" + " ".join(["next"] * 30)
    chunks = chunk_document("d", text, ChunkerSettings(max_tokens=40, overlap_tokens=10))
    assert [chunk.tokens for chunk in chunks] == [40, 40]
    assert chunks[1].text == " ".join(["word"] * 10) + "\n\n" + " ".join(["next"] * 30)


def test_without_overlap_chunks_are_disjoint() -> None:
    text = _generated_document(3)
    chunks = chunk_document("d", text, ChunkerSettings(max_tokens=40, overlap_tokens=0))
    for before, after in itertools.pairwise(chunks):
        assert after.start >= before.end


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda settings: settings.fingerprint())
def test_no_chunk_spans_two_sections(settings: ChunkerSettings) -> None:
    for name, text in _all_documents().items():
        headings = [match.start() for match in HEADING_LINE.finditer(text)]
        boundaries = [*headings, len(text)]
        for chunk in chunk_document(name, text, settings):
            assert HEADING_LINE.search(chunk.text, 1) is None, name
            section_end = next(bound for bound in boundaries if bound > chunk.start)
            assert chunk.end <= section_end, name


def test_ids_survive_an_edit_to_another_section() -> None:
    settings = ChunkerSettings(max_tokens=40, overlap_tokens=10)
    text = _generated_document(5)
    edited_text = text.replace("# Section 3\n\n", "# Section 3\n\nNew line.\n\n")
    assert edited_text != text
    original = chunk_document("doc", text, settings)
    edited = chunk_document("doc", edited_text, settings)

    def ids_outside(chunks: list[Chunk]) -> list[str]:
        return [chunk.id for chunk in chunks if "Section 3" not in chunk.heading_path[-1:]]

    assert ids_outside(original) == ids_outside(edited)
    inside = {chunk.id for chunk in original} ^ {chunk.id for chunk in edited}
    assert inside
    assert len(ids_outside(original)) < len(original)


def test_ids_change_with_the_chunks_own_text_and_document() -> None:
    one = chunk_document("doc", "# A\n\nRefunds take 5 days.")[0]
    two = chunk_document("doc", "# A\n\nRefunds take 6 days.")[0]
    other_doc = chunk_document("other", "# A\n\nRefunds take 5 days.")[0]
    assert len({one.id, two.id, other_doc.id}) == 3
    assert re.fullmatch(r"[0-9a-f]{24}", one.id)


def test_duplicate_paragraphs_get_distinct_ids() -> None:
    paragraph = "Keep the receipt for every item you buy from our stores."
    text = "# Tips\n\n" + "\n\n".join([paragraph] * 3)
    chunks = chunk_document("d", text, ChunkerSettings(max_tokens=16, overlap_tokens=0))
    duplicates = [chunk for chunk in chunks if chunk.text == paragraph]
    assert len(duplicates) == 2
    assert len({chunk.id for chunk in chunks}) == len(chunks) == 3


def test_identical_sections_get_distinct_ids() -> None:
    chunks = chunk_document("d", "# FAQ\n\nAsk us.\n\n# FAQ\n\nAsk us.\n")
    assert chunks[0].text == chunks[1].text
    assert chunks[0].id != chunks[1].id


@pytest.mark.parametrize(
    ("max_tokens", "overlap_tokens", "message"),
    [
        (15, 0, "max_tokens must be at least 16"),
        (0, 0, "max_tokens must be at least 16"),
        (40, -1, "overlap_tokens must be at least 0"),
        (40, 20, "less than max_tokens // 2"),
        (41, 20, "less than max_tokens // 2"),
    ],
)
def test_settings_are_validated(max_tokens: int, overlap_tokens: int, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ChunkerSettings(max_tokens=max_tokens, overlap_tokens=overlap_tokens)


def test_smallest_valid_settings() -> None:
    assert ChunkerSettings(max_tokens=16, overlap_tokens=7).overlap_tokens == 7


def test_fingerprint_names_version_and_settings() -> None:
    assert ChunkerSettings().fingerprint() == "structure-v1:max=200:overlap=30"
    fingerprints = {
        ChunkerSettings().fingerprint(),
        ChunkerSettings(max_tokens=300).fingerprint(),
        ChunkerSettings(overlap_tokens=0).fingerprint(),
    }
    assert len(fingerprints) == 3


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Refunds take 5 business days.", 6),
        ("", 0),
        ("   \n", 0),
        ("£4.95", 4),
        ("co-op", 3),
        ("warranty", 1),
        ("delivered", 3),
        ("internationalisation", 5),
        ("...!?", 5),
        ("数据数据数据", 1),
        ("snake_case_name", 4),
    ],
)
def test_count_tokens(text: str, tokens: int) -> None:
    assert count_tokens(text) == tokens
