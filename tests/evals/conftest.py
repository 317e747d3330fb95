"""Fixtures for evaluation tests: scorer services on the real bundled embedder."""

from __future__ import annotations

from pathlib import Path

import pytest

from steerwise.evals.scorers import ScorerServices
from steerwise.models.embeddings import build_embedder


@pytest.fixture(scope="session")
def scorer_services() -> ScorerServices:
    """Scorer services backed by the real all-MiniLM-L6-v2 (loaded on first use)."""
    return ScorerServices(lambda: build_embedder("default", root=Path.cwd(), named={}))
