"""The two model roles: chat models and embedders. Providers implement these and nothing more."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from steerwise.core.models import ChatParams, Completion, Message, StreamDelta

if TYPE_CHECKING:  # numpy is only needed by embedders, not to import this module
    import numpy as np
    import numpy.typing as npt

StreamEvent = StreamDelta | Completion


@runtime_checkable
class ChatModel(Protocol):
    """Messages and params in; text, finish reason and usage out.

    `stream` yields `StreamDelta`s and ends with one `Completion` holding the whole text and
    the usage. Failures are `ModelCallError`s that say whether a retry may help.
    """

    @property
    def model_id(self) -> str:
        """A stable identifier, e.g. `local:smollm2-135m` or `openai:gpt-4o-mini`."""
        ...

    @property
    def supports_json_schema(self) -> bool:
        """Whether the model itself constrains output to a JSON Schema."""
        ...

    def complete(self, messages: Sequence[Message], params: ChatParams) -> Completion:
        """One call, whole answer."""
        ...

    def stream(self, messages: Sequence[Message], params: ChatParams) -> Iterator[StreamEvent]:
        """One call, answer as deltas, then the Completion."""
        ...


@runtime_checkable
class Embedder(Protocol):
    """Texts in, one unit-length float32 vector per text out."""

    @property
    def model_id(self) -> str:
        """A stable identifier of the model and its settings."""
        ...

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        ...

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """A (len(texts), dimension) array."""
        ...
