"""Release domain types: the pins of everything that shapes an answer, and their parameters."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from steerwise.core.versioning import SpecModel

ParamValue = str | int | float | bool
RETRIEVAL_PARAMS = ("k", "mode", "rrf_k", "candidates", "stale")
"""Search settings a release may pin (the rest of its params are generation parameters)."""


class ReleaseSpec(SpecModel):
    """One release: pinned versions, never references that move.

    `prompt` and `policy` are `name@version`; `snapshot` and `graph` are ids; `model` is a
    model reference (None: the prompt version's own model); `params` are generation and
    search settings. Its content hash is the release id.
    """

    prompt: str
    model: str | None = None
    snapshot: str | None = None
    graph: str | None = None
    policy: str | None = None
    params: dict[str, ParamValue] = Field(default_factory=dict)

    def pins(self) -> dict[str, Any]:
        """The pinned parts by name (what `release diff` compares)."""
        return {
            "prompt": self.prompt,
            "model": self.model,
            "snapshot": self.snapshot,
            "graph": self.graph,
            "policy": self.policy,
            "params": dict(sorted(self.params.items())),
        }
