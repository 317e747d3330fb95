"""Search a snapshot: BM25, dense, or both fused by reciprocal rank; filters and freshness."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

from steerwise.core.errors import BadInputError
from steerwise.core.knowledge import Freshness, SearchHit, assess_freshness
from steerwise.models import Embedder
from steerwise.retrieval.snapshot_file import IndexedChunk, SnapshotFile

Mode = Literal["hybrid", "lexical", "dense"]
StalePolicy = Literal["mark", "downweight", "exclude"]
STALE_WEIGHT = 0.5


@dataclass(frozen=True)
class SearchOptions:
    """How to search: mode, fusion, filters, and what to do with stale chunks."""

    k: int = 10
    mode: Mode = "hybrid"
    rrf_k: int = 60
    weights: dict[str, float] = field(default_factory=lambda: {"lexical": 1.0, "dense": 1.0})
    candidates: int = 100
    tags: tuple[str, ...] = ()
    owner: str | None = None
    stale: StalePolicy = "mark"
    today: date | None = None

    def __post_init__(self) -> None:
        if self.k < 1 or self.candidates < 1 or self.rrf_k < 0:
            raise BadInputError("k and candidates must be at least 1, rrf_k at least 0")
        if self.mode not in ("hybrid", "lexical", "dense"):
            raise BadInputError(
                f"unknown search mode {self.mode!r}", hint="hybrid, lexical or dense"
            )
        if self.stale not in ("mark", "downweight", "exclude"):
            raise BadInputError(
                f"unknown stale policy {self.stale!r}", hint="mark, downweight or exclude"
            )


def search(
    snapshot: SnapshotFile, embedder: Embedder, query: str, options: SearchOptions
) -> list[SearchHit]:
    """The best `k` chunks for `query`, each with per-retriever scores and its freshness."""
    if not query.strip():
        raise BadInputError("the search query is empty")
    pool = max(options.candidates, options.k) * (4 if _filtered(options) else 1)
    ranked: dict[str, list[tuple[int, float]]] = {}
    if options.mode in ("hybrid", "lexical"):
        ranked["lexical"] = snapshot.lexical(query, pool)
    if options.mode in ("hybrid", "dense"):
        ranked["dense"] = snapshot.dense(embedder.embed([query])[0], pool)
    fused = fuse(ranked, options)
    chunks = snapshot.chunks(row for row, _ in fused)
    today = options.today or datetime.now(UTC).date()
    hits = []
    for row, score in fused:
        chunk = chunks[row]
        if not _passes(chunk, options):
            continue
        freshness = chunk_freshness(chunk, today)
        if freshness.stale and options.stale == "exclude":
            continue
        weight = STALE_WEIGHT if freshness.stale and options.stale == "downweight" else 1.0
        hits.append((score * weight, row, chunk, freshness))
    hits.sort(key=lambda hit: (-hit[0], hit[1]))
    scores = {name: dict(results) for name, results in ranked.items()}
    return [
        _hit(
            rank, chunk, fused_score, freshness, {n: s[row] for n, s in scores.items() if row in s}
        )
        for rank, (fused_score, row, chunk, freshness) in enumerate(hits[: options.k], start=1)
    ]


def fuse(
    ranked: dict[str, list[tuple[int, float]]], options: SearchOptions
) -> list[tuple[int, float]]:
    """One retriever: its own order and scores. Several: reciprocal rank fusion,
    sum of weight / (rrf_k + rank)."""
    if len(ranked) == 1:
        return next(iter(ranked.values()))
    fused: dict[int, float] = {}
    for name, results in ranked.items():
        weight = options.weights.get(name, 1.0)
        for rank, (row, _) in enumerate(results, start=1):
            fused[row] = fused.get(row, 0.0) + weight / (options.rrf_k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def chunk_freshness(chunk: IndexedChunk, today: date) -> Freshness:
    """Freshness of a chunk's document version by its dates (valid_until, TTL)."""
    return assess_freshness(
        valid_until=chunk.valid_until,
        updated=chunk.updated,
        fetched_at=chunk.fetched_at,
        ttl_days=chunk.ttl_days,
        today=today,
    )


def _filtered(options: SearchOptions) -> bool:
    return bool(options.tags or options.owner or options.stale == "exclude")


def _passes(chunk: IndexedChunk, options: SearchOptions) -> bool:
    if options.owner and chunk.owner != options.owner:
        return False
    return all(tag in chunk.tags for tag in options.tags)


def _hit(
    rank: int, chunk: IndexedChunk, fused: float, freshness: Freshness, scores: dict[str, float]
) -> SearchHit:
    return SearchHit(
        rank=rank,
        chunk_id=chunk.id,
        doc_id=chunk.doc_id,
        doc_version=chunk.doc_version,
        source=chunk.source,
        title=chunk.title,
        heading_path=chunk.heading_path,
        text=chunk.text,
        start=chunk.start,
        end=chunk.end,
        scores=scores,
        fused_score=fused,
        freshness=freshness,
        metadata={"owner": chunk.owner, "tags": chunk.tags, "valid_until": chunk.valid_until},
    )
