"""Dashboard query time on a million synthetic traces, on SQLite and PostgreSQL.

    .venv/bin/python bench/monitor_dashboard.py [--traces 1000000] [--repeats 5]
        [--postgres postgresql://postgres@127.0.0.1:5432/test]

The traces' facts (`trace_facts`, `trace_rail_facts` for the one request in ten whose
injection rail fired, and the hourly roll-up) are written into a fresh store of each kind by
the function the trace writer uses (`store_facts`), 10,000 a transaction, spread over seven
days (about 100 a minute) for one deployment, with lognormal latencies and per-step
durations, token counts, costs, outcomes and scores. Then `Monitor.metrics` (every query
`steerwise monitor show` runs: totals, outcomes, latency and per-step histograms, score
tenths, releases, rails, the series) is timed over windows of one hour, three hours (the
longest read from the facts alone), one day and a week, ending 23.5 minutes before the last
trace (so that long windows read partial hours at both ends from the facts), median of
`--repeats` after one warm-up. PostgreSQL gets `ANALYZE` after loading, as autovacuum would.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from steerwise.monitor import Monitor
from steerwise.monitor.facts import RailFact, TraceFacts
from steerwise.monitor.metrics import iso
from steerwise.monitor.sums import store_facts
from steerwise.store import Store, open_store
from timing import save_results

RESULTS = Path(__file__).resolve().parent / "results" / "monitor_dashboard.json"
END = datetime(2026, 12, 6, tzinfo=UTC)
SPAN = timedelta(days=7)
UNTIL = END - timedelta(minutes=23, seconds=30)
TARGET = "support-bot@production"
CHUNK = 10_000
WINDOWS = ("1h", "3h", "1d", "7d")
STEP_SHARES = {
    "retrieval": 0.01,
    "input_rails": 0.05,
    "model_call": 0.85,
    "output_rails": 0.03,
    "citations": 0.001,
}


def synthetic_facts(
    start: int, count: int, total: int, rng: np.random.Generator
) -> list[TraceFacts]:
    """`count` synthetic traces' facts from trace number `start` on."""
    numbers = np.arange(start, start + count)
    seconds = SPAN.total_seconds() * numbers / total
    latency = rng.lognormal(7.5, 0.5, count)
    confidence = rng.beta(5, 2, count)
    found = []
    for i, number in enumerate(numbers):
        outcome = "block" if number % 10 == 0 else "flag" if number % 7 == 0 else "allow"
        ms = float(latency[i])
        found.append(
            TraceFacts(
                trace_id=f"{number:012d}",
                created_at=iso(END - SPAN + timedelta(seconds=float(seconds[i]))),
                target=TARGET,
                release="support-bot@2" if number > total // 2 else "support-bot@1",
                release_id="r2" if number > total // 2 else "r1",
                outcome=outcome,
                error=number % 100 == 0,
                latency_ms=ms,
                steps={step: ms * share for step, share in STEP_SHARES.items()},
                input_tokens=400,
                output_tokens=60,
                cost_usd=0.0004,
                attempts=1,
                confidence=float(confidence[i]),
                grounding=0.8,
                stale=number % 50 == 0,
                input_chars=200,
                output_chars=300,
                rails=(RailFact("input", "prompt_injection", "triggered", "block"),)
                if outcome == "block"
                else (),
            )
        )
    return found


def load(store: Store, total: int) -> float:
    """Write `total` synthetic facts; seconds taken."""
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for start in range(0, total, CHUNK):
        facts = synthetic_facts(start, min(CHUNK, total - start), total, rng)
        with store.write() as tx:
            store_facts(tx, facts)
    return time.perf_counter() - started


def time_windows(store: Store, repeats: int) -> dict[str, Any]:
    monitor = Monitor(store)
    found: dict[str, Any] = {}
    for window in WINDOWS:
        metrics = monitor.metrics(TARGET, window=window, until=UNTIL)  # warm-up
        runs = []
        for _ in range(repeats):
            began = time.perf_counter()
            monitor.metrics(TARGET, window=window, until=UNTIL)
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
    }
    save_results(RESULTS, found)


if __name__ == "__main__":
    main()
