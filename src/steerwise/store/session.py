"""A database connection inside one transaction, speaking portable SQL.

SQL in steerwise uses `:name` parameters and only syntax that SQLite and PostgreSQL share
(`INSERT ... ON CONFLICT`, `RETURNING`, `LIMIT`); the session adapts the parameter style.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Literal, Protocol

Dialect = Literal["sqlite", "postgresql"]
Row = tuple[Any, ...]
Params = Mapping[str, Any]

_NAMED_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=512)
def to_pyformat(sql: str) -> str:
    """Rewrite `:name` parameters as psycopg's `%(name)s`."""
    return _NAMED_PARAMETER.sub(r"%(\1)s", sql)


class Cursor(Protocol):
    """The part of a DB-API cursor the session uses."""

    def execute(self, sql: str, params: Any = ..., /) -> Any: ...
    def fetchone(self) -> Sequence[Any] | None: ...
    def fetchall(self) -> Sequence[Sequence[Any]]: ...


class Session:
    """Runs statements on one open transaction."""

    def __init__(self, cursor: Cursor, dialect: Dialect) -> None:
        self._cursor = cursor
        self.dialect: Dialect = dialect

    def _run(self, sql: str, params: Params | None) -> Cursor:
        if not params:  # no parameters: the statement is sent as written ('%' included)
            self._cursor.execute(sql)
            return self._cursor
        statement = to_pyformat(sql) if self.dialect == "postgresql" else sql
        self._cursor.execute(statement, dict(params))
        return self._cursor

    def execute(self, sql: str, params: Params | None = None) -> None:
        """Run a statement whose rows, if any, are not needed."""
        self._run(sql, params)

    def execute_values(self, sql: str, values: Sequence[Any]) -> None:
        """Run a statement written with the dialect's own positional placeholders (`?` on
        SQLite, `%s` on PostgreSQL, so no literal `%`; see `insert_many`)."""
        self._cursor.execute(sql, values)

    def one(self, sql: str, params: Params | None = None) -> Row | None:
        """Run a query and return its first row, or None."""
        row = self._run(sql, params).fetchone()
        return tuple(row) if row is not None else None

    def all(self, sql: str, params: Params | None = None) -> list[Row]:
        """Run a query and return all its rows."""
        return [tuple(row) for row in self._run(sql, params).fetchall()]

    def scalar(self, sql: str, params: Params | None = None) -> Any:
        """Run a query and return the first column of its first row, or None."""
        row = self.one(sql, params)
        return row[0] if row is not None else None


ROWS_PER_STATEMENT = 100


def insert_many(
    session: Session,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    suffix: str = "",
) -> None:
    """Insert `rows` (values in `columns` order), up to a hundred rows per INSERT: each
    statement is one trip into the database (and, in Python, one release and re-acquisition
    of the GIL, which a writer thread waits long for while requests keep the interpreter
    busy). Values go by position (naming thousands of parameters cost more than the
    insert). `suffix` ends each statement (an `ON CONFLICT` clause)."""
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        values = _row_values(session.dialect, len(columns), len(chunk))
        session.execute_values(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values} {suffix}",
            [value for row in chunk for value in row],
        )


@lru_cache(maxsize=256)
def _row_values(dialect: Dialect, width: int, count: int) -> str:
    """`count` groups of `width` positional placeholders in the dialect's style."""
    mark = "?" if dialect == "sqlite" else "%s"
    group = "(" + ", ".join([mark] * width) + ")"
    return ", ".join([group] * count)


IDS_PER_STATEMENT = 500


def select_among(
    session: Session, select: str, table: str, column: str, values: Sequence[Any]
) -> list[Row]:
    """`SELECT select FROM table WHERE column IN values`, 500 values a statement."""
    found: list[Row] = []
    for start in range(0, len(values), IDS_PER_STATEMENT):
        names = {f"v_{n}": v for n, v in enumerate(values[start : start + IDS_PER_STATEMENT])}
        marks = ", ".join(f":{name}" for name in names)
        found += session.all(f"SELECT {select} FROM {table} WHERE {column} IN ({marks})", names)
    return found
