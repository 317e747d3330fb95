"""SQLiteStore: the embedded default, one file in WAL mode with a single writer."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from steerwise.core.errors import StoreError
from steerwise.store.interface import Store
from steerwise.store.records import Transaction
from steerwise.store.session import Session

BUSY_TIMEOUT_S = 30.0


class SQLiteStore(Store):
    """A store in one SQLite file: WAL, foreign keys, a busy timeout, one writer at a time.

    Each thread gets its own connection; writers take `BEGIN IMMEDIATE`, so a second
    process waits (up to the busy timeout) instead of interleaving its writes.
    """

    dialect = "sqlite"

    def __init__(self, path: Path, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = path
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._connections: dict[threading.Thread, sqlite3.Connection] = {}
        self._connections_lock = threading.Lock()

    @property
    def display_url(self) -> str:
        return f"sqlite:///{self.path}"

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._open_connection()
            self._local.connection = connection
            with self._connections_lock:
                self._close_orphans()
                self._connections[threading.current_thread()] = connection
        return connection

    def _close_orphans(self) -> None:
        """Close the connections of threads that have ended: a server's worker threads come
        and go, and each kept its connection (and page cache) open for good."""
        for thread in [thread for thread in self._connections if not thread.is_alive()]:
            self._connections.pop(thread).close()

    def _open_connection(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout_s,
                isolation_level=None,
                check_same_thread=False,  # each thread still uses its own; close() may not
            )
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA foreign_keys = ON")
            connection.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
        except sqlite3.Error as error:
            raise StoreError(
                f"cannot open the SQLite store {self.path}: {error}",
                hint="check that the folder exists and is writable",
            ) from error
        return connection

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[Transaction]:
        connection = self._connection()
        cursor = connection.cursor()
        try:
            cursor.execute(begin)
        except sqlite3.OperationalError as error:
            raise StoreError(
                f"the SQLite store {self.path} stayed locked for {self._busy_timeout_s:.0f} s",
                hint="another process holds a long write; try again",
            ) from error
        try:
            yield Transaction(Session(cursor, "sqlite"))
        except sqlite3.Error as error:
            connection.rollback()
            raise StoreError(f"the SQLite store {self.path} failed: {error}") from error
        except BaseException:
            connection.rollback()
            raise
        else:
            connection.commit()
        finally:
            cursor.close()

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        with self._write_lock, self._transaction("BEGIN IMMEDIATE") as tx:
            yield tx

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        with self._transaction("BEGIN") as tx:
            yield tx

    def close(self) -> None:
        with self._connections_lock:
            for connection in self._connections.values():
                connection.close()
            self._connections.clear()
        self._local = threading.local()
