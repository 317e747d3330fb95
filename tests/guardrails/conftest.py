"""Fixtures for guardrail tests: the real bundled embedder, shared by every test module."""

from __future__ import annotations

from pathlib import Path

import pytest

from steerwise.guardrails.detectors import DetectorServices
from steerwise.models.embeddings import build_embedder


@pytest.fixture(scope="session")
def services() -> DetectorServices:
    """Detector services backed by the real all-MiniLM-L6-v2 (loaded on first use)."""
    return DetectorServices(lambda: build_embedder("default", root=Path.cwd(), named={}))
