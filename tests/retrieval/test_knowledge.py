"""Sources, freshness, index snapshots, search and citations on the demo pack, both stores."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from steerwise import BadInputError, NotFoundError, Workspace
from steerwise.demo import pack_path
from steerwise.retrieval import cited_documents, find_citations, number_context

TODAY = date(2026, 11, 25)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """A writable copy of the demo pack's policy documents."""
    return Path(shutil.copytree(pack_path() / "docs", tmp_path / "docs"))


@pytest.fixture
def ingested(workspace: Workspace, docs: Path) -> Workspace:
    (report,) = workspace.sources.add([docs], owner="policy-team", ttl_days=365, tags=["policies"])
    assert len(report.new) == 8
    return workspace


def test_add_reports_new_changed_unchanged_removed(ingested: Workspace, docs: Path) -> None:
    (again,) = ingested.sources.add([docs])
    assert (len(again.unchanged), again.new, again.changed, again.removed) == (8, [], [], [])
    returns = docs / "returns-policy.md"
    returns.write_text(returns.read_text().replace("30 days", "45 days"))
    (docs / "battery-safety.md").unlink()
    (third,) = ingested.sources.add([docs])
    assert (third.changed, third.removed, len(third.unchanged)) == (
        ["returns-policy"],
        ["battery-safety"],
        6,
    )
    assert "45 days" in ingested.sources.document("returns-policy").text
    assert "30 days" in ingested.sources.document("returns-policy", 1).text
    assert ingested.sources.document("returns-policy").version == 2
    with pytest.raises(NotFoundError, match="battery-safety' was removed"):
        ingested.sources.document("battery-safety")
    assert [e.action for e in ingested.audit.events(limit=3)] == ["sources.add"] * 3


def test_documents_keep_provenance(ingested: Workspace, docs: Path) -> None:
    document = ingested.sources.document("returns-policy")
    assert document.metadata["owner"] == "customer-care"
    assert document.metadata["valid_until"] == "2027-09-30"
    assert document.title == "Returns and Refunds Policy"
    assert document.uri == str(docs / "returns-policy.md")
    assert document.checksum.startswith("sha256:")
    assert document.fetched_by == "user:tester"
    (source,) = ingested.sources.sources()
    assert (source.owner, source.ttl_days, source.tags, source.documents) == (
        "policy-team",
        365,
        ["policies"],
        8,
    )


def test_bad_files_are_skipped_with_reasons(workspace: Workspace, docs: Path) -> None:
    (docs / "empty.md").write_text("")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.7 not really")
    (docs / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    (report,) = workspace.sources.add([docs])
    assert len(report.new) == 8
    reasons = {Path(path).name: reason for path, reason in report.skipped}
    assert reasons["empty.md"] == "empty file"
    assert reasons["broken.pdf"].startswith("corrupt PDF")
    assert reasons["latin.txt"] == "not UTF-8 text"


def test_missing_path_is_skipped_without_a_source(workspace: Workspace, tmp_path: Path) -> None:
    (report,) = workspace.sources.add([tmp_path / "nowhere"])
    assert report.skipped == [(str(tmp_path / "nowhere"), "does not exist")]
    assert workspace.sources.sources() == []
    assert workspace.audit.head().count == 1


def test_stale_documents_and_why(ingested: Workspace, docs: Path) -> None:
    stale = {s.document.doc_id: s.freshness.reasons for s in ingested.sources.stale(today=TODAY)}
    assert stale == {"price-match-policy": ["expired: valid until 2026-06-30"]}
    (docs / "privacy-data.md").write_text("# Changed\n\nNew text.\n")
    later = {
        s.document.doc_id: s.freshness.reasons
        for s in ingested.sources.stale(today=date(2027, 8, 1))
    }
    assert "changed on disk since it was ingested" in later["privacy-data"]
    assert any(
        r.startswith("older than its TTL of 365 days") for r in later["membership-programme"]
    )


def test_snapshot_is_content_addressed_and_reused(ingested: Workspace, docs: Path) -> None:
    first = ingested.index.build()
    assert first.created
    assert first.snapshot.documents["returns-policy"] == 1
    assert first.snapshot.chunk_count > 20
    again = ingested.index.build()
    assert (again.created, again.snapshot.id) == (False, first.snapshot.id)
    returns = docs / "returns-policy.md"
    returns.write_text(returns.read_text().replace("30 days", "45 days"))
    ingested.sources.add([docs])
    second = ingested.index.build()
    assert second.created and second.snapshot.id != first.snapshot.id
    diff = ingested.index.diff(first.snapshot.id, second.snapshot.id[:8])
    assert (diff.added, diff.removed, diff.changed) == ([], [], ["returns-policy"])
    assert [s.id for s in ingested.index.snapshots()] == [first.snapshot.id, second.snapshot.id]
    assert ingested.index.get("latest").id == second.snapshot.id


def test_snapshot_opens_read_only_in_another_process(ingested: Workspace) -> None:
    built = ingested.index.build().snapshot
    artifact = ingested.root / ".steerwise" / "artifacts" / built.artifact
    artifact.chmod(0o444)
    code = (
        "import sys; from pathlib import Path; from steerwise.retrieval.snapshot_file import "
        "SnapshotFile; s = SnapshotFile(Path(sys.argv[1])); "
        "print(s.chunk_count, s.lexical('refund', 1)[0][0] >= 0)"
    )
    command = [sys.executable, "-c", code, str(artifact)]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == [str(built.chunk_count), "True"], done.stderr


@pytest.mark.parametrize(
    ("question", "document"),
    [
        ("How much does membership cost per year?", "membership-programme"),
        ("How many charge cycles is an e-bike battery covered for?", "warranty-policy"),
        ("How long do you keep CCTV footage?", "privacy-data"),
    ],
)
@pytest.mark.parametrize("mode", ["lexical", "dense", "hybrid"])
def test_each_mode_finds_the_right_document(
    ingested: Workspace, question: str, document: str, mode: str
) -> None:
    ingested.index.build()
    hits = ingested.search(question, options=ingested.default_search_options(mode=mode, k=3))
    assert document in [hit.doc_id for hit in hits]
    assert hits[0].rank == 1
    assert all(hit.fused_score >= later.fused_score for hit, later in itertools.pairwise(hits))


def test_hybrid_hits_carry_scores_versions_and_freshness(ingested: Workspace) -> None:
    ingested.index.build()
    options = ingested.default_search_options(k=5, today=TODAY)
    hits = ingested.search("Can you match a cheaper price from another shop?", options=options)
    top = hits[0]
    assert top.doc_id == "price-match-policy"
    assert set(top.scores) == {"lexical", "dense"}
    assert top.document_ref == "price-match-policy@1"
    assert top.freshness.stale
    assert top.freshness.reasons == ["expired: valid until 2026-06-30"]
    text = ingested.sources.document(top.doc_id).text
    assert text[top.start : top.end] == top.text


def test_stale_policy_and_filters(ingested: Workspace) -> None:
    ingested.index.build()
    question = "Can you match a cheaper price from another shop?"

    def docs_for(**overrides: object) -> list[str]:
        options = ingested.default_search_options(k=5, today=TODAY, **overrides)
        return [hit.doc_id for hit in ingested.search(question, options=options)]

    assert "price-match-policy" not in docs_for(stale="exclude")

    def position(found: list[str]) -> int:
        return found.index("price-match-policy") if "price-match-policy" in found else len(found)

    assert position(docs_for()) == 0
    assert position(docs_for(stale="downweight")) > 0
    assert set(docs_for(owner="workshop")) <= {
        "warranty-policy",
        "workshop-servicing",
        "battery-safety",
    }
    assert docs_for(tags=("no-such-tag",)) == []


def test_bad_queries(ingested: Workspace) -> None:
    with pytest.raises(NotFoundError, match="no index snapshot yet"):
        ingested.search("refund")
    ingested.index.build()
    with pytest.raises(NotFoundError, match="snapshot 'abc123' does not exist"):
        ingested.search("refund", snapshot="abc123")
    with pytest.raises(BadInputError, match="the search query is empty"):
        ingested.search("   ")
    assert ingested.search('"OR (NEAR refund*') is not None  # FTS5 syntax is data, not syntax


def test_citations_map_back_to_document_versions(ingested: Workspace) -> None:
    ingested.index.build()
    hits = ingested.search(
        "membership fee and discount", options=ingested.default_search_options(k=3)
    )
    context = number_context(hits)
    assert context.startswith(f"[1] {hits[0].title}")
    assert f"({hits[1].document_ref})" in context
    citations = find_citations("It costs £40 [1] and gives 10% off [2, 3]. See [9].", hits)
    assert [(c.number, c.valid) for c in citations] == [(1, True), (2, True), (3, True), (9, False)]
    assert citations[0].hit == hits[0]
    assert cited_documents(citations) == list(dict.fromkeys(h.document_ref for h in hits))


def test_query_terms_leave_out_stop_words_unless_nothing_else_remains() -> None:
    from steerwise.retrieval.snapshot_file import fts_query

    assert fts_query("What is the price of a Bronze service?") == '"price" OR "bronze" OR "service"'
    assert fts_query("what is the") == '"what" OR "is" OR "the"'
    assert fts_query('"refund*" NEAR(') == '"refund" OR "near"'
