"""Drift checks: time on 100,000 traces, false alarm rate and power of each test.

    .venv/bin/python bench/monitor_drift.py [--traces 100000] [--trials 400]

1. Time: 100,000 synthetic traces' facts (as `bench/monitor_dashboard.py` writes them) in a
   SQLite store, half in a reference day and half in the current one; `DriftCheck.run` over
   all seven features, median of 3 after a warm-up.
2. False alarms: `--trials` pairs of windows drawn from the same distribution (lognormal
   lengths for the numeric test, outcomes allow/flag/block at 80/12/8% for the categorical
   one), at several sample sizes; the share called drift should be near the nominal 5% where
   the p-value decides (up to 1,000 requests) and near 0 where the distance does.
3. Power: the same with a known shift (the lognormal's location up by 0.1, about +10% in
   length; the block share from 8% to 14%): the share called drift.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from monitor_dashboard import END, synthetic_facts
from steerwise.monitor.drift import DriftCheck, DriftSettings, categorical_drift, numeric_drift
from steerwise.monitor.sums import store_facts
from steerwise.store import open_store
from timing import save_results

RESULTS = Path(__file__).resolve().parent / "results" / "monitor_drift.json"
SIZES = (100, 500, 1000, 5000)
OUTCOMES = np.array(["allow", "flag", "block"])


def check_time(total: int) -> dict[str, Any]:
    """Seconds of one drift check over `total` traces (half reference, half current)."""
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{Path(folder) / 'drift.db'}")
        try:
            rng = np.random.default_rng(0)
            for start in range(0, total, 10_000):
                with store.write() as tx:
                    store_facts(tx, synthetic_facts(start, 10_000, total, rng))
            check = DriftCheck(store, DriftSettings(max_rows=total))
            # synthetic_facts spreads the traces over the seven days before END
            middle = END - timedelta(days=3.5)
            reference = (END - timedelta(days=7), middle)
            current = (middle, END)
            report = check.run("support-bot@production", reference=reference, current=current)
            runs = []
            for _ in range(3):
                began = time.perf_counter()
                check.run("support-bot@production", reference=reference, current=current)
                runs.append(time.perf_counter() - began)
        finally:
            store.close()
    first = report.features[0]
    return {
        "traces": total,
        "reference_n": first.reference_n,
        "current_n": first.current_n,
        "median_s": round(statistics.median(runs), 3),
        "drifted": report.drifted,
    }


def alarm_rates(trials: int, *, shift: bool) -> dict[str, dict[str, float]]:
    """Share of trials called drift per sample size, numeric and categorical."""
    settings = DriftSettings()
    rng = np.random.default_rng(1 if shift else 2)
    found: dict[str, dict[str, float]] = {}
    for size in SIZES:
        numeric = categorical = 0
        for _ in range(trials):
            before = rng.lognormal(4.0, 0.5, size)
            after = rng.lognormal(4.1 if shift else 4.0, 0.5, size)
            numeric += numeric_drift("length", before, after, settings).verdict == "drift"
            shares = [0.80, 0.12, 0.08]
            moved = [0.74, 0.12, 0.14] if shift else shares
            first = list(rng.choice(OUTCOMES, size, p=shares))
            second = list(rng.choice(OUTCOMES, size, p=moved))
            categorical += categorical_drift("outcome", first, second, settings).verdict == "drift"
        test = "p-value" if size <= settings.large_sample else "distance"
        found[str(size)] = {
            "decided_by": test,  # type: ignore[dict-item]
            "numeric": round(numeric / trials, 4),
            "categorical": round(categorical / trials, 4),
        }
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=400)
    args = parser.parse_args()
    found = {
        "check": check_time(args.traces),
        "false_alarm_rate": alarm_rates(args.trials, shift=False),
        "power": alarm_rates(args.trials, shift=True),
        "trials": args.trials,
    }
    save_results(RESULTS, found)


if __name__ == "__main__":
    main()
