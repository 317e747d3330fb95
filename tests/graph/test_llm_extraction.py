"""Fact extraction by an LLM with a JSON Schema: a scripted server, and the real local model."""

from __future__ import annotations

import json
from pathlib import Path

from steerwise import Workspace
from steerwise.core.models import ModelConfig
from steerwise.graph import llm_extractor
from steerwise.models import ModelRegistry
from tests.models.fault_server import FaultServer, ok

DOC = "---\nid: gold\ntitle: Gold Service\n---\n# Gold Service\n\nThe Gold Service costs £140.\n"


def _indexed(workspace: Workspace, tmp_path: Path) -> Workspace:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "gold.md").write_text(DOC)
    workspace.sources.add([tmp_path / "docs"])
    workspace.index.build()
    return workspace


def test_llm_facts_keep_provenance_and_drop_invented_numbers(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    ws = _indexed(sqlite_workspace, tmp_path)
    answer = {
        "facts": [
            {"subject": "Gold Service", "predicate": "price", "object": "£140"},
            {"subject": "Gold Service", "predicate": "duration", "object": "3 hours"},
        ]
    }
    with FaultServer(ok(json.dumps(answer))) as server:
        config = ModelConfig(provider="openai", model="m", base_url=server.base_url)
        models = ModelRegistry({"scripted": config}, root=tmp_path)
        info = ws.graph.build(llm=llm_extractor(models, "scripted"))
    llm_facts = [f for f in ws.graph.facts(info.id) if f.provenance.origin == "llm"]
    assert [(f.subject, f.predicate, f.object, f.confidence) for f in llm_facts] == [
        ("Gold Service", "price", "£140", 0.5)
    ]
    assert llm_facts[0].provenance.doc_id == "gold"
    sent = server.requests[0]
    assert sent["response_format"]["type"] == "json_schema"
    assert "The Gold Service costs £140." in sent["messages"][1]["content"]


def test_the_local_model_extracts_schema_valid_facts(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    ws = _indexed(sqlite_workspace, tmp_path)
    info = ws.graph.build(llm=llm_extractor(ws.models, "local:smollm2-135m"))
    facts = ws.graph.facts(info.id)
    assert any(f.provenance.origin == "pattern" and f.object == "£140" for f in facts)
    for fact in facts:
        if fact.provenance.origin == "llm":
            assert fact.subject and fact.predicate and fact.object
            digits = "".join(c for c in fact.object if c.isdigit())
            assert digits in "140"  # numbers not in the chunk were dropped
