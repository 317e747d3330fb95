"""Embedders: the bundled all-MiniLM-L6-v2 in-process, and a real OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from steerwise.core.models import ModelCallError, ModelConfig, ModelInputError
from steerwise.models.embeddings import (
    BUNDLED_EMBEDDER_ID,
    OpenAIEmbedder,
    SentenceTransformerEmbedder,
    build_embedder,
    default_embedder_path,
)
from steerwise.models.interface import Embedder
from steerwise.models.llamacpp import bundled_gguf
from tests.models.llama_server import free_port, llama_server

TEXTS = [
    "The cat sleeps on the warm windowsill.",
    "Quarterly revenue grew by eight percent.",
    "How do I reset my password?",
    "Rain is expected in Lisbon tomorrow.",
    "The invoice was paid twice by mistake.",
]
MEAN_POOLING = ("--kv_overrides", "llama.pooling_type=int:1")


def norms(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    return np.linalg.norm(vectors, axis=1)


# The bundled sentence-transformers model


@pytest.fixture(scope="module")
def default_embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(default_embedder_path(), model_id=BUNDLED_EMBEDDER_ID)


def test_default_embedder_identity(default_embedder: SentenceTransformerEmbedder) -> None:
    assert isinstance(default_embedder, Embedder)
    assert default_embedder.dimension == 384
    assert default_embedder.model_id == "sentence-transformers:all-MiniLM-L6-v2"


def test_packed_vectors_equal_sentence_transformers_own(
    default_embedder: SentenceTransformerEmbedder,
) -> None:
    """Packing (several texts in one row, block-diagonal attention) changes no vector."""
    from sentence_transformers import SentenceTransformer

    long_text = " ".join(["The frame carries a five year warranty against defects."] * 40)
    texts = [*TEXTS, "", "ok", long_text, TEXTS[0]]  # empty, tiny, truncated at 256, repeated
    reference = SentenceTransformer(str(default_embedder_path()), device="cpu")
    expected = reference.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    found = default_embedder.embed(texts)
    assert found.shape == (len(texts), 384)
    assert np.abs(found - expected).max() < 1e-5
    single = default_embedder.embed([texts[2]])
    assert np.abs(single[0] - found[2]).max() < 1e-5


def test_first_fit_packs_within_capacity() -> None:
    from steerwise.models.packing import first_fit

    lengths = [300, 200, 120, 100, 90, 10]
    packs = first_fit(lengths, 512)
    assert sorted(i for pack in packs for i in pack) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in pack) <= 512 for pack in packs)
    assert packs == [[0, 1, 5], [2, 3, 4]]


def test_default_vectors_are_unit_float32(default_embedder: SentenceTransformerEmbedder) -> None:
    vectors = default_embedder.embed(TEXTS[:3])
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(norms(vectors), 1.0, atol=1e-5)


def test_paraphrases_are_closer_than_unrelated_texts(
    default_embedder: SentenceTransformerEmbedder,
) -> None:
    question, paraphrase, unrelated = default_embedder.embed(
        [
            "How do I reset my password?",
            "I forgot my password; how can I change it?",
            "The weather in Lisbon is sunny today.",
        ]
    )
    assert float(question @ paraphrase) > float(question @ unrelated) + 0.3


def test_batches_give_the_same_vectors_as_one_by_one(
    default_embedder: SentenceTransformerEmbedder,
) -> None:
    batched = SentenceTransformerEmbedder(
        default_embedder_path(), model_id=BUNDLED_EMBEDDER_ID, batch_size=2
    ).embed(TEXTS)
    single = np.vstack([default_embedder.embed([text]) for text in TEXTS])
    np.testing.assert_allclose(batched, single, atol=1e-5)


def test_empty_input_gives_no_rows(default_embedder: SentenceTransformerEmbedder) -> None:
    vectors = default_embedder.embed([])
    assert vectors.shape == (0, 384)
    assert vectors.dtype == np.float32


def test_bfloat16_agrees_with_float32(default_embedder: SentenceTransformerEmbedder) -> None:
    half = SentenceTransformerEmbedder(
        default_embedder_path(), model_id=BUNDLED_EMBEDDER_ID, precision="bfloat16"
    )
    assert half.model_id == "sentence-transformers:all-MiniLM-L6-v2@bfloat16"
    vectors = half.embed(TEXTS)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(norms(vectors), 1.0, atol=1e-5)
    cosines = np.sum(vectors * default_embedder.embed(TEXTS), axis=1)
    assert cosines.min() > 0.99


def test_missing_model_folder_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ModelInputError, match="does not exist"):
        SentenceTransformerEmbedder(tmp_path / "absent", model_id="sentence-transformers:absent")


# A real OpenAI-compatible server: llama-cpp-python's own, on loopback


@pytest.fixture(scope="module")
def pooled_server() -> Iterator[str]:
    """SmolLM2 is a causal model without pooling metadata: ask for mean pooling."""
    with llama_server(bundled_gguf(), "--embedding", "true", *MEAN_POOLING) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def token_server() -> Iterator[str]:
    """Without a pooling type llama.cpp answers with one vector per token."""
    with llama_server(bundled_gguf(), "--embedding", "true") as base_url:
        yield base_url


def server_embedder(base_url: str, **options: int) -> OpenAIEmbedder:
    return OpenAIEmbedder(
        "llamacpp:smollm2",
        "smollm2",
        base_url=base_url,
        api_key="not-needed",
        timeout_s=30,
        **options,
    )


def test_server_embeddings_are_unit_vectors_of_its_dimension(pooled_server: str) -> None:
    embedder = server_embedder(pooled_server)
    assert isinstance(embedder, Embedder)
    assert embedder.dimension == 576  # learnt with one probe call
    vectors = embedder.embed(TEXTS[:2])
    assert vectors.shape == (2, 576)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(norms(vectors), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, 576)


def test_server_batches_keep_order(pooled_server: str) -> None:
    embedder = server_embedder(pooled_server, batch_size=2)
    batched = embedder.embed(TEXTS)
    single = np.vstack([embedder.embed([text]) for text in TEXTS])
    assert batched.shape == (5, 576)
    np.testing.assert_allclose(batched, single, atol=1e-4)
    assert list(np.argmax(batched @ single.T, axis=1)) == list(range(5))


def test_configured_dimension_must_match_the_server(pooled_server: str) -> None:
    embedder = server_embedder(pooled_server, dimension=384)
    assert embedder.dimension == 384
    with pytest.raises(ModelCallError, match="576-dimensional") as caught:
        embedder.embed(TEXTS[:1])
    assert not caught.value.retryable


def test_per_token_vectors_are_refused_with_a_hint(token_server: str) -> None:
    with pytest.raises(ModelCallError, match="one per input") as caught:
        server_embedder(token_server).embed(TEXTS[:2])
    assert not caught.value.retryable
    assert "pooling_type" in str(caught.value.hint)


def test_unreachable_server_is_a_retryable_connection_failure() -> None:
    embedder = server_embedder(f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(ModelCallError, match="connection failed") as caught:
        embedder.embed(["hello"])
    assert caught.value.retryable


# Resolving references


@pytest.mark.parametrize("ref", ["", "default", "local:all-minilm-l6-v2", " default "])
def test_default_refs(ref: str, tmp_path: Path) -> None:
    embedder = build_embedder(ref, root=tmp_path, named={})
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert embedder.model_id == BUNDLED_EMBEDDER_ID


def test_bfloat16_ref(tmp_path: Path) -> None:
    embedder = build_embedder("local:all-minilm-l6-v2@bfloat16", root=tmp_path, named={})
    assert embedder.model_id == f"{BUNDLED_EMBEDDER_ID}@bfloat16"


def test_sentence_transformers_folder_is_relative_to_root(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "mini").symlink_to(default_embedder_path())
    embedder = build_embedder("sentence-transformers:models/mini", root=tmp_path, named={})
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert embedder.model_id == "sentence-transformers:models/mini"
    with pytest.raises(ModelInputError, match="does not exist"):
        build_embedder("sentence-transformers:models/absent", root=tmp_path, named={})


def test_openai_ref_needs_the_api_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ModelInputError, match="OPENAI_API_KEY"):
        build_embedder("openai:text-embedding-3-small", root=tmp_path, named={})
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    embedder = build_embedder("openai:text-embedding-3-small", root=tmp_path, named={})
    assert isinstance(embedder, OpenAIEmbedder)
    assert embedder.model_id == "openai:text-embedding-3-small"


def test_named_openai_model_embeds(pooled_server: str, tmp_path: Path) -> None:
    named = {"embed": ModelConfig(provider="openai", model="smollm2", base_url=pooled_server)}
    embedder = build_embedder("embed", root=tmp_path, named=named)
    assert embedder.model_id == "embed"
    assert embedder.embed(["hello"]).shape == (1, 576)


@pytest.mark.parametrize("ref", ["nope", "anthropic:claude", "local:smollm2-135m", "chat"])
def test_unknown_ref_names_the_accepted_forms(ref: str, tmp_path: Path) -> None:
    named = {"chat": ModelConfig(provider="local")}
    with pytest.raises(ModelInputError, match=repr(ref)) as caught:
        build_embedder(ref, root=tmp_path, named=named)
    assert "sentence-transformers:PATH" in str(caught.value.hint)
