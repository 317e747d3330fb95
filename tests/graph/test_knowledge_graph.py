"""The knowledge graph through the workspace: import, build from a snapshot, versions,
grounding facts for a question, and checking answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from steerwise import BadInputError, NotFoundError, Workspace
from steerwise.demo import pack_path
from tests.cli.runner import steerwise

FACTS_CSV = """subject,predicate,object,confidence
Gold Service,price,£140,1
Membership,annual fee,£40,0.9
Returns policy,owned by,Customer Care,1
"""


@pytest.fixture
def indexed(workspace: Workspace) -> Workspace:
    workspace.sources.add([pack_path() / "docs"])
    workspace.index.build()
    return workspace


def test_import_creates_versions_and_replaces_a_files_facts(
    workspace: Workspace, tmp_path: Path
) -> None:
    facts = tmp_path / "facts.csv"
    facts.write_text(FACTS_CSV)
    first = workspace.graph.import_facts([facts])
    assert (first.fact_count, first.snapshot_id) == (3, None)
    assert workspace.graph.import_facts([facts]).id == first.id  # same content, same version
    facts.write_text(FACTS_CSV.replace("£140", "£150"))
    second = workspace.graph.import_facts([facts])
    assert second.id != first.id and second.fact_count == 3
    (gold,) = workspace.graph.about("gold service")
    assert (gold.object, gold.provenance.origin, gold.provenance.source) == (
        "£150",
        "import",
        "facts.csv",
    )
    assert [v.id for v in workspace.graph.versions()] == [first.id, second.id]
    old = {f.subject: f.object for f in workspace.graph.facts(first.id[:10])}
    assert old["Gold Service"] == "£140"
    assert [e.action for e in workspace.audit.events(limit=2)] == ["graph.import", "graph.import"]


def test_bad_fact_files_name_file_and_line(workspace: Workspace, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"subject": "A", "predicate": "p", "object": "1"}\n{"subject": "B"}\n')
    with pytest.raises(BadInputError, match=r"bad\.jsonl:2: missing predicate, object"):
        workspace.graph.import_facts([bad])
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n")
    with pytest.raises(BadInputError, match=r"broken\.jsonl:1: malformed JSON"):
        workspace.graph.import_facts([broken])
    assert workspace.graph.versions() == []
    with pytest.raises(NotFoundError, match="no knowledge graph yet"):
        workspace.graph.facts()


def test_build_extracts_facts_with_provenance_and_keeps_imports(
    indexed: Workspace, tmp_path: Path
) -> None:
    facts = tmp_path / "facts.csv"
    facts.write_text(FACTS_CSV)
    indexed.graph.import_facts([facts])
    built = indexed.graph.build()
    snapshot = indexed.index.get()
    assert built.snapshot_id == snapshot.id
    origins = {f.provenance.origin for f in indexed.graph.facts()}
    assert origins == {"import", "pattern"}
    bronze = [f for f in indexed.graph.about("Bronze Service") if f.provenance.origin == "pattern"]
    assert bronze and bronze[0].object == "£45"
    provenance = bronze[0].provenance
    assert (provenance.doc_id, provenance.doc_version, provenance.snapshot_id) == (
        "workshop-servicing",
        1,
        snapshot.id,
    )
    assert "£45" in provenance.quote


def test_facts_for_a_question_ground_the_prompt(indexed: Workspace) -> None:
    indexed.graph.build()
    question = "How much does a Bronze Service cost?"
    context = indexed.graph.facts_context(question)
    assert "- Bronze Service — price: £45 (workshop-servicing)" in context.splitlines()
    indexed.prompts.push([pack_path() / "prompts"])
    rendered = indexed.prompts.render("support-answer", {"question": question, "facts": context})
    system = rendered.messages[0]["content"]
    assert "Facts you must not contradict:\n- Bronze Service — price: £45" in system


def test_check_labels_each_claim(indexed: Workspace) -> None:
    indexed.graph.build()
    answer = (
        "A Bronze Service costs £50. Membership costs £40 a year. "
        "E-bike batteries are covered for 24 months. The shop sells unicycles."
    )
    verdicts = indexed.graph.check(answer)
    assert [v.label for v in verdicts] == ["contradicted", "supported", "supported", "unknown"]
    assert "£45" in verdicts[0].reason
    assert verdicts[0].facts[0].provenance.doc_id == "workshop-servicing"
    assert answer[verdicts[1].start : verdicts[1].end] == verdicts[1].claim


def test_graph_cli(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert steerwise("init", str(root), cwd=tmp_path).code == 0
    (root / "facts.csv").write_text(FACTS_CSV)
    imported = steerwise("graph", "import", "facts.csv", cwd=root)
    assert imported.code == 0 and "(3 facts" in imported.out
    shown = steerwise("graph", "show", "gold service", "--json", cwd=root).json()
    assert shown[0]["object"] == "£140"
    queried = steerwise("graph", "query", "What does the Gold Service cost?", cwd=root).out
    assert "Gold Service" in queried
    ok = steerwise("graph", "check", "The Gold Service costs £140.", cwd=root)
    assert (ok.code, ok.out.split()[0]) == (0, "supported")
    bad = steerwise("graph", "check", "The Gold Service costs £99.", "--json", cwd=root)
    assert bad.code == 1
    assert bad.json()[0]["label"] == "contradicted"
    assert "1 claim(s) contradict the knowledge graph" in bad.err
    assert len(steerwise("graph", "list", "--json", cwd=root).json()) == 1
