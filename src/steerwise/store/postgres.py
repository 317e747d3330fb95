"""PostgresStore: the store for several replicas and larger volumes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from steerwise.core.errors import StoreError
from steerwise.store.interface import Store
from steerwise.store.records import Transaction
from steerwise.store.session import Session

CONNECT_TIMEOUT_S = 10
STATEMENT_TIMEOUT_MS = 60_000
WRITE_LOCK_KEY = 0x5733_7257  # one advisory lock serialises steerwise writers


def _import_psycopg() -> tuple[Any, Any]:
    try:
        import psycopg
        import psycopg_pool
    except ImportError as error:
        raise StoreError(
            "a PostgreSQL store needs psycopg, which is not installed",
            hint="install the extra: pip install 'steerwise[postgres]'",
        ) from error
    return psycopg, psycopg_pool


def libpq_url(url: str) -> str:
    """`postgresql+psycopg://...` (SQLAlchemy style) as the `postgresql://...` libpq reads."""
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


def hide_password(url: str) -> str:
    """The URL with its password replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def connection_settings(psycopg: Any, url: str) -> dict[str, Any]:
    """Connection keywords: timeouts added to (not replacing) any `options` in the URL."""
    options = psycopg.conninfo.conninfo_to_dict(url).get("options") or ""
    return {
        "autocommit": True,  # `connection.transaction()` then opens the real transaction
        "connect_timeout": CONNECT_TIMEOUT_S,
        "options": f"{options} -c statement_timeout={STATEMENT_TIMEOUT_MS}".strip(),
    }


class PostgresStore(Store):
    """A store in a PostgreSQL database, through a small connection pool.

    Writers take a transaction-scoped advisory lock, so writes from any number of processes
    or replicas are serialised exactly as SQLite's single writer serialises them.
    """

    dialect = "postgresql"

    def __init__(self, url: str, *, max_connections: int = 8) -> None:
        self._url = libpq_url(url)
        psycopg, psycopg_pool = _import_psycopg()
        self._psycopg = psycopg
        self._errors = psycopg.Error
        self._pool = psycopg_pool.ConnectionPool(
            self._url,
            min_size=1,
            max_size=max_connections,
            kwargs=connection_settings(psycopg, self._url),
            timeout=CONNECT_TIMEOUT_S,
            open=False,
        )
        self._opened = False
        self._open_lock = threading.Lock()

    @property
    def display_url(self) -> str:
        return hide_password(self._url)

    def _open(self) -> None:
        with self._open_lock:
            if self._opened:
                return
            try:
                # One direct attempt first: a refused connection fails at once, where the
                # pool would retry until its timeout.
                self._psycopg.connect(
                    self._url, **connection_settings(self._psycopg, self._url)
                ).close()
                self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
            except Exception as error:
                self._pool.close()
                raise StoreError(
                    f"cannot reach PostgreSQL at {self.display_url}: {error}",
                    hint="check STEERWISE_DATABASE_URL and that the server is running",
                ) from error
            self._opened = True

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Transaction]:
        self._open()
        try:
            with self._pool.connection() as connection, connection.transaction():
                cursor = connection.cursor()
                if write:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
                yield Transaction(Session(cursor, "postgresql"))
        except self._errors as error:
            raise StoreError(f"PostgreSQL at {self.display_url} failed: {error}") from error

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        with self._transaction(write=True) as tx:
            yield tx

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        with self._transaction(write=False) as tx:
            yield tx

    def close(self) -> None:
        with self._open_lock:
            self._pool.close()
            self._opened = False
