"""Retrieval on BEIR SciFact: quality of each search mode, ingest throughput, search speed.

    .venv/bin/python bench/retrieval.py [--quick] [--chunk-sizes 512 | 200,512]

1. nDCG@10 and recall@100 of lexical, dense and hybrid search on the 300 SciFact test
   queries, at the document level, for each chunk size (`max_tokens`; default 512, and
   `--chunk-sizes 200,512` adds the default chunker, about 12 minutes more on 2 cores);
   hybrid's RRF settings are also tuned on the train qrels (never on test) and the chosen
   setting is scored on test;
2. ingest throughput (`sources.add` + `index.build`) against the embedder's raw throughput
   over the same texts (the chunks, then their distinct sentences, whose vectors answer checks
   read), at the largest chunk size (the fewest chunks to embed twice);
3. snapshot open time and query latency (p50/p99) on synthetic snapshots of 10k and 100k
   chunks built from SciFact sentences, with random unit vectors.

The data is read from `../shared/data/scifact/` next to the repository; it is never copied.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from steerwise import Workspace
from steerwise.guardrails.text import sentences_of
from steerwise.models import Embedder
from steerwise.retrieval import SearchOptions, search
from steerwise.retrieval.index import EMBED_BATCH
from steerwise.retrieval.search import fuse
from steerwise.retrieval.snapshot_file import IndexedChunk, SnapshotFile, write_snapshot

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "scifact"
RESULTS = Path(__file__).resolve().parent / "results"
ACTOR = "user:bench"
DIMENSION = 384
HITS = 300
"""Chunks asked for per query, so that at least 100 distinct documents come back."""
PUBLISHED = {"lexical": 0.665, "dense": 0.645}
TARGETS = {"lexical": 0.665, "hybrid": 0.70}
GRID = [(rrf_k, dense) for rrf_k in (10, 30, 60, 100) for dense in (0.5, 0.75, 1.0, 1.5, 2.0)]
"""Hybrid settings tried on the train qrels: (rrf_k, dense weight), lexical weight 1."""
TODAY = date(2026, 11, 25)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

Qrels = dict[str, dict[str, int]]
Vector = npt.NDArray[np.float32]


# ---- data and metrics ---------------------------------------------------------------------


@dataclass(frozen=True)
class SciFact:
    """The corpus (id -> title, text), the queries and the test and train judgements."""

    corpus: dict[str, tuple[str, str]]
    queries: dict[str, str]
    test: Qrels
    train: Qrels


def load_scifact() -> SciFact:
    """Read the BEIR files, or exit with a message when the shared data folder is absent."""
    if not DATA.is_dir():
        sys.exit(f"SciFact data not found at {DATA}; this benchmark needs ../shared/data/scifact")
    corpus = {}
    with gzip.open(DATA / "corpus.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            entry = json.loads(line)
            corpus[str(entry["_id"])] = (str(entry["title"]), str(entry["text"]))
    queries = {}
    for line in (DATA / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        queries[str(entry["_id"])] = str(entry["text"])
    return SciFact(
        corpus,
        queries,
        read_qrels(DATA / "qrels" / "test.tsv"),
        read_qrels(DATA / "qrels/train.tsv"),
    )


def read_qrels(path: Path) -> Qrels:
    """query id -> {document id: grade}, from a BEIR qrels TSV with a header line."""
    qrels: Qrels = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        query, doc, grade = line.split("\t")
        qrels.setdefault(query, {})[doc] = int(grade)
    return qrels


def ndcg_at(ranking: Sequence[str], judged: dict[str, int], k: int = 10) -> float:
    """nDCG@k with linear gains and a log2(rank + 1) discount; the ideal comes from the qrels."""
    dcg = sum(judged.get(doc, 0) / math.log2(rank + 1) for rank, doc in enumerate(ranking[:k], 1))
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    idcg = sum(grade / math.log2(rank + 1) for rank, grade in enumerate(ideal, 1))
    return dcg / idcg if idcg else 0.0


def recall_at(ranking: Sequence[str], judged: dict[str, int], k: int = 100) -> float:
    """Share of the relevant documents found in the first k."""
    relevant = {doc for doc, grade in judged.items() if grade > 0}
    return len(relevant.intersection(ranking[:k])) / len(relevant) if relevant else 0.0


def check_metrics() -> None:
    """The metrics against a toy example worked out by hand."""
    judged = {"d1": 1, "d3": 2, "d4": 1}
    # DCG = 1/log2(2) + 0 + 2/log2(4) = 2; IDCG = 2/1 + 1/log2(3) + 1/log2(4) = 3.1309298
    assert abs(ndcg_at(["d1", "d2", "d3"], judged) - 0.6387881) < 1e-6
    assert abs(ndcg_at(["d3", "d1", "d4"], judged) - 1.0) < 1e-12
    assert ndcg_at(["d2"], judged) == 0.0
    assert abs(recall_at(["d1", "d2", "d3"], judged) - 2 / 3) < 1e-12
    assert recall_at(["d9"] * 100 + ["d1"], judged) == 0.0


def score(rankings: dict[str, list[str]], qrels: Qrels) -> dict[str, float]:
    """Mean nDCG@10 and recall@100 over the judged queries."""
    queries = [q for q in qrels if q in rankings]
    return {
        "ndcg@10": statistics.fmean(ndcg_at(rankings[q], qrels[q]) for q in queries),
        "recall@100": statistics.fmean(recall_at(rankings[q], qrels[q]) for q in queries),
        "queries": len(queries),
        "under_100_docs": sum(len(rankings[q]) < 100 for q in queries),
    }


def percentiles_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50 and p99 in milliseconds."""
    p50, p99 = np.percentile(np.asarray(seconds) * 1e3, [50, 99])
    return {"p50_ms": float(p50), "p99_ms": float(p99)}


def load() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(value, 2) for value in os.getloadavg()]


def note(message: str) -> None:
    """Progress on stderr, with the load average."""
    print(f"[{time.strftime('%H:%M:%S')} load {load()[0]:.2f}] {message}", file=sys.stderr)


# ---- query embeddings ---------------------------------------------------------------------


class FixedEmbedder:
    """Hands back query vectors embedded beforehand, so that search time excludes embedding."""

    def __init__(self, vectors: dict[str, Vector]) -> None:
        self._vectors = vectors

    @property
    def model_id(self) -> str:
        return "precomputed"

    @property
    def dimension(self) -> int:
        return DIMENSION

    def embed(self, texts: Sequence[str]) -> Vector:
        return np.stack([self._vectors[text] for text in texts])


def embed_queries(
    embedder: Embedder, texts: Sequence[str]
) -> tuple[dict[str, Vector], list[float]]:
    """Each query embedded on its own, as a search would; the vectors and the seconds each."""
    embedder.embed(["warm-up"])
    vectors, seconds = {}, []
    for text in texts:
        start = time.perf_counter()
        vectors[text] = embedder.embed([text])[0]
        seconds.append(time.perf_counter() - start)
    return vectors, seconds


# ---- SciFact in a workspace ---------------------------------------------------------------


def write_markdown(corpus: dict[str, tuple[str, str]], folder: Path) -> None:
    """One Markdown file per abstract: front matter with its id, then `# title` and the text."""
    folder.mkdir(parents=True)
    for doc_id, (title, text) in corpus.items():
        body = f"---\nid: {json.dumps(doc_id)}\n---\n# {title}\n\n{text}\n"
        (folder / f"{doc_id}.md").write_text(body, encoding="utf-8")


def open_workspace(folder: Path, max_tokens: int) -> Workspace:
    """A fresh workspace whose chunker uses `max_tokens` (default overlap)."""
    Workspace.init(folder, actor=ACTOR).close()
    with (folder / "steerwise.toml").open("a", encoding="utf-8") as config:
        config.write(f"\n[retrieval]\nmax_tokens = {max_tokens}\n")
    return Workspace.open(folder, actor=ACTOR)


def ingest(ws: Workspace, docs: Path) -> dict[str, Any]:
    """Time `sources.add` and `index.build`: its chunk embedding, its sentence embedding (the
    vectors answer checks read), and its tail, the snapshot write."""
    marks: dict[str, list[float]] = {}
    start = time.perf_counter()
    ws.sources.add([docs])
    added = time.perf_counter()
    result = ws.index.build(
        progress=lambda stage, *_: marks.setdefault(stage, []).append(time.perf_counter())
    )
    built = time.perf_counter()
    total = built - start
    chunks, sentences = marks["embedding"], marks.get("sentences", [])
    return {
        "documents": len(result.snapshot.documents),
        "chunks": result.snapshot.chunk_count,
        "sources_add_s": added - start,
        "index_build_s": built - added,
        "sentence_embedding_s": sentences[-1] - chunks[-1] if sentences else 0.0,
        "snapshot_write_s": built - (sentences or chunks)[-1],
        # embedding calls 2..n, bracketed by progress callbacks: the embedder's rate in place
        "in_pipeline_embed_chunks_per_s": (result.snapshot.chunk_count - EMBED_BATCH)
        / (chunks[-1] - chunks[0]),
        "pipeline_s": total,
        "pipeline_chunks_per_s": result.snapshot.chunk_count / total,
        "load": load(),
    }


def raw_embedding(ws: Workspace, ingested: dict[str, Any]) -> dict[str, Any]:
    """The embedder alone over the same texts the build embedded: the snapshot's chunk texts,
    then their distinct sentences."""
    chunks = ws.index.open().all_chunks()
    texts = [chunk.searchable_text() for chunk in chunks]
    sentences = list(dict.fromkeys(s for chunk in chunks for s in sentences_of(chunk.text)))
    start = time.perf_counter()
    ws.models.embedder().embed(texts)
    middle = time.perf_counter()
    ws.models.embedder().embed(sentences)
    seconds = time.perf_counter() - start
    return {
        "raw_embed_s": seconds,
        "raw_chunk_embed_s": middle - start,
        "raw_chunks_per_s": len(texts) / (middle - start),
        "sentences": len(sentences),
        "raw_sentence_embed_s": seconds - (middle - start),
        "overhead_pct": (ingested["pipeline_s"] - seconds) / seconds * 100,
        "raw_load": load(),
    }


def run_queries(
    snapshot: SnapshotFile, vectors: dict[str, Vector], queries: dict[str, str], options: Any
) -> tuple[dict[str, list[str]], list[float]]:
    """Document rankings (a document ranks at its best chunk) and seconds per search call."""
    embedder = FixedEmbedder(vectors)
    rankings, seconds = {}, []
    for qid, text in queries.items():
        start = time.perf_counter()
        hits = search(snapshot, embedder, text, options)
        seconds.append(time.perf_counter() - start)
        rankings[qid] = list(dict.fromkeys(hit.doc_id for hit in hits))
    return rankings, seconds


def check_against_workspace(
    ws: Workspace, snapshot: SnapshotFile, vectors: dict[str, Vector], texts: list[str]
) -> None:
    """`ws.search` (which embeds the query itself) ranks as the timed path does."""
    for mode in ("lexical", "dense", "hybrid"):
        options = ws.default_search_options(mode=mode, k=HITS, today=TODAY)
        for text in texts:
            ours = [hit.chunk_id for hit in search(snapshot, FixedEmbedder(vectors), text, options)]
            theirs = [hit.chunk_id for hit in ws.search(text, options=options)]
            assert ours == theirs, f"{mode} search differs from ws.search for {text!r}"


def ranked_lists(
    snapshot: SnapshotFile, vectors: dict[str, Vector], queries: dict[str, str]
) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """Each query's lexical and dense candidates, as `search` fetches them for k = HITS."""
    return {
        qid: {"lexical": snapshot.lexical(text, HITS), "dense": snapshot.dense(vectors[text], HITS)}
        for qid, text in queries.items()
    }


def tune_hybrid(
    snapshot: SnapshotFile, vectors: dict[str, Vector], queries: dict[str, str], qrels: Qrels
) -> list[dict[str, float]]:
    """nDCG@10 on the given (train) queries for every GRID setting, best first."""
    doc_of = [chunk.doc_id for chunk in snapshot.all_chunks()]
    ranked = ranked_lists(snapshot, vectors, queries)
    table = []
    for rrf_k, dense in GRID:
        options = SearchOptions(k=HITS, rrf_k=rrf_k, weights={"lexical": 1.0, "dense": dense})
        rankings = {
            qid: list(dict.fromkeys(doc_of[row] for row, _ in fuse(lists, options)[:HITS]))
            for qid, lists in ranked.items()
        }
        table.append({"rrf_k": rrf_k, "dense_weight": dense, **score(rankings, qrels)})
    return sorted(table, key=lambda row: -row["ndcg@10"])


@dataclass(frozen=True)
class Queries:
    """The test and train queries (id -> text) and every query's vector."""

    test: dict[str, str]
    train: dict[str, str]
    vectors: dict[str, Vector]


def quality(ws: Workspace, queries: Queries, data: SciFact) -> dict[str, Any]:
    """Each mode's test scores and search seconds, and hybrid tuned on train."""
    snapshot = ws.index.open()
    check_against_workspace(ws, snapshot, queries.vectors, list(queries.test.values())[:5])
    found: dict[str, Any] = {}
    for mode in ("lexical", "dense", "hybrid"):
        options = ws.default_search_options(mode=mode, k=HITS, today=TODAY)
        rankings, seconds = run_queries(snapshot, queries.vectors, queries.test, options)
        found[mode] = {**score(rankings, data.test), **percentiles_ms(seconds)}
    grid = tune_hybrid(snapshot, queries.vectors, queries.train, data.train)
    best = grid[0]
    options = ws.default_search_options(
        mode="hybrid",
        k=HITS,
        today=TODAY,
        rrf_k=int(best["rrf_k"]),
        weights={"lexical": 1.0, "dense": best["dense_weight"]},
    )
    rankings, seconds = run_queries(snapshot, queries.vectors, queries.test, options)
    found["hybrid_tuned"] = {
        "rrf_k": best["rrf_k"],
        "dense_weight": best["dense_weight"],
        "train_ndcg@10": best["ndcg@10"],
        **score(rankings, data.test),
        **percentiles_ms(seconds),
    }
    found["train_grid"] = grid
    return found


def warm_up(ws: Workspace, data: SciFact, count: int = 512) -> None:
    """Embed `count` abstracts, untimed, before anything is timed.

    The first few hundred texts a process embeds run slower (allocator and kernel caches warm
    up); with a one-text warm-up the pipeline, timed first, paid for it and the raw call,
    timed last, did not.
    """
    texts = [f"{title}\n{text}" for title, text in list(data.corpus.values())[:count]]
    ws.models.embedder().embed(texts)


def scifact_run(
    work: Path, docs: Path, max_tokens: int, queries: Queries, data: SciFact, *, raw: bool
) -> dict[str, Any]:
    """Ingest SciFact at one chunk size, then measure its quality (and raw embedding)."""
    note(f"max_tokens={max_tokens}: ingest and build")
    with open_workspace(work / f"ws-{max_tokens}", max_tokens) as ws:
        warm_up(ws, data)
        found: dict[str, Any] = {"ingest": ingest(ws, docs)}
        note(f"max_tokens={max_tokens}: {found['ingest']['chunks']} chunks; quality")
        found["quality"] = quality(ws, queries, data)
        if raw:
            note(f"max_tokens={max_tokens}: raw embedding of the same chunk texts")
            found["ingest"].update(raw_embedding(ws, found["ingest"]))
    return found


# ---- synthetic snapshots for speed --------------------------------------------------------


def sentence_pool(corpus: dict[str, tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Every sentence of the abstracts, and every title."""
    sentences = [s for _, text in corpus.values() for s in _SENTENCE_END.split(text) if s]
    return sentences, [title for title, _ in corpus.values()]


def synthetic_chunks(
    count: int, pool: tuple[list[str], list[str]], rng: np.random.Generator
) -> list[IndexedChunk]:
    """`count` chunks, each a real title over 3 to 8 random abstract sentences."""
    sentences, titles = pool
    picks = rng.integers(0, len(sentences), size=(count, 8))
    lengths = rng.integers(3, 9, size=count)
    heads = rng.integers(0, len(titles), size=count)
    chunks = []
    for i in range(count):
        text = " ".join(sentences[j] for j in picks[i, : lengths[i]])
        title = titles[heads[i]]
        chunks.append(
            IndexedChunk(
                id=f"syn-{i}",
                doc_id=f"syn-{i // 4}",
                doc_version=1,
                source="synthetic",
                title=title,
                heading_path=[title],
                ordinal=i % 4,
                start=0,
                end=len(text),
                text=text,
                owner=None,
                tags=[],
                valid_until=None,
                updated=None,
                fetched_at="2026-11-25T00:00:00Z",
                ttl_days=None,
            )
        )
    return chunks


def unit_vectors(count: int, rng: np.random.Generator) -> Vector:
    """Random float32 rows of unit length."""
    rows = rng.standard_normal((count, DIMENSION), dtype=np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


def build_synthetic(path: Path, count: int, pool: tuple[list[str], list[str]]) -> float:
    """Write a synthetic snapshot; the seconds the write took."""
    rng = np.random.default_rng(count)
    chunks = synthetic_chunks(count, pool, rng)
    vectors = unit_vectors(count, rng)
    meta = {"id": f"synthetic-{count}", "embedder": "random", "dimension": str(DIMENSION)}
    start = time.perf_counter()
    write_snapshot(path, chunks, vectors, meta)
    return time.perf_counter() - start


def open_seconds(path: Path, repeats: int) -> list[float]:
    """Seconds to open the snapshot as a fresh SnapshotFile, after one untimed open."""
    SnapshotFile(path).close()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        opened = SnapshotFile(path)
        seconds.append(time.perf_counter() - start)
        opened.close()
    return seconds


def timed_calls(action: Callable[[str], object], texts: Sequence[str]) -> dict[str, float]:
    """p50/p99 of `action(text)` over the texts, after ten untimed calls."""
    for text in texts[:10]:
        action(text)
    seconds = []
    for text in texts:
        start = time.perf_counter()
        action(text)
        seconds.append(time.perf_counter() - start)
    return percentiles_ms(seconds)


def latencies(
    snapshot: SnapshotFile, vectors: dict[str, Vector], texts: list[str]
) -> dict[str, dict[str, float]]:
    """Per-call latency of each retriever, the fused hybrid path and `search` per mode, k=10."""
    fused_options = SearchOptions(k=10)
    embedder = FixedEmbedder(vectors)

    def hybrid(text: str) -> object:
        ranked = {
            "lexical": snapshot.lexical(text, fused_options.candidates),
            "dense": snapshot.dense(vectors[text], fused_options.candidates),
        }
        return fuse(ranked, fused_options)[: fused_options.k]

    found = {
        "lexical(q, 10)": timed_calls(lambda t: snapshot.lexical(t, 10), texts),
        "dense(vec, 10)": timed_calls(lambda t: snapshot.dense(vectors[t], 10), texts),
        "hybrid: lexical + dense (100 each) + fuse": timed_calls(hybrid, texts),
    }
    for mode in ("lexical", "dense", "hybrid"):
        options = SearchOptions(k=10, mode=mode, today=TODAY)
        found[f"search(), {mode}, k=10"] = timed_calls(
            partial(search, snapshot, embedder, options=options), texts
        )
    return found


def speed_run(
    work: Path, count: int, pool: tuple[list[str], list[str]], queries: Queries, opens: int
) -> dict[str, Any]:
    """Build a synthetic snapshot of `count` chunks, then time opening and searching it."""
    note(f"synthetic snapshot of {count:,} chunks: build")
    path = work / f"synthetic-{count}.sqlite"
    write_s = build_synthetic(path, count, pool)
    note(f"synthetic snapshot of {count:,} chunks: open and search")
    open_s = open_seconds(path, opens)
    snapshot = SnapshotFile(path)
    found = {
        "chunks": snapshot.chunk_count,
        "file_mb": path.stat().st_size / 1e6,
        "write_s": write_s,
        "open_ms_median": statistics.median(open_s) * 1e3,
        "open_ms_all": [s * 1e3 for s in open_s],
        "latency": latencies(snapshot, queries.vectors, list(queries.test.values())),
        "load": load(),
    }
    snapshot.close()
    path.unlink()
    return found


# ---- report -------------------------------------------------------------------------------


def print_quality(runs: dict[int, dict[str, Any]]) -> None:
    print("\n| mode | max_tokens | nDCG@10 | recall@100 | reference nDCG@10 | target | met |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for size, run in runs.items():
        found = run["quality"]
        for mode in ("lexical", "dense", "hybrid", "hybrid_tuned"):
            row = found[mode]
            name = mode
            if mode == "hybrid_tuned":
                name = f"hybrid, train-tuned (rrf_k={row['rrf_k']}, dense w={row['dense_weight']})"
            ref = PUBLISHED.get(mode)
            target = TARGETS.get(mode.split("_")[0])
            met = "" if target is None else ("yes" if row["ndcg@10"] >= target else "no")
            print(
                f"| {name} | {size} | {row['ndcg@10']:.3f} | {row['recall@100']:.3f} "
                f"| {'' if ref is None else f'{ref:.3f}'} "
                f"| {'' if target is None else f'{target:.3f}'} | {met} |"
            )


def print_speed(speed: dict[int, dict[str, Any]], embed_ms: dict[str, float]) -> None:
    print("\n| chunks | operation | p50 ms | p99 ms |")
    print("|---:|---|---:|---:|")
    print(
        f"| - | query embedding, one query | {embed_ms['p50_ms']:.2f} | {embed_ms['p99_ms']:.2f} |"
    )
    for count, run in speed.items():
        print(f"| {count:,} | snapshot open (median) | {run['open_ms_median']:.1f} | |")
        for name, row in run["latency"].items():
            print(f"| {count:,} | {name} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} |")


def print_ingest(runs: dict[int, dict[str, Any]]) -> None:
    print(
        "\n| max_tokens | chunks | add s | build s | of which sentences s | pipeline chunks/s "
        "| embed in pipeline chunks/s | raw chunks/s | overhead |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, run in runs.items():
        row = run["ingest"]
        raw = f"{row['raw_chunks_per_s']:.1f}" if "raw_chunks_per_s" in row else "-"
        over = f"{row['overhead_pct']:+.1f}%" if "overhead_pct" in row else "-"
        print(
            f"| {size} | {row['chunks']:,} | {row['sources_add_s']:.1f} "
            f"| {row['index_build_s']:.1f} | {row['sentence_embedding_s']:.1f} "
            f"| {row['pipeline_chunks_per_s']:.1f} "
            f"| {row['in_pipeline_embed_chunks_per_s']:.1f} | {raw} | {over} |"
        )


def pick_queries(data: SciFact, quick: bool) -> tuple[dict[str, str], dict[str, str]]:
    """Test and train queries (in quick mode, the first 50 of each)."""
    test = {qid: data.queries[qid] for qid in data.test}
    train = {qid: data.queries[qid] for qid in data.train}
    if quick:
        test, train = dict(list(test.items())[:50]), dict(list(train.items())[:50])
    return test, train


def pick_corpus(
    data: SciFact, test: dict[str, str], train: dict[str, str], quick: bool
) -> dict[str, tuple[str, str]]:
    """The whole corpus, or in quick mode the judged documents plus others up to 1,000."""
    if not quick:
        return data.corpus
    qrels = {**data.test, **data.train}
    judged = {doc for q in (*test, *train) for doc in qrels.get(q, {})}
    others = [doc for doc in data.corpus if doc not in judged][: max(0, 1000 - len(judged))]
    return {doc: data.corpus[doc] for doc in (*sorted(judged), *others)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 queries, 1,000 docs, 10k only")
    parser.add_argument(
        "--chunk-sizes",
        default="512",
        help="comma-separated max_tokens values (200,512 adds the default chunker, ~12 min)",
    )
    args = parser.parse_args()
    check_metrics()
    began, load_start = time.perf_counter(), load()
    data = load_scifact()
    test, train = pick_queries(data, args.quick)
    corpus = pick_corpus(data, test, train, args.quick)
    sizes = [int(s) for s in args.chunk_sizes.split(",")]
    if args.quick:
        sizes = sizes[-1:]
    with tempfile.TemporaryDirectory(prefix="steerwise-bench-") as tmp:
        work = Path(tmp)
        write_markdown(corpus, work / "docs")
        with open_workspace(work / "ws-queries", 200) as ws:
            start = time.perf_counter()
            embedder = ws.models.embedder()
            embedder.embed(["load"])
            model_load_s = time.perf_counter() - start
            vectors, seconds = embed_queries(embedder, [*test.values(), *train.values()])
        queries = Queries(test, train, vectors)
        runs = {
            size: scifact_run(work, work / "docs", size, queries, data, raw=size == max(sizes))
            for size in sizes
        }
        pool = sentence_pool(data.corpus)
        counts = (10_000,) if args.quick else (10_000, 100_000)
        speed = {n: speed_run(work, n, pool, queries, 3 if args.quick else 5) for n in counts}
    embed_ms = percentiles_ms(seconds[: len(test)])
    print_quality(runs)
    print_ingest(runs)
    print_speed(speed, embed_ms)
    found = {
        "quick": args.quick,
        "queries": {"test": len(test), "train": len(train)},
        "corpus_documents": len(corpus),
        "chunks_per_query": HITS,
        "model_load_s": model_load_s,
        "query_embedding": embed_ms,
        "scifact": {str(size): run for size, run in runs.items()},
        "speed": {str(count): run for count, run in speed.items()},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_start": load_start,
        "load_end": load(),
        "wall_s": time.perf_counter() - began,
    }
    print(f"\nload average (1/5/15 min): start {load_start}, end {found['load_end']}")
    print(f"wall time: {found['wall_s']:.0f} s")
    name = "retrieval" + ("-quick" if args.quick else "")
    name += "" if args.chunk_sizes == "512" else "-max" + args.chunk_sizes.replace(",", "-")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
