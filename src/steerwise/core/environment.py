"""Every environment variable steerwise reads, declared once.

Environment variables only supply defaults; explicit arguments always win.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EnvironmentVariable:
    """One `STEERWISE_*` variable: its name and what it means."""

    name: str
    doc: str

    def get(self) -> str | None:
        """Return the variable's value, or None when it is unset or empty."""
        value = os.environ.get(self.name, "").strip()
        return value or None


WORKSPACE = EnvironmentVariable(
    "STEERWISE_WORKSPACE", "Folder of the workspace to open when --workspace is not given."
)
DATABASE_URL = EnvironmentVariable(
    "STEERWISE_DATABASE_URL",
    "Store URL, e.g. postgresql+psycopg://user@host/db; overrides steerwise.toml.",
)
ACTOR = EnvironmentVariable(
    "STEERWISE_ACTOR", "Who is acting, recorded in the audit log (default: user:<login name>)."
)
DEBUG = EnvironmentVariable("STEERWISE_DEBUG", "Set to 1 to print tracebacks of unexpected errors.")
CACHE_DIR = EnvironmentVariable(
    "STEERWISE_CACHE_DIR",
    "Where rebuildable files are kept: GGUF weights converted for transformers, embedders"
    " exported to ONNX (default: ~/.cache/steerwise).",
)

EMBEDDER_RUNTIME = EnvironmentVariable(
    "STEERWISE_EMBEDDER_RUNTIME",
    "onnx (the default: ONNX Runtime, the same vectors several times faster) or torch.",
)

ALL = (WORKSPACE, DATABASE_URL, ACTOR, DEBUG, CACHE_DIR, EMBEDDER_RUNTIME)


def cache_dir() -> Path:
    """STEERWISE_CACHE_DIR, else ~/.cache/steerwise."""
    configured = CACHE_DIR.get()
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "steerwise"
