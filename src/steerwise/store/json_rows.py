"""Tables that keep each record whole as JSON beside a few searchable columns (incidents,
promotion requests): insert, update, find by id prefix, list newest first by status."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from steerwise.core.errors import NotFoundError
from steerwise.store.session import Session


class JsonRows:
    """One such table: `columns` (the first is `id`, one is `status`) and `body_column`."""

    def __init__(
        self,
        session: Session,
        table: str,
        columns: Sequence[str],
        *,
        body_column: str,
        newest_by: str,
    ) -> None:
        self._session = session
        self._table = table
        self._columns = tuple(columns)
        self._body = body_column
        self._newest_by = newest_by

    def add(self, record: dict[str, Any]) -> None:
        names = [*self._columns, self._body]
        self._session.execute(
            f"INSERT INTO {self._table} ({', '.join(names)})"
            f" VALUES ({', '.join(f':{name}' for name in names)})",
            self._params(record),
        )

    def update(self, record: dict[str, Any]) -> None:
        """Store a changed record (its searchable columns and its JSON)."""
        names = [*self._columns[1:], self._body]
        self._session.execute(
            f"UPDATE {self._table} SET {', '.join(f'{name} = :{name}' for name in names)}"
            " WHERE id = :id",
            self._params(record),
        )

    def one(self, prefix: str, *, noun: str, hint: str) -> str:
        """The JSON of the one record whose id starts with `prefix`; NotFoundError (with
        `hint`) when none or several do."""
        rows = self._session.all(
            f"SELECT {self._body} FROM {self._table} WHERE substr(id, 1, :width) = :prefix LIMIT 2",
            {"width": len(prefix), "prefix": prefix},
        )
        if len(rows) != 1:
            raise NotFoundError(f"no single {noun} has id {prefix!r}", hint=hint)
        return str(rows[0][0])

    def items(self, *, status: str | None, limit: int) -> list[str]:
        """Records' JSON, newest first, of one status or all."""
        where = " WHERE status = :status" if status else ""
        rows = self._session.all(
            f"SELECT {self._body} FROM {self._table}{where}"
            f" ORDER BY {self._newest_by} DESC, id LIMIT :limit",
            {"status": status, "limit": limit},
        )
        return [str(row[0]) for row in rows]

    def _params(self, record: dict[str, Any]) -> dict[str, Any]:
        found = {name: record[name] for name in self._columns}
        found[self._body] = json.dumps(record, separators=(",", ":"))
        return found
