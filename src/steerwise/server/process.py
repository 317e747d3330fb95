"""The gateway as a process: the app on uvicorn, with the start-up heap frozen.

A gateway process holds a large start-up heap (the SDKs, FastAPI, pydantic models) that never
becomes garbage. Python's full collections walk it all, which showed as 30 to 50 ms pauses
in the latency tail of a loaded gateway; `gc.freeze()` after start-up moves it out of the
collector's reach, so collections only walk what requests allocate.
"""

from __future__ import annotations

import gc

from steerwise.server.app import create_app
from steerwise.workspace import Workspace


def serve(workspace: Workspace, *, host: str, port: int) -> None:
    """Serve `workspace` on `host:port` until interrupted (uvicorn, one worker)."""
    import uvicorn

    app = create_app(workspace)
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, log_level="warning")
