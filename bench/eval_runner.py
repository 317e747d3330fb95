"""The eval runner against promptfoo: the same dataset and assertions, the same slow upstream.

    unshare -n sh -c 'ip link set lo up && .venv/bin/python bench/eval_runner.py'

An OpenAI-compatible upstream (`bench/instant_upstream.py --delay-ms 50`) answers every
request after 50 ms. Both tools run N items (default 1,000) at concurrency 32 with two
assertions each (the answer contains a phrase; the answer equals the reference):

- steerwise: `steerwise eval run --target bot@production --dataset qa --scorer contains:...
  --scorer exact_match --concurrency 32 --no-reuse --json`, in a fresh workspace whose release
  `bot` pins a prompt and the upstream as its model (every item goes through the request path
  and leaves a trace; results are stored item by item);
- promptfoo 0.121.20 (`bench/.node-promptfoo`, see bench/README.md): `promptfoo eval
  --max-concurrency 32 --no-cache --no-table -o out.json` with `contains` and `equals`.

Reported: each side's wall time (start-up included; median of `--repeats`), its ratio to the
ideal (N x delay / concurrency) and steerwise's time over promptfoo's. Results go to
`bench/results/eval_runner.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gateway import PROMPT, _free_ports, _start, _wait_socket

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results" / "eval_runner.json"
PROMPTFOO = BENCH / ".node-promptfoo" / "node_modules" / ".bin" / "promptfoo"
STEERWISE = Path(sys.executable).parent / "steerwise"
ANSWER = "Refunds take five working days once the bike is back with us."
PHRASE = "five working days"
QUIET = {
    "PROMPTFOO_DISABLE_TELEMETRY": "1",
    "PROMPTFOO_DISABLE_UPDATE": "1",
    "PROMPTFOO_DISABLE_REMOTE_GENERATION": "1",
    "PROMPTFOO_DISABLE_SHARING": "1",
    "OPENAI_API_KEY": "unused",
}


def main() -> None:
    parser = argparse.ArgumentParser(description="eval runner vs promptfoo")
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    (port,) = _free_ports(1)
    delay = ("--delay-ms", str(args.delay_ms))
    upstream = _start(
        [sys.executable, str(BENCH / "instant_upstream.py"), "--port", str(port), *delay]
    )
    try:
        _wait_socket(port)
        with tempfile.TemporaryDirectory() as folder:
            results = _measure(Path(folder), f"http://127.0.0.1:{port}/v1", args)
    finally:
        upstream.terminate()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    _print(results)


def _measure(folder: Path, upstream: str, args: argparse.Namespace) -> dict[str, Any]:
    ideal = args.items * args.delay_ms / 1000 / args.concurrency
    workspace = _workspace(folder / "ws", upstream, args.items)
    config = _promptfoo_config(folder / "promptfooconfig.yaml", upstream, args.items)
    runs: dict[str, list[float]] = {"steerwise": [], "promptfoo": []}
    for repeat in range(args.repeats):
        runs["steerwise"].append(_steerwise(workspace, args.concurrency))
        runs["promptfoo"].append(_promptfoo(folder, config, args.concurrency))
        print(f"repeat {repeat + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in runs.items()))
    medians = {name: statistics.median(times) for name, times in runs.items()}
    return {
        "items": args.items,
        "delay_ms": args.delay_ms,
        "concurrency": args.concurrency,
        "ideal_s": ideal,
        "runs": runs,
        "median_s": medians,
        "over_ideal": {name: value / ideal for name, value in medians.items()},
        "steerwise_over_promptfoo": medians["steerwise"] / medians["promptfoo"],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
    }


def _workspace(root: Path, upstream: str, items: int) -> Path:
    from steerwise import Workspace
    from steerwise.core.evals import DatasetItem
    from steerwise.releases import PinRequest, release_id

    Workspace.init(root).close()
    model = f'\n[models.slow]\nprovider = "openai"\nmodel = "m"\nbase_url = "{upstream}"\n'
    (root / "steerwise.toml").write_text((root / "steerwise.toml").read_text() + model)
    (root / "prompts").mkdir()
    (root / "prompts" / "answer.prompt.yaml").write_text(PROMPT)
    with Workspace.open(root) as ws:
        ws.prompts.push([root / "prompts"])
        made = ws.releases.create("bot", PinRequest("answer@1", model="slow"))
        ws.releases.deploy("bot", release_id(made), "production")
        dataset = [_item(n) for n in range(items)]
        ws.datasets.import_items(
            "qa", [DatasetItem.model_validate(row) for row in dataset], source="bench"
        )
    return root


def _item(number: int) -> dict[str, Any]:
    return {
        "id": f"q{number}",
        "variables": {"question": f"Question {number}?"},
        "reference": ANSWER,
    }


def _steerwise(workspace: Path, concurrency: int) -> float:
    command = [str(STEERWISE), "eval", "run", "--target", "bot@production", "--dataset", "qa"]
    command += ["--scorer", f"contains:value={PHRASE}", "--scorer", "exact_match"]
    command += ["--concurrency", str(concurrency), "--no-reuse", "--json"]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=workspace, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    report = json.loads(done.stdout) if done.returncode == 0 else {}
    if report.get("done") != report.get("items") or report.get("failed"):
        raise RuntimeError(f"steerwise eval run failed: {done.stderr[-500:]}")
    return elapsed


def _promptfoo_config(path: Path, upstream: str, items: int) -> Path:
    tests = [
        {
            "vars": {"question": f"Question {n}?"},
            "assert": [{"type": "contains", "value": PHRASE}, {"type": "equals", "value": ANSWER}],
        }
        for n in range(items)
    ]
    config = {
        "prompts": ["{{question}}"],
        "providers": [{"id": "openai:chat:m", "config": {"apiBaseUrl": upstream, "apiKey": "x"}}],
        "tests": tests,
    }
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def _promptfoo(folder: Path, config: Path, concurrency: int) -> float:
    home = folder / "promptfoo-home"
    home.mkdir(exist_ok=True)
    environment = {**os.environ, **QUIET, "HOME": str(home), "PROMPTFOO_CONFIG_DIR": str(home)}
    command = [str(PROMPTFOO), "eval", "-c", str(config), "--max-concurrency", str(concurrency)]
    command += ["--no-cache", "--no-table", "-o", str(folder / "out.json")]
    started = time.perf_counter()
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 100):  # 100: some assertion failed
        raise RuntimeError(f"promptfoo failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed


def _print(results: dict[str, Any]) -> None:
    print(
        f"\n{results['items']} items, {results['delay_ms']:g} ms upstream, concurrency"
        f" {results['concurrency']}: ideal {results['ideal_s']:.2f} s"
    )
    print("| tool | wall (median) | over the ideal |")
    print("|---|---:|---:|")
    for name, value in results["median_s"].items():
        print(f"| {name} | {value:.2f} s | {results['over_ideal'][name]:.1f}x |")
    print(f"steerwise / promptfoo: {results['steerwise_over_promptfoo']:.2f}")


if __name__ == "__main__":
    main()
