"""The serving process keeps long-lived state away from the garbage collector, and its
traces' storing away from its cores."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from pathlib import Path
from typing import Any

from steerwise import Workspace
from steerwise.server.process import MAX_FREEZES, HeapFreezer
from tests.serving import served


async def _app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def _request(freezer: HeapFreezer) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(freezer({"type": "http", "path": "/"}, receive, send))
    return sent


def test_a_slow_full_collection_freezes_the_heap_after_the_request() -> None:
    freezer = HeapFreezer(_app)
    try:
        assert _request(freezer)[0]["status"] == 204
        assert freezer.freezes == 0  # no slow collection yet: nothing frozen
        warm_state = [[number] for number in range(1_500_000)]  # a model's worth of objects
        gc.collect()  # a full collection that walks them all: slow
        frozen = gc.get_freeze_count()
        _request(freezer)
        assert freezer.freezes == 1 and gc.get_freeze_count() >= frozen + len(warm_state)
        for _ in range(MAX_FREEZES + 2):
            gc.collect()
            _request(freezer)
        assert freezer.freezes <= MAX_FREEZES
    finally:
        freezer.close()
        gc.unfreeze()
    assert freezer._observe not in gc.callbacks


def children(pid: int) -> list[int]:
    listed = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in listed.split()]


def test_the_gateway_stores_traces_in_a_child_at_idle_priority(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace.init(root).close()
    with served(root) as gateway:
        (storer,) = children(gateway.process.pid)
        assert os.sched_getscheduler(storer) == os.SCHED_IDLE
    deadline = time.monotonic() + 30
    while Path(f"/proc/{storer}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{storer}").exists()  # its input closed with the gateway: it ended
    settings = root / "steerwise.toml"
    settings.write_text(settings.read_text() + "\n[tracing]\nstore_apart = false\n")
    with served(root) as gateway:
        assert children(gateway.process.pid) == []
