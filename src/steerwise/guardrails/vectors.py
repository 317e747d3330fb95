"""Embeddings shared by the rails of a check: each text reaches the model once.

A check embeds the same texts several times (the injection rail's segments, the grounding
rail's passages, every sentence of a streamed answer against the same passages); the
`CachingEmbedder` keeps recent vectors so only unseen texts are embedded, in one call (the
embedder batches them without padding waste: `steerwise.models.packing`). `recall` fills it
from `stored` (the sentences of the open index snapshots, embedded when the snapshot was
built), so that retrieved passages are not embedded on the request path; only the rails that
compare with passages ask it, so other checks never look there.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from steerwise.models.interface import Embedder

Vectors = npt.NDArray[np.float32]
StoredVectors = Callable[[str, Sequence[str]], dict[str, Vectors]]
"""(embedder model id, texts) -> the vectors stored for those texts that have one."""


class CachingEmbedder:
    """An embedder that remembers its latest vectors, so that scorers share one embedding."""

    def __init__(
        self, embedder: Embedder, *, size: int = 4096, stored: StoredVectors | None = None
    ) -> None:
        self.inner = embedder
        self._stored = stored
        self._size = size
        self._vectors: OrderedDict[str, Vectors] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """The wrapped embedder's id."""
        return self.inner.model_id

    @property
    def dimension(self) -> int:
        """The wrapped embedder's vector length."""
        return self.inner.dimension

    def __contains__(self, text: object) -> bool:
        """Whether `text`'s vector is remembered."""
        with self._lock:
            return text in self._vectors

    def clear(self) -> None:
        """Forget every vector (benchmarks use it to time cold checks)."""
        with self._lock:
            self._vectors.clear()

    def recall(self, texts: Sequence[str]) -> None:
        """Remember the stored vectors of those of `texts` not remembered yet (no model call;
        texts without a stored vector are left for `embed`)."""
        if self._stored is None:
            return
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        found = self._stored(self.inner.model_id, missing) if missing else {}
        with self._lock:
            self._vectors.update(found)

    def embed(self, texts: Sequence[str], *, one_thread: bool = False) -> Vectors:
        """One unit row per text; only texts not seen lately (nor recalled) reach the model.
        `one_thread`: on one thread of the CPU where the embedder can (`embed_on_one_thread`),
        for work beside a local model."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        embed = self.inner.embed
        if one_thread:
            embed = getattr(self.inner, "embed_on_one_thread", embed)
        fresh = dict(zip(missing, embed(missing), strict=True)) if missing else {}
        with self._lock:
            self._vectors.update(fresh)
            rows = [self._vectors[text] for text in texts]
            for text in texts:
                self._vectors.move_to_end(text)
            while len(self._vectors) > self._size:
                self._vectors.popitem(last=False)
        return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)
