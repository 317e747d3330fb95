"""Prompt registry benchmark: steerwise vs MLflow's prompt registry, in one run.

    .venv/bin/python bench/prompt_registry.py [--repeats N] [--quick]

The steerwise side runs in this process; the MLflow side runs as a subprocess of
bench/.venv-mlflow (see bench/README.md), with the network cut when `unshare -n` works.
Every figure is the median of the repeats; ratio = MLflow time / steerwise time, so a
ratio above 1 means steerwise is faster. Results also go to bench/results/prompt_registry.json.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steerwise import Workspace
from timing import per_call, process_wall

BENCH = Path(__file__).resolve().parent
MLFLOW_PYTHON = BENCH / ".venv-mlflow" / "bin" / "python"
RESULTS = BENCH / "results" / "prompt_registry.json"
ACTOR = "user:bench"
QUESTION = "What is the capital of France?"
REF = "bench-0@production"
FIRST_RENDER = """
import sys
from steerwise import Workspace
ws = Workspace.open(sys.argv[1], actor="user:bench")
ws.prompts.render("bench-0@production", {"question": "hi"})
ws.close()
"""
PROMPT_FILE = """\
name: bench-{index}
description: benchmark prompt {index}
messages:
  - role: system
    content: "You are a helpful assistant for team {index}.{suffix}"
  - role: user
    content: "{{{{ question }}}}"
variables:
  type: object
  properties:
    question: {{type: string}}
  required: [question]
"""


@dataclass(frozen=True)
class Operation:
    """One row of the table: a result key, its label and the unit it is shown in."""

    key: str
    label: str
    unit: str
    scale: float


OPERATIONS = (
    Operation("cached_render", "cached render by label (per call)", "µs", 1e6),
    Operation("uncached_load", "uncached load by label (per call)", "µs", 1e6),
    Operation("label_move", "label/alias move (per call)", "ms", 1e3),
    Operation("new_version", "new version of existing prompt (per call)", "ms", 1e3),
    Operation("push_100", "push of 100 prompts (total)", "ms", 1e3),
    Operation("first_render", "first render in a new process (wall)", "ms", 1e3),
)


# -- steerwise side ------------------------------------------------------------------------


def write_prompt(folder: Path, index: int, revision: int = 0) -> Path:
    """Write bench-<index>.prompt.yaml; `revision` changes its content."""
    suffix = f" (rev {revision})" if revision else ""
    path = folder / f"bench-{index}.prompt.yaml"
    path.write_text(PROMPT_FILE.format(index=index, suffix=suffix), encoding="utf-8")
    return path


def new_workspace(root: Path, label_cache_ttl_s: float | None = None) -> Workspace:
    """A fresh workspace at `root`, with the label cache TTL set in steerwise.toml if given."""
    ws = Workspace.init(root, actor=ACTOR)
    if label_cache_ttl_s is None:
        return ws
    ws.close()
    with (root / "steerwise.toml").open("a", encoding="utf-8") as config:
        config.write(f"\n[prompts]\nlabel_cache_ttl_s = {label_cache_ttl_s}\n")
    return Workspace.open(root, actor=ACTOR)


def seed(ws: Workspace, sources: Path) -> None:
    """bench-0 (versions 1 and 2, production -> 1) and bench-1 (version 1)."""
    sources.mkdir(parents=True, exist_ok=True)
    ws.prompts.push([write_prompt(sources, 0), write_prompt(sources, 1)])
    ws.prompts.push([write_prompt(sources, 0, revision=1)])
    ws.prompts.label("bench-0@1", "production")


def cached_render(ws: Workspace, calls: int, repeats: int) -> float:
    """Seconds per render by label, after one warm-up render."""
    variables = {"question": QUESTION}
    ws.prompts.render(REF, variables)
    return per_call(lambda _: ws.prompts.render(REF, variables), calls, repeats)


def uncached_load(ws: Workspace, calls: int, repeats: int) -> float:
    """Seconds per get by label in a workspace whose label cache TTL is 0."""
    return per_call(lambda _: ws.prompts.get(REF), calls, repeats)


def label_move(ws: Workspace, calls: int, repeats: int) -> float:
    """Seconds per label move, alternating versions 2 and 1."""
    return per_call(
        lambda i: ws.prompts.label(f"bench-0@{2 - i % 2}", "production"), calls, repeats
    )


def new_version(ws: Workspace, sources: Path, calls: int, repeats: int) -> float:
    """Seconds per push of one changed file (a new version each call; file writes not timed)."""
    results = []
    revision = 0
    for _ in range(repeats):
        gc.collect()
        elapsed = 0.0
        for _ in range(calls):
            revision += 1
            path = write_prompt(sources, 1, revision)
            start = time.perf_counter()
            ws.prompts.push([path])
            elapsed += time.perf_counter() - start
        results.append(elapsed / calls)
    return statistics.median(results)


def push_100(workdir: Path, repeats: int, count: int = 100) -> float:
    """Median seconds for one push of `count` files, each repeat into a fresh workspace."""
    sources = workdir / "push-sources"
    sources.mkdir()
    for index in range(count):
        write_prompt(sources, index)
    results = []
    for repeat in range(repeats):
        ws = new_workspace(workdir / f"push-{repeat}")
        gc.collect()
        start = time.perf_counter()
        ws.prompts.push([sources])
        results.append(time.perf_counter() - start)
        ws.close()
    return statistics.median(results)


def first_render(root: Path, repeats: int) -> float:
    """Median wall seconds of a new process that imports, opens and renders once."""
    command = [sys.executable, "-c", FIRST_RENDER, str(root)]
    return process_wall(command, repeats)


def measure_steerwise(workdir: Path, repeats: int, quick: bool) -> dict[str, float]:
    """Every steerwise measurement, in seconds."""
    scale = 10 if quick else 1
    with new_workspace(workdir / "main") as ws, new_workspace(workdir / "ttl0", 0) as ttl0:
        seed(ws, workdir / "main-sources")
        seed(ttl0, workdir / "ttl0-sources")
        results = {
            "cached_render": cached_render(ws, 2000 // scale, repeats),
            "uncached_load": uncached_load(ttl0, 200 // scale, repeats),
            "label_move": label_move(ws, 50 // scale, repeats),
            "new_version": new_version(ws, workdir / "main-sources", 50 // scale, repeats),
        }
    results["first_render"] = first_render(workdir / "main", repeats)
    results["push_100"] = push_100(workdir, repeats)
    return results


# -- MLflow side ---------------------------------------------------------------------------


def network_cut_available() -> bool:
    """Whether `unshare -n` works here (it needs user namespaces or root)."""
    if shutil.which("unshare") is None:
        return False
    done = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    return done.returncode == 0


def measure_mlflow(workdir: Path, repeats: int, quick: bool, cut: bool) -> dict[str, Any]:
    """Run bench/mlflow_side.py in the MLflow venv and parse the JSON it prints."""
    command = [str(MLFLOW_PYTHON), str(BENCH / "mlflow_side.py")]
    command += ["--repeats", str(repeats), "--workdir", str(workdir)]
    command += ["--quick"] if quick else []
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}
    done = subprocess.run(
        ["unshare", "-n", *command] if cut else command,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"the MLflow side failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    result: dict[str, Any] = json.loads(lines[-1])
    return result


# -- report --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def rows(steerwise: dict[str, float], mlflow: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per operation: both medians in the row's unit, and MLflow / steerwise."""
    return [
        {
            "operation": op.label,
            "key": op.key,
            "unit": op.unit,
            "steerwise": steerwise[op.key] * op.scale,
            "mlflow": mlflow[op.key] * op.scale,
            "ratio": mlflow[op.key] / steerwise[op.key],
        }
        for op in OPERATIONS
    ]


def number(value: float) -> str:
    """Three significant figures or so, without exponents."""
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def table(report: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| operation | steerwise | MLflow | ratio (MLflow / steerwise) |",
        "|---|---:|---:|---:|",
    ]
    for row in report:
        unit = row["unit"]
        lines.append(
            f"| {row['operation']} | {number(row['steerwise'])} {unit} "
            f"| {number(row['mlflow'])} {unit} | {number(row['ratio'])}x |"
        )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="steerwise vs MLflow prompt registry")
    parser.add_argument("--repeats", type=int, default=5, help="repeats per figure (default 5)")
    parser.add_argument("--quick", action="store_true", help="fewer calls: a fast smoke run")
    args = parser.parse_args()
    if args.quick and args.repeats == 5:
        args.repeats = 3
    return args


def require_mlflow_venv() -> None:
    """Exit 2 with the set-up commands when the MLflow venv is missing."""
    if MLFLOW_PYTHON.is_file():
        return
    print(
        "The MLflow venv is missing (bench/.venv-mlflow). Create it from the repo root with:\n"
        "    python3 -m venv bench/.venv-mlflow && "
        "bench/.venv-mlflow/bin/pip install mlflow==3.17.2",
        file=sys.stderr,
    )
    sys.exit(2)


def main() -> None:
    args = parse_args()
    require_mlflow_venv()
    cut = network_cut_available()
    if not cut:
        print("note: `unshare -n` does not work here; MLflow runs WITH network access")
    with tempfile.TemporaryDirectory(prefix="steerwise-bench-") as tmp:
        work = Path(tmp)
        (work / "steerwise").mkdir()
        (work / "mlflow").mkdir()
        print(f"steerwise side ({args.repeats} repeats)...", flush=True)
        ours = measure_steerwise(work / "steerwise", args.repeats, args.quick)
        print("MLflow side (a subprocess; creating its SQLite DBs is slow)...", flush=True)
        theirs = measure_mlflow(work / "mlflow", args.repeats, args.quick, cut)
    report = rows(ours, theirs)
    print(table(report))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "repeats": args.repeats,
        "quick": args.quick,
        "mlflow_version": theirs.get("mlflow_version"),
        "mlflow_network_cut": cut,
        "machine": machine(),
        "operations": report,
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written: {RESULTS.relative_to(BENCH.parent)}")


if __name__ == "__main__":
    main()
