"""Snapshots store the vectors of their chunks' sentences, and answer checks read them instead
of embedding retrieved passages on the request path."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from steerwise import Workspace
from steerwise.demo import pack_path
from steerwise.guardrails.context import context_from_hits
from steerwise.guardrails.detectors import DetectorServices
from steerwise.guardrails.detectors.grounding import GroundingDetector, GroundingSettings
from steerwise.guardrails.text import sentences_of
from tests.guardrails.test_overlap import CountingEmbedder

ANSWER = (
    "Once a return is approved, your refund goes back to the original payment method within"
    " 5 business days [1]. Our shop also sells hot air balloons to every customer."
)


@pytest.fixture
def indexed(sqlite_workspace: Workspace, tmp_path: Path) -> Workspace:
    docs = shutil.copytree(pack_path() / "docs", tmp_path / "docs")
    sqlite_workspace.sources.add([docs])
    sqlite_workspace.index.build()
    return sqlite_workspace


def test_a_build_stores_each_distinct_chunk_sentence_once(indexed: Workspace) -> None:
    snapshot = indexed.index.open()
    chunks = snapshot.all_chunks()
    sentences = list(dict.fromkeys(s for c in chunks for s in sentences_of(c.text)))
    stored = snapshot.sentence_vectors([*sentences, "Not a sentence of any chunk."])
    assert set(stored) == set(sentences) and len(sentences) > len(chunks)
    embedder = indexed.models.embedder("default")
    fresh = embedder.embed(sentences)
    kept = np.stack([stored[s] for s in sentences])
    assert kept.dtype == np.float32 and kept.shape == fresh.shape
    cosines = np.sum(kept * fresh, axis=1)
    assert float(np.min(cosines)) > 0.9999, "float16 storage keeps the vectors"
    pairs = fresh @ fresh.T
    assert float(np.max(np.abs(kept @ kept.T - pairs))) < 1e-3, "similarities within 1e-3"


def test_grounding_reads_passage_sentences_from_the_snapshot(indexed: Workspace) -> None:
    hits = indexed.search("How long does a refund take to reach my card?")
    context = context_from_hits(hits[:3])
    passage_sentences = {s for d in context.documents for s in sentences_of(d.text)}
    counting = CountingEmbedder(indexed.models.embedder("default"))
    warm = GroundingDetector(
        GroundingSettings(),
        DetectorServices(lambda: counting, stored_vectors=indexed.index.stored_vectors),
    )
    warm.prepare(context)
    assert counting.seen == [], "every passage sentence came from the snapshot"
    findings = warm.detect(ANSWER, context)
    assert counting.seen and not set(counting.seen) & passage_sentences
    assert [f.type for f in findings] == ["unsupported_sentence"]
    assert "balloons" in ANSWER[findings[0].start : findings[0].end]
    cold = GroundingDetector(GroundingSettings(), DetectorServices(lambda: counting.inner))
    assert [round(f.score, 3) for f in cold.detect(ANSWER, context)] == [
        round(f.score, 3) for f in findings
    ]


def test_vectors_of_another_embedder_are_not_used(indexed: Workspace) -> None:
    sentence = sentences_of(indexed.index.open().all_chunks()[0].text)[0]
    model = indexed.models.embedder("default").model_id
    assert set(indexed.index.stored_vectors(model, [sentence])) == {sentence}
    assert indexed.index.stored_vectors("another-model", [sentence]) == {}


def test_a_workspace_may_build_snapshots_without_them(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace.init(root).close()
    settings = root / "steerwise.toml"
    settings.write_text(settings.read_text() + "\n[retrieval]\nsentence_vectors = false\n")
    workspace = Workspace.open(root)
    try:
        workspace.sources.add([shutil.copytree(pack_path() / "docs", tmp_path / "docs")])
        workspace.index.build()
        snapshot = workspace.index.open()
        sentence = sentences_of(snapshot.all_chunks()[0].text)[0]
        assert not snapshot.has_sentence_vectors
        assert snapshot.sentence_vectors([sentence]) == {}
    finally:
        workspace.close()
