"""KnowledgeGraph: versioned facts with provenance; fed by import, patterns and an LLM;
used to ground prompts and to check answers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from steerwise.audit import AuditLog
from steerwise.core.actors import Actor
from steerwise.core.audit import AuditEntry
from steerwise.core.clock import utc_now
from steerwise.core.errors import NotFoundError
from steerwise.core.graph import ClaimVerdict, Fact, GraphInfo, Provenance, entity_key
from steerwise.graph.checking import check_claims
from steerwise.graph.extraction import extract_facts
from steerwise.graph.files import read_fact_file, read_graph, write_graph
from steerwise.graph.mentions import relevant_facts
from steerwise.retrieval import KnowledgeIndex
from steerwise.retrieval.snapshot_file import IndexedChunk
from steerwise.store import Store
from steerwise.store.session import Row

ChunkExtractor = Callable[[IndexedChunk, Provenance], list[Fact]]


class KnowledgeGraph:
    """The workspace's graph versions; the newest is the current graph."""

    def __init__(
        self, store: Store, *, actor: Actor, artifacts: Path, index: KnowledgeIndex
    ) -> None:
        self._store = store
        self._actor = actor
        self._folder = artifacts / "graphs"
        self._index = index
        self._loaded: dict[str, list[Fact]] = {}

    def import_facts(self, paths: Sequence[str | Path]) -> GraphInfo:
        """Add the facts of CSV/JSONL files; facts from an earlier import of a file are replaced."""
        incoming = [fact for path in paths for fact in read_fact_file(Path(path))]
        names = {Path(path).name for path in paths}
        kept = [
            f
            for f in self._current_facts()
            if not (f.provenance.origin == "import" and f.provenance.source in names)
        ]
        return self._save([*kept, *incoming], snapshot_id=None, action="graph.import")

    def build(self, *, snapshot: str | None = None, llm: ChunkExtractor | None = None) -> GraphInfo:
        """Extract facts from a snapshot's chunks (patterns, and `llm` if given); extracted
        facts of earlier builds are replaced, imported facts kept."""
        info = self._index.get(snapshot)
        chunks = self._index.open(info.id).all_chunks()
        extracted = []
        for chunk in chunks:
            provenance = Provenance(
                "pattern",
                source=chunk.source,
                doc_id=chunk.doc_id,
                doc_version=chunk.doc_version,
                chunk_id=chunk.id,
                snapshot_id=info.id,
            )
            extracted += extract_facts(
                chunk.text,
                title=chunk.title,
                heading_path=chunk.heading_path,
                provenance=provenance,
            )
            if llm is not None:
                extracted += llm(chunk, provenance)
        kept = [f for f in self._current_facts() if f.provenance.origin == "import"]
        return self._save([*kept, *extracted], snapshot_id=info.id, action="graph.build")

    def _save(self, facts: list[Fact], *, snapshot_id: str | None, action: str) -> GraphInfo:
        unique = list(
            {fact.key: fact for fact in sorted(facts, key=lambda f: -f.confidence)}.values()
        )
        unique.sort(key=lambda f: f.key)
        graph_id = _graph_id(unique)
        existing = self._matching(graph_id)
        if existing:
            return existing[0]
        artifact = f"graphs/{graph_id}.jsonl"
        write_graph(self._folder / f"{graph_id}.jsonl", unique)
        entities = {entity_key(f.subject) for f in unique} | {entity_key(f.object) for f in unique}
        info = GraphInfo(
            graph_id, utc_now(), self._actor.name, len(unique), len(entities), snapshot_id, artifact
        )
        with self._store.write() as tx:
            tx.graphs.insert({**info.__dict__})
            AuditLog.record(
                tx,
                self._actor.name,
                AuditEntry(
                    action,
                    f"graph:{graph_id}",
                    None,
                    {"facts": info.fact_count, "snapshot": snapshot_id},
                ),
            )
        return info

    def versions(self) -> list[GraphInfo]:
        """Every graph version, oldest first."""
        with self._store.read() as tx:
            return [_info(row) for row in tx.graphs.all()]

    def get(self, ref: str | None = None) -> GraphInfo:
        """A graph version by id or prefix; None or `latest` means the current graph."""
        if ref in (None, "", "latest"):
            found = self.versions()
            if not found:
                raise NotFoundError(
                    "no knowledge graph yet", hint="steerwise graph import FILE or graph build"
                )
            return found[-1]
        rows = self._matching(str(ref))
        if len(rows) != 1:
            raise NotFoundError(
                f"graph version {ref!r} {'does not exist' if not rows else 'is ambiguous'}"
            )
        return rows[0]

    def _matching(self, prefix: str) -> list[GraphInfo]:
        with self._store.read() as tx:
            return [_info(row) for row in tx.graphs.matching(prefix)]

    def facts(self, ref: str | None = None) -> list[Fact]:
        """The facts of a graph version (loaded once and kept)."""
        return self._facts_of(self.get(ref))

    def _current_facts(self) -> list[Fact]:
        """The current graph's facts, or none before the first version (one read of the list)."""
        found = self.versions()
        return self._facts_of(found[-1]) if found else []

    def _facts_of(self, info: GraphInfo) -> list[Fact]:
        if info.id not in self._loaded:
            self._loaded[info.id] = read_graph(self._folder.parent / info.artifact)
        return self._loaded[info.id]

    def about(self, entity: str, *, ref: str | None = None) -> list[Fact]:
        """Facts whose subject or object names `entity` (case and spacing ignored)."""
        key = entity_key(entity)
        return [
            f
            for f in self.facts(ref)
            if key in entity_key(f.subject) or key in entity_key(f.object)
        ]

    def query(self, text: str, *, ref: str | None = None, limit: int = 20) -> list[Fact]:
        """Facts about the entities a question mentions, most relevant first."""
        return relevant_facts(text, self.facts(ref))[:limit]

    def facts_context(self, question: str, *, ref: str | None = None, limit: int = 12) -> str:
        """Lines for a prompt's `facts` variable, each with where the fact came from."""
        lines = []
        for fact in self.query(question, ref=ref, limit=limit):
            where = fact.provenance.doc_id or fact.provenance.source
            lines.append(f"- {fact.sentence()} ({where})" if where else f"- {fact.sentence()}")
        return "\n".join(lines)

    def check(self, text: str, *, ref: str | None = None) -> list[ClaimVerdict]:
        """Each claim of `text` labelled supported, contradicted or unknown by the graph."""
        return check_claims(text, self.facts(ref))


def _graph_id(facts: Iterable[Fact]) -> str:
    digest = hashlib.sha256()
    for fact in facts:
        digest.update(json.dumps(fact.as_dict(), sort_keys=True).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:32]


def _info(row: Row) -> GraphInfo:
    gid, at, by, facts, entities, snapshot, artifact = row
    return GraphInfo(str(gid), str(at), str(by), int(facts), int(entities), snapshot, str(artifact))
