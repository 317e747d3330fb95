"""Timing helpers shared by both sides of a benchmark (imported from the script's folder).

Kept free of steerwise imports: the peer's side runs in the peer's own virtual environment.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def per_call(action: Callable[[int], object], calls: int, repeats: int) -> float:
    """Median over repeats of the mean seconds one call of `action(i)` takes."""
    results = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        for i in range(calls):
            action(i)
        results.append((time.perf_counter() - start) / calls)
    return statistics.median(results)


def process_wall(command: list[str], repeats: int) -> float:
    """Median wall seconds of `command` run `repeats` times, after one untimed warm-up."""
    subprocess.run(command, check=True, capture_output=True)
    results = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        results.append(time.perf_counter() - start)
    return statistics.median(results)


def save_results(path: Path, found: dict[str, Any]) -> None:
    """Add the machine and load to a bench's figures, write them to `path` as JSON and print
    them."""
    found["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}"
    found["load_average"] = os.getloadavg()[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(found, indent=2))
