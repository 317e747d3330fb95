"""KnowledgeIndex: build immutable, content-addressed index snapshots and open them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from steerwise.audit import AuditLog
from steerwise.core.actors import Actor
from steerwise.core.audit import AuditEntry
from steerwise.core.clock import utc_now
from steerwise.core.errors import BadInputError, NotFoundError
from steerwise.core.knowledge import DocumentVersion, SnapshotInfo, SourceInfo
from steerwise.models import Embedder, ModelRegistry
from steerwise.retrieval.chunking import ChunkerSettings, chunk_document
from steerwise.retrieval.snapshot_file import (
    IndexedChunk,
    SentenceVectors,
    SnapshotFile,
    write_snapshot,
)
from steerwise.retrieval.sources import SourceLibrary
from steerwise.store import Store
from steerwise.store.session import Row

Progress = Callable[[str, int, int], None]
Sentences = Callable[[str], list[str]]
"""A passage's sentences, as the answer checks split it (`steerwise.guardrails.text`)."""
EMBED_BATCH = 256
Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class BuildResult:
    """The snapshot a build produced, and whether it was new."""

    snapshot: SnapshotInfo
    created: bool


@dataclass(frozen=True)
class SnapshotDiff:
    """Documents added, removed and changed (another version) between two snapshots."""

    old: str
    new: str
    added: list[str]
    removed: list[str]
    changed: list[str]


class KnowledgeIndex:
    """Index snapshots over the current document versions: BM25 and dense vectors."""

    def __init__(
        self,
        store: Store,
        *,
        actor: Actor,
        artifacts: Path,
        sources: SourceLibrary,
        models: ModelRegistry,
        chunker: ChunkerSettings,
        embedder: str,
        sentences: Sentences | None = None,
    ) -> None:
        """`sentences`: how to split a chunk into the sentences whose vectors a build stores
        (None: a build stores none; answer checks then embed them when a request needs them)."""
        self._store = store
        self._actor = actor
        self._folder = artifacts / "snapshots"
        self._sources = sources
        self._models = models
        self._chunker = chunker
        self._embedder = embedder
        self._sentences = sentences
        self._open: dict[str, SnapshotFile] = {}

    def build(
        self, *, embedder: str | None = None, progress: Progress | None = None
    ) -> BuildResult:
        """Chunk and embed every current document into a snapshot (reused if it exists)."""
        embedder_ref = embedder or self._embedder
        encoder = self._models.embedder(embedder_ref)
        documents = self._sources.documents()
        if not documents:
            raise BadInputError(
                "there are no documents to index", hint="add some: steerwise sources add PATH"
            )
        sources = {source.name: source for source in self._sources.sources()}
        chunks = [c for d in documents for c in self._chunks_of(d, sources[d.source])]
        snapshot_id = _snapshot_id(chunks, documents, self._chunker.fingerprint(), encoder.model_id)
        existing = self._find(snapshot_id)
        if existing:
            return BuildResult(existing, created=False)
        texts = [chunk.searchable_text() for chunk in chunks]
        vectors = _embed_sorted(encoder, texts, "embedding", progress)
        artifact = f"snapshots/{snapshot_id}.sqlite"
        write_snapshot(
            self._folder / f"{snapshot_id}.sqlite",
            chunks,
            vectors,
            {
                "id": snapshot_id,
                "embedder": encoder.model_id,
                "embedder_ref": embedder_ref,
                "dimension": str(encoder.dimension),
                "chunker": self._chunker.fingerprint(),
            },
            self._sentence_vectors(encoder, chunks, progress),
        )
        info = SnapshotInfo(
            snapshot_id,
            utc_now(),
            self._actor.name,
            encoder.model_id,
            self._chunker.fingerprint(),
            len(chunks),
            {d.doc_id: d.version for d in documents},
            artifact,
        )
        self._record(info)
        return BuildResult(info, created=True)

    def _chunks_of(self, document: DocumentVersion, source: SourceInfo) -> list[IndexedChunk]:
        metadata = document.metadata
        return [
            IndexedChunk(
                chunk.id,
                document.doc_id,
                document.version,
                document.source,
                document.title,
                list(chunk.heading_path),
                chunk.ordinal,
                chunk.start,
                chunk.end,
                chunk.text,
                metadata.get("owner") or source.owner,
                source.tags,
                metadata.get("valid_until"),
                metadata.get("updated"),
                document.fetched_at,
                source.ttl_days,
            )
            for chunk in chunk_document(document.doc_id, document.text, self._chunker)
        ]

    def _sentence_vectors(
        self, encoder: Embedder, chunks: list[IndexedChunk], progress: Progress | None
    ) -> SentenceVectors | None:
        """Every distinct sentence of the chunks, embedded (when the index splits sentences)."""
        if self._sentences is None:
            return None
        texts = list(dict.fromkeys(s for chunk in chunks for s in self._sentences(chunk.text)))
        return SentenceVectors(texts, _embed_sorted(encoder, texts, "sentences", progress))

    def _record(self, info: SnapshotInfo) -> None:
        with self._store.write() as tx:
            tx.snapshots.insert(
                {
                    "id": info.id,
                    "created_at": info.created_at,
                    "created_by": info.created_by,
                    "embedder": info.embedder,
                    "chunker": info.chunker,
                    "chunk_count": info.chunk_count,
                    "documents_json": json.dumps(info.documents, sort_keys=True),
                    "artifact": info.artifact,
                }
            )
            AuditLog.record(
                tx,
                self._actor.name,
                AuditEntry(
                    "index.build",
                    f"snapshot:{info.id}",
                    None,
                    {
                        "chunks": info.chunk_count,
                        "documents": len(info.documents),
                        "embedder": info.embedder,
                        "chunker": info.chunker,
                    },
                ),
            )

    def _find(self, snapshot_id: str) -> SnapshotInfo | None:
        with self._store.read() as tx:
            rows = tx.snapshots.matching(snapshot_id)
        return _info(rows[0]) if rows else None

    def snapshots(self) -> list[SnapshotInfo]:
        """Every snapshot, oldest first."""
        with self._store.read() as tx:
            return [_info(row) for row in tx.snapshots.all()]

    def get(self, ref: str | None = None) -> SnapshotInfo:
        """A snapshot by id or unique id prefix; None or `latest` means the newest."""
        if ref in (None, "", "latest"):
            found = self.snapshots()
            if not found:
                raise NotFoundError(
                    "no index snapshot yet", hint="build one: steerwise index build"
                )
            return found[-1]
        with self._store.read() as tx:
            rows = tx.snapshots.matching(str(ref))
        if len(rows) != 1:
            problem = "does not exist" if not rows else "matches several snapshots"
            raise NotFoundError(f"snapshot {ref!r} {problem}", hint="see: steerwise index list")
        return _info(rows[0])

    def open(self, ref: str | None = None) -> SnapshotFile:
        """The snapshot's artifact, opened read-only once and kept."""
        info = self.get(ref)
        opened = self._open.get(info.id)
        if opened is None:
            opened = SnapshotFile(self._folder.parent / info.artifact)
            self._open[info.id] = opened
        return opened

    def diff(self, old_ref: str, new_ref: str) -> SnapshotDiff:
        """Which documents two snapshots disagree on."""
        old, new = self.get(old_ref), self.get(new_ref)
        before, after = old.documents, new.documents
        return SnapshotDiff(
            old.id,
            new.id,
            added=sorted(set(after) - set(before)),
            removed=sorted(set(before) - set(after)),
            changed=sorted(d for d in set(before) & set(after) if before[d] != after[d]),
        )

    def stored_vectors(self, model_id: str, texts: Sequence[str]) -> dict[str, Vectors]:
        """The vectors that the snapshots open in this process stored for those of `texts` that
        are sentences of their chunks, embedded by `model_id`."""
        found: dict[str, Vectors] = {}
        for opened in list(self._open.values()):
            missing = [text for text in texts if text not in found]
            if missing and opened.meta.get("embedder") == model_id:
                found |= opened.sentence_vectors(missing)
        return found

    def close(self) -> None:
        """Close the open artifacts."""
        for opened in self._open.values():
            opened.close()
        self._open.clear()


def _embed_sorted(
    encoder: Embedder, texts: list[str], stage: str, progress: Progress | None
) -> Vectors:
    """Vectors in text order; batches are cut from texts sorted by length, so that each batch
    pads little (measured: about 5% faster on SciFact than batches in order)."""
    order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
    vectors = np.zeros((len(texts), encoder.dimension), dtype=np.float32)
    for start in range(0, len(order), EMBED_BATCH):
        batch = order[start : start + EMBED_BATCH]
        vectors[batch] = encoder.embed([texts[index] for index in batch])
        if progress:
            progress(stage, min(start + EMBED_BATCH, len(order)), len(order))
    return vectors


def _snapshot_id(
    chunks: list[IndexedChunk], documents: list[DocumentVersion], chunker: str, embedder: str
) -> str:
    """A hash of the snapshot's inputs: document versions, chunk ids, chunker, embedder."""
    digest = hashlib.sha256()
    for part in (chunker, embedder, *(d.ref for d in documents), *(c.id for c in chunks)):
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()[:32]


def _info(row: Row) -> SnapshotInfo:
    sid, created_at, created_by, embedder, chunker, count, documents, artifact = row
    return SnapshotInfo(
        str(sid),
        str(created_at),
        str(created_by),
        str(embedder),
        str(chunker),
        int(count),
        json.loads(documents),
        str(artifact),
    )
