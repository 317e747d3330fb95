"""The SQL of canary splits (`canaries`): one per deployment label at most."""

from __future__ import annotations

from typing import Any

from steerwise.store.session import Row, Session


class CanaryRecords:
    """Rows of `canaries`."""

    _COLUMNS = "name, label, release_id, percent, started_at, started_by"

    def __init__(self, session: Session) -> None:
        self._session = session

    def put(self, canary: dict[str, Any]) -> None:
        """Start (or change) the canary of a label."""
        self._session.execute("DELETE FROM canaries WHERE name = :name AND label = :label", canary)
        self._session.execute(
            f"INSERT INTO canaries ({self._COLUMNS}) VALUES (:name, :label, :release_id,"
            " :percent, :started_at, :started_by)",
            canary,
        )

    def remove(self, name: str, label: str) -> None:
        self._session.execute(
            "DELETE FROM canaries WHERE name = :name AND label = :label",
            {"name": name, "label": label},
        )

    def all(self) -> list[Row]:
        return self._session.all(f"SELECT {self._COLUMNS} FROM canaries ORDER BY name, label")
