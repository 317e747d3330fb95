"""MLflow side of the prompt registry benchmark; prints one JSON object of its measurements.

Run with the MLflow venv, not steerwise's (bench/prompt_registry.py does this for you):

    bench/.venv-mlflow/bin/python bench/mlflow_side.py --repeats 5 --workdir DIR

Every figure is the median of `--repeats` repeats. Each store is SQLite in `--workdir`.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from timing import per_call, process_wall

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")

QUESTION = "What is the capital of France?"
URI = "prompts:/bench-0@production"
FIRST_RENDER = """
import os, sys
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")
import mlflow
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_registry_uri(sys.argv[1])
mlflow.genai.load_prompt("prompts:/bench-0@production").format(question="hi")
"""


def template(index: int, revision: int = 0) -> str:
    """The MLflow equivalent of steerwise's bench-<index> prompt file."""
    suffix = f" (rev {revision})" if revision else ""
    return f"You are a helpful assistant for team {index}.{suffix}\n\n{{{{question}}}}"


def use_store(path: Path) -> str:
    """Point MLflow at a SQLite database at `path`, creating its tables (not timed)."""
    import mlflow

    uri = f"sqlite:///{path}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.genai.search_prompts(max_results=1)
    return uri


def seed() -> None:
    """bench-0 (versions 1 and 2, production -> 1) and bench-1 (version 1)."""
    import mlflow

    mlflow.genai.register_prompt(name="bench-0", template=template(0))
    mlflow.genai.register_prompt(name="bench-0", template=template(0, 1))
    mlflow.genai.register_prompt(name="bench-1", template=template(1))
    mlflow.genai.set_prompt_alias("bench-0", alias="production", version=1)


def cached_render(calls: int, repeats: int) -> float:
    """Seconds per load_prompt (cached after the warm-up) + format."""
    import mlflow

    def once(_: int) -> str:
        return str(mlflow.genai.load_prompt(URI).format(question=QUESTION))

    once(0)
    return per_call(once, calls, repeats)


def uncached_load(calls: int, repeats: int) -> float:
    """Seconds per load_prompt by alias with the cache bypassed (cache_ttl_seconds=0)."""
    import mlflow

    return per_call(lambda _: mlflow.genai.load_prompt(URI, cache_ttl_seconds=0), calls, repeats)


def alias_move(calls: int, repeats: int) -> float:
    """Seconds per set_prompt_alias, alternating versions 2 and 1."""
    import mlflow

    def once(i: int) -> None:
        mlflow.genai.set_prompt_alias("bench-0", alias="production", version=2 - i % 2)

    return per_call(once, calls, repeats)


def new_version(calls: int, repeats: int) -> float:
    """Seconds per register_prompt on an existing name (a new version each call)."""
    import mlflow

    counter = iter(range(10**9))

    def once(_: int) -> None:
        mlflow.genai.register_prompt(name="bench-1", template=template(1, next(counter) + 1))

    return per_call(once, calls, repeats)


def push_100(workdir: Path, repeats: int, count: int = 100) -> float:
    """Median seconds for `count` register_prompt calls, each repeat on a fresh SQLite DB."""
    import mlflow

    results = []
    for repeat in range(repeats):
        use_store(workdir / f"push-{repeat}.db")
        gc.collect()
        start = time.perf_counter()
        for i in range(count):
            mlflow.genai.register_prompt(name=f"bench-{i}", template=template(i))
        results.append(time.perf_counter() - start)
    return statistics.median(results)


def first_render(uri: str, repeats: int) -> float:
    """Median wall seconds of a new process that imports mlflow, loads and formats once."""
    command = [sys.executable, "-c", FIRST_RENDER, uri]
    return process_wall(command, repeats)


def measure(workdir: Path, repeats: int, quick: bool) -> dict[str, Any]:
    """Every MLflow measurement, in seconds."""
    import mlflow

    scale = 10 if quick else 1
    uri = use_store(workdir / "mlflow.db")
    seed()
    return {
        "mlflow_version": mlflow.__version__,
        "cached_render": cached_render(2000 // scale, repeats),
        "uncached_load": uncached_load(200 // scale, repeats),
        "label_move": alias_move(50 // scale, repeats),
        "new_version": new_version(50 // scale, repeats),
        "first_render": first_render(uri, repeats),
        "push_100": push_100(workdir, repeats),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    results = measure(args.workdir, args.repeats, args.quick)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
