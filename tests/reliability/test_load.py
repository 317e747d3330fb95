"""Load: wrk drives the gateway on loopback (chat completions answered by a scripted upstream)
for a fixed time at several concurrency levels. No request may fail, the latency percentiles
are recorded, and the server's memory stays flat once warm: after a warm-up that ends when a
run grows it by less than 1%, no level grows it by more than 3%."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from steerwise import Workspace
from tests.models.fault_server import FaultServer, ok
from tests.reliability.harness import answering_workspace, model_section
from tests.serving import served

LEVELS = (1, 8, 32)
SECONDS = 10
WARM_UP_RUNS = 10
SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model": "bot@production", "messages": [{"role": "user", "content": "How long?"}]}'
"""
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def warmed_up(url: str, pid: int, script: Path) -> list[float]:
    """Run the busiest level until the server's memory grows less than 1% in a run (its
    caches full: SQLite's pages, compiled prompts, the allocator's pools); the sizes seen."""
    sizes = [resident_mb(pid)]
    while len(sizes) <= WARM_UP_RUNS:
        wrk(url, LEVELS[-1], script)
        sizes.append(resident_mb(pid))
        if sizes[-1] <= sizes[-2] * 1.01:
            break
    return sizes


def wrk(url: str, connections: int, script: Path) -> dict[str, Any]:
    """One fixed-time wrk run: requests, failures and latency percentiles (ms)."""
    done = subprocess.run(
        [
            "wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{SECONDS}s",
            "--timeout", "10s", "--latency", "-s", str(script), f"{url}/v1/chat/completions",
        ],
        capture_output=True, text=True, timeout=SECONDS + 60, check=True,
    )  # fmt: skip
    out = done.stdout
    percentiles = {
        f"p{share}": round(float(value) * UNITS[unit], 2)
        for share, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)$", out, re.M)
    }
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "connections": connections,
        "requests": requests,
        "per_second": round(requests / SECONDS, 1),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": sum(map(int, errors.groups())) if errors else 0,
        "latency_ms": percentiles,
    }


@pytest.mark.reliability
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (make reliability)")
def test_the_gateway_under_load_fails_nothing_and_keeps_its_memory(
    tmp_path: Path, figures: dict[str, Any]
) -> None:
    root = tmp_path / "ws"
    script = tmp_path / "chat.lua"
    script.write_text(SCRIPT, encoding="utf-8")
    with FaultServer(default=ok("Refunds take five working days.")) as upstream:
        answering_workspace(root, model_section("scripted", upstream.base_url))
        with served(root) as gateway:
            warm_up = warmed_up(gateway.url, gateway.process.pid, script)
            runs, memory = [], [warm_up[-1]]
            for connections in (*LEVELS, LEVELS[-1]):  # the busiest level twice
                runs.append(wrk(gateway.url, connections, script))
                memory.append(resident_mb(gateway.process.pid))
    assert all(run["non_2xx"] == 0 and run["socket_errors"] == 0 for run in runs), runs
    assert all(run["requests"] > 50 for run in runs), runs
    assert len(warm_up) <= WARM_UP_RUNS, warm_up  # it levelled off
    assert max(memory) <= memory[0] * 1.03, memory  # and stayed flat through every level
    with Workspace.open(root) as ws:
        stored = len(ws.traces.items(limit=1_000_000))
    assert stored >= sum(run["requests"] for run in runs)  # and every request left its trace
    figures["load"] = {
        "seconds_per_level": SECONDS,
        "runs": runs,
        "resident_mb_warming_up": [round(value, 1) for value in warm_up],
        "resident_mb": [round(value, 1) for value in memory],
        "traces_stored": stored,
    }
