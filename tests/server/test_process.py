"""The serving process keeps long-lived state away from the garbage collector."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from steerwise.server.process import MAX_FREEZES, HeapFreezer


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
