"""Dashboard query time on a million synthetic traces, on SQLite and PostgreSQL.

    .venv/bin/python bench/monitor_dashboard.py [--traces 1000000] [--repeats 5]
        [--postgres postgresql://postgres@127.0.0.1:5432/test]

The traces' facts (`trace_facts`, and `trace_rail_facts` for the one request in ten whose
injection rail fired) are written straight into a fresh store of each kind through the same
records the trace writer uses, spread over seven days (about 100 a minute) for one
deployment, with lognormal latencies and per-step durations, token counts, costs, outcomes
and scores. Then `Monitor.metrics` (every query `steerwise monitor show` runs: totals,
outcomes, latency and per-step histograms, score tenths, releases, rails, the series) is
timed over windows of one hour, one day and the whole week, median of `--repeats` after one
warm-up. PostgreSQL gets `ANALYZE` after loading, as autovacuum would.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from steerwise.core.traces import TRACE_STEPS
from steerwise.monitor import Monitor
from steerwise.monitor.facts import latency_bucket, tenth
from steerwise.monitor.metrics import iso
from steerwise.store import Store, open_store

RESULTS = Path(__file__).resolve().parent / "results" / "monitor_dashboard.json"
END = datetime(2026, 12, 6, tzinfo=UTC)
SPAN = timedelta(days=7)
TARGET = "support-bot@production"
CHUNK = 10_000
WINDOWS = ("1h", "1d", "7d")


def fact_rows(
    start: int, count: int, total: int, rng: np.random.Generator
) -> tuple[list[Any], list[Any]]:
    """`count` synthetic fact rows (and rail rows) from trace number `start` on."""
    numbers = np.arange(start, start + count)
    seconds = SPAN.total_seconds() * numbers / total
    latency = rng.lognormal(7.5, 0.5, count)
    confidence = rng.beta(5, 2, count)
    facts, rails = [], []
    for i, number in enumerate(numbers):
        at = iso(END - SPAN + timedelta(seconds=float(seconds[i])))
        outcome = "block" if number % 10 == 0 else "flag" if number % 7 == 0 else "allow"
        row = {
            "trace_id": f"{number:012d}",
            "created_at": at,
            "target": TARGET,
            "release_name": "support-bot",
            "release": "support-bot@2" if number > total // 2 else "support-bot@1",
            "release_id": "r2" if number > total // 2 else "r1",
            "outcome": outcome,
            "error": int(number % 100 == 0),
            "latency_ms": float(latency[i]),
            "latency_bucket": latency_bucket(float(latency[i])),
            "input_tokens": 400,
            "output_tokens": 60,
            "cost_usd": 0.0004,
            "attempts": 1,
            "confidence": float(confidence[i]),
            "confidence_bin": tenth(float(confidence[i])),
            "grounding": 0.8,
            "grounding_bin": 8,
            "stale": int(number % 50 == 0),
            "input_chars": 200,
            "output_chars": 300,
        }
        for share, step in zip((0.01, 0.0, 0.05, 0.85, 0.03, 0.001), TRACE_STEPS, strict=True):
            row[f"{step}_bucket"] = latency_bucket(float(latency[i]) * share) if share else None
        facts.append(row)
        if outcome == "block":
            rails.append(
                {
                    "trace_id": row["trace_id"],
                    "created_at": at,
                    "target": TARGET,
                    "release_name": "support-bot",
                    "stage": "input",
                    "rail": "prompt_injection",
                    "result": "triggered",
                    "decision": "block",
                }
            )
    return facts, rails


def load(store: Store, total: int) -> float:
    """Write `total` synthetic facts; seconds taken."""
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for start in range(0, total, CHUNK):
        facts, rails = fact_rows(start, min(CHUNK, total - start), total, rng)
        with store.write() as tx:
            tx.monitor.add_many(facts, rails)
    return time.perf_counter() - started


def time_windows(store: Store, repeats: int) -> dict[str, Any]:
    monitor = Monitor(store)
    found: dict[str, Any] = {}
    for window in WINDOWS:
        metrics = monitor.metrics(TARGET, window=window, until=END)  # warm-up
        runs = []
        for _ in range(repeats):
            began = time.perf_counter()
            monitor.metrics(TARGET, window=window, until=END)
            runs.append(time.perf_counter() - began)
        found[window] = {
            "traces": metrics.requests,
            "median_ms": round(statistics.median(runs) * 1000, 1),
            "p99_latency_ms": metrics.latency.p99,
        }
    return found


def bench_sqlite(total: int, repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{Path(folder) / 'bench.db'}")
        try:
            loaded = load(store, total)
            return {"load_s": round(loaded, 1), "windows": time_windows(store, repeats)}
        finally:
            store.close()


def bench_postgres(base: str, total: int, repeats: int) -> dict[str, Any]:
    import psycopg

    schema = f"sw_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        url = f"{base}?options=-csearch_path%3D{schema}"
        store = open_store(url)
        try:
            loaded = load(store, total)
            with psycopg.connect(base, autocommit=True) as connection:
                connection.execute(f"ANALYZE {schema}.trace_facts")
                connection.execute(f"ANALYZE {schema}.trace_rail_facts")
            return {"load_s": round(loaded, 1), "windows": time_windows(store, repeats)}
        finally:
            store.close()
    finally:
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    found: dict[str, Any] = {
        "traces": args.traces,
        "sqlite": bench_sqlite(args.traces, args.repeats),
        "postgresql": bench_postgres(args.postgres, args.traces, args.repeats),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "load_average": os.getloadavg()[0],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(found, indent=2))


if __name__ == "__main__":
    main()
