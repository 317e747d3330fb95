"""Embeddings shared by the rails of a check: each text reaches the model once.

A check embeds the same texts several times (the injection rail's segments, the grounding
rail's passages, every sentence of a streamed answer against the same passages); the
`CachingEmbedder` keeps recent vectors so only unseen texts are embedded, in one call (the
embedder batches them without padding waste: `steerwise.models.packing`). Texts it has not
seen are first looked up in `stored` (the sentences of the open index snapshots, embedded when
the snapshot was built), so that retrieved passages are never embedded on the request path.
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

    def clear(self) -> None:
        """Forget every vector (benchmarks use it to time cold checks)."""
        with self._lock:
            self._vectors.clear()

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One unit row per text; only texts neither seen lately nor stored reach the model."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        fresh = self._stored(self.inner.model_id, missing) if missing and self._stored else {}
        missing = [text for text in missing if text not in fresh]
        if missing:
            fresh |= dict(zip(missing, self.inner.embed(missing), strict=True))
        with self._lock:
            self._vectors.update(fresh)
            rows = [self._vectors[text] for text in texts]
            for text in texts:
                self._vectors.move_to_end(text)
            while len(self._vectors) > self._size:
                self._vectors.popitem(last=False)
        return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)
