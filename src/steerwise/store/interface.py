"""The storage interface: transactions over the same tables on SQLite or PostgreSQL."""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager

from steerwise.core.clock import utc_now
from steerwise.store.migrations import LATEST_VERSION, Migration, apply_pending, current_version
from steerwise.store.records import Transaction
from steerwise.store.session import Dialect


class Store(ABC):
    """A database holding a workspace's state.

    `write()` transactions are serialised across threads and processes (one writer), so
    version numbers and the audit chain never fork; `read()` transactions see a consistent
    snapshot and never block writers.
    """

    dialect: Dialect

    @property
    @abstractmethod
    def display_url(self) -> str:
        """The store's URL with any password hidden."""

    @abstractmethod
    def write(self) -> AbstractContextManager[Transaction]:
        """A serialised read-write transaction, committed on success, rolled back on error."""

    @abstractmethod
    def read(self) -> AbstractContextManager[Transaction]:
        """A read-only transaction."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    def migrate(self) -> list[Migration]:
        """Bring the schema up to date; safe to call from several processes at once."""
        if self.schema_version() == LATEST_VERSION:
            return []
        with self.write() as tx:
            return apply_pending(tx.session, now=utc_now())

    def schema_version(self) -> int:
        """The highest migration applied (0 for an empty database)."""
        with self.read() as tx:
            return current_version(tx.session)
