"""Where the demo pack lives inside the installed package, and how to read it."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any


def pack_path() -> Path:
    """The folder holding `docs/`, `prompts/`, `revisions/` and `questions.jsonl`."""
    return Path(str(resources.files("steerwise") / "demo" / "pack"))


def read_questions() -> list[dict[str, Any]]:
    """The demo questions with their reference answers."""
    lines = (pack_path() / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
