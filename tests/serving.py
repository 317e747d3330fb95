"""`steerwise serve` as a real process on a free loopback port, for the tests that drive it."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.cli.runner import EXECUTABLE
from tests.models.llama_server import free_port

STARTUP_S = 60.0


@dataclass(frozen=True)
class Served:
    """A running gateway: its base URL and its process."""

    url: str
    process: subprocess.Popen[bytes]


def start_serving(root: Path, args: Sequence[str] = ()) -> Served:
    """Start `steerwise serve` in `root` and wait until `/healthz` answers."""
    port = free_port()
    command = [str(EXECUTABLE), "serve", "--port", str(port), *args]
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    served = Served(f"http://127.0.0.1:{port}", process)
    try:
        wait_until_healthy(served)
    except BaseException:
        process.kill()
        process.wait(timeout=20)
        raise
    return served


@contextmanager
def served(root: Path, args: Sequence[str] = ()) -> Iterator[Served]:
    """A gateway serving `root` for the `with` block, stopped cleanly (SIGTERM) after it."""
    running = start_serving(root, args)
    try:
        yield running
    finally:
        running.process.terminate()
        running.process.wait(timeout=20)


def wait_until_healthy(served: Served) -> None:
    """Poll `/healthz` until it answers ok; fail if the process exits or time runs out."""
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            stderr = served.process.stderr.read() if served.process.stderr else b""
            raise RuntimeError(f"steerwise serve exited: {stderr!r}")
        try:
            with urllib.request.urlopen(f"{served.url}/healthz", timeout=2) as response:
                if json.loads(response.read()) == {"status": "ok"}:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("steerwise serve did not become healthy")
