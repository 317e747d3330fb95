"""The gateway as a process: the app on uvicorn, with its long-lived heap kept away from the
garbage collector.

A gateway process holds a large heap that never becomes garbage: the SDKs, FastAPI and
pydantic at start-up, and torch with the rails' embedding model once a policy first runs.
Python's full collections walk all of it, which showed as 30 to 250 ms pauses in the latency
tail under load. `gc.freeze()` after start-up moves the start-up heap out of the collector's
reach; `HeapFreezer` does the same after a full collection that took longer than
`SLOW_FULL_COLLECTION_S` (what survived it is warm-up state: models, compiled rails), at most
`MAX_FREEZES` times, so that a process that loads a model later does not pay for it on every
full collection. Frozen objects are never collected, which is why the number is bounded.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from steerwise.monitor.alerts import AlertLoop
from steerwise.server.app import create_app
from steerwise.workspace import Workspace

SLOW_FULL_COLLECTION_S = 0.02
MAX_FREEZES = 5


class HeapFreezer:
    """ASGI middleware: after a slow full collection, freezes the heap between requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.freezes = 0
        self._began = 0.0
        self._pending = False
        gc.callbacks.append(self._observe)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        if self._pending and self.freezes < MAX_FREEZES:
            self._pending = False
            self.freezes += 1
            gc.freeze()

    def close(self) -> None:
        """Stop watching collections."""
        if self._observe in gc.callbacks:
            gc.callbacks.remove(self._observe)

    def _observe(self, phase: str, info: dict[str, Any]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._began = time.perf_counter()
        elif time.perf_counter() - self._began > SLOW_FULL_COLLECTION_S:
            self._pending = True


def serve(workspace: Workspace, *, host: str, port: int) -> None:
    """Serve `workspace` on `host:port` until interrupted (uvicorn, one worker), evaluating
    its alert rules in the background every `[alerts] interval_s`."""
    import uvicorn

    if workspace.settings.tracing.store_apart:
        workspace.store_traces_apart()
    app = HeapFreezer(create_app(workspace))
    alerts = AlertLoop(workspace.alerts, workspace.settings.alerts.interval_s)
    gc.collect()
    gc.freeze()
    alerts.start()
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        alerts.stop()
