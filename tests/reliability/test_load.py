"""Load: wrk drives the gateway on loopback (chat completions answered by a scripted upstream)
for a fixed time at several concurrency levels. No request may fail, the latency percentiles
are recorded, and the server's memory stays flat once warm: after a warm-up that runs every
level three times (the caches fill: SQLite's pages, the allocator's arenas, which grow with the
number of threads at work), a run through every level grows it by less than 5% (Python's heap
stays level; the allocator's heap can step by about 3% at once: docs/reliability.md)."""

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
WARM_UP_PASSES = 3
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
            warm_up = [resident_mb(gateway.process.pid)]
            for connections in LEVELS * WARM_UP_PASSES:  # every level, so every cache fills
                wrk(gateway.url, connections, script)
                warm_up.append(resident_mb(gateway.process.pid))
            runs, memory = [], []
            for connections in LEVELS:
                runs.append(wrk(gateway.url, connections, script))
                memory.append(resident_mb(gateway.process.pid))
    assert all(run["non_2xx"] == 0 and run["socket_errors"] == 0 for run in runs), runs
    assert all(run["requests"] > 50 for run in runs), runs
    assert max(memory) <= max(warm_up) * 1.05, (warm_up, memory)  # no growth once warm
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
