"""Storage: one interface, SQLite and PostgreSQL implementations, versioned migrations."""

from __future__ import annotations

from pathlib import Path

from steerwise.core.errors import BadInputError
from steerwise.store.interface import Store
from steerwise.store.records import Transaction


def open_store(url: str) -> Store:
    """Open (and migrate) the store a URL names: `sqlite:///PATH` or `postgresql://...`."""
    store = _connect(url)
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store


def _connect(url: str) -> Store:
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme == "sqlite":
        from steerwise.store.sqlite import SQLiteStore

        return SQLiteStore(Path(url.removeprefix("sqlite:///")))
    if scheme.split("+", 1)[0] in {"postgresql", "postgres"}:
        from steerwise.store.postgres import PostgresStore

        return PostgresStore(url)
    raise BadInputError(
        f"unknown store URL {url!r}",
        hint="use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB",
    )


__all__ = ["Store", "Transaction", "open_store"]
