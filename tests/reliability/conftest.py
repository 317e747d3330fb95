"""What the reliability tests measure, gathered for docs/reliability.md.

Each test adds its figures (requests made, kills, faults injected, payloads tried, losses) to
the session's `figures`; when `STEERWISE_RELIABILITY_RESULTS` names a file (`make
reliability` sets it), they are merged into it as JSON at the end of the session (under a
lock: `make test`'s workers end their sessions together).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

RESULTS_VARIABLE = "STEERWISE_RELIABILITY_RESULTS"


@pytest.fixture(scope="session")
def figures() -> Iterator[dict[str, Any]]:
    found: dict[str, Any] = {}
    yield found
    target = os.environ.get(RESULTS_VARIABLE)
    if not target or not found:
        return
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        merged.update(found)
        path.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n", encoding="utf-8")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None (the workspace's own SQLite file) or a fresh PostgreSQL schema's URL."""
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def backend(database_url: str | None) -> str:
    """The name of the store `database_url` gives, for figures."""
    return "sqlite" if database_url is None else "postgresql"
