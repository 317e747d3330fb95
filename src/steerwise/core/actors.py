"""Actor: who a change is made by, for the audit log and the version records.

A workspace opened by the CLI acts as the local user all along; the gateway serves many
callers from one workspace, so each request acts as its API key for its own duration
(`acting_as`, a context variable: concurrent requests never see each other's actor).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class Actor:
    """A default name, replaced for the current context by `acting_as`."""

    def __init__(self, default: str) -> None:
        self._default = default
        self._current: ContextVar[str | None] = ContextVar(
            f"steerwise_actor_{id(self)}", default=None
        )

    @property
    def name(self) -> str:
        """The actor of the current context."""
        return self._current.get() or self._default

    @contextmanager
    def acting_as(self, name: str) -> Iterator[None]:
        """Attribute what happens inside the block to `name`."""
        token = self._current.set(name)
        try:
            yield
        finally:
            self._current.reset(token)

    def __str__(self) -> str:
        return self.name
