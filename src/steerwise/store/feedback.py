"""The SQL of user feedback on answers (`feedback`): one row per rating of a trace."""

from __future__ import annotations

from typing import Any

from steerwise.store.session import Row, Session


class FeedbackRecords:
    """Rows of `feedback`, and their sums over a window of when feedback was given."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, row: dict[str, Any]) -> None:
        self._session.execute(
            "INSERT INTO feedback (id, trace_id, created_at, target, release_name, release,"
            " score, comment, actor) VALUES (:id, :trace_id, :created_at, :target,"
            " :release_name, :release, :score, :comment, :actor)",
            row,
        )

    def of_trace(self, trace_id: str) -> list[Row]:
        """(id, created_at, score, comment, actor) of a trace's feedback, oldest first."""
        return self._session.all(
            "SELECT id, created_at, score, comment, actor FROM feedback"
            " WHERE trace_id = :trace_id ORDER BY created_at, id",
            {"trace_id": trace_id},
        )

    def totals(self, where: str, params: dict[str, Any]) -> Row:
        """(count, sum of scores, count of negative ratings) in a window (`Scope.where`)."""
        return self._session.one(
            "SELECT count(*), COALESCE(sum(score), 0),"
            " COALESCE(sum(CASE WHEN score < 0.5 THEN 1 ELSE 0 END), 0)"
            f" FROM feedback WHERE {where}",
            params,
        ) or (0, 0, 0)
