"""The SQL of request metrics: `trace_facts` (one row per trace) and `trace_rail_facts` (one
row per rail that fired or failed), written with the trace and aggregated per window.

Every query filters on `(target, created_at)` or `(release_name, created_at)`, both indexed,
and aggregates with plain `count`, `sum` and `GROUP BY`, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from steerwise.core.traces import TRACE_STEPS
from steerwise.store.session import Row, Session, insert_many

FACT_COLUMNS = (
    "trace_id",
    "created_at",
    "target",
    "release_name",
    "release",
    "release_id",
    "outcome",
    "error",
    "latency_ms",
    "latency_bucket",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "attempts",
    "confidence",
    "confidence_bin",
    "grounding",
    "grounding_bin",
    "stale",
    "input_chars",
    "output_chars",
)
RAIL_COLUMNS = (
    "trace_id",
    "created_at",
    "target",
    "release_name",
    "stage",
    "rail",
    "result",
    "decision",
)


class MonitorRecords:
    """Rows of `trace_facts` and `trace_rail_facts`, and their sums over a window."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add_many(self, facts: Sequence[dict[str, Any]], rails: Sequence[dict[str, Any]]) -> None:
        """Store fact rows (`TraceFacts.row()`) and rail rows, many per statement."""
        columns = (*FACT_COLUMNS, *(f"{step}_bucket" for step in TRACE_STEPS))
        session = self._session
        insert_many(session, "trace_facts", columns, [_values(r, columns) for r in facts])
        rail_rows = [_values(r, RAIL_COLUMNS) for r in rails]
        insert_many(session, "trace_rail_facts", RAIL_COLUMNS, rail_rows)

    def totals(self, scope: Scope) -> Row:
        """Requests, errors, tokens, cost, attempts, confidence and grounding sums and counts,
        stale citations and sizes, over the window."""
        return (
            self._session.one(
                "SELECT count(*), COALESCE(sum(error), 0), COALESCE(sum(input_tokens), 0),"
                " COALESCE(sum(output_tokens), 0), COALESCE(sum(cost_usd), 0),"
                " COALESCE(sum(attempts), 0), sum(confidence), count(confidence), sum(grounding),"
                " count(grounding), COALESCE(sum(stale), 0), COALESCE(sum(input_chars), 0),"
                f" COALESCE(sum(output_chars), 0) FROM trace_facts WHERE {scope.where}",
                scope.params,
            )
            or (0,) * 13
        )

    def counts_by(self, column: str, scope: Scope) -> list[Row]:
        """(value, count) of one grouping column over the window (NULLs left out)."""
        if column not in _GROUPABLE and column not in {f"{s}_bucket" for s in TRACE_STEPS}:
            raise ValueError(f"cannot group trace facts by {column!r}")
        return self._session.all(
            f"SELECT {column}, count(*) FROM trace_facts WHERE {scope.where}"
            f" AND {column} IS NOT NULL GROUP BY {column}",
            scope.params,
        )

    def rails(self, scope: Scope) -> list[Row]:
        """(stage, rail, result, decision, count) of the rails that fired or failed."""
        return self._session.all(
            "SELECT stage, rail, result, decision, count(*) FROM trace_rail_facts"
            f" WHERE {scope.where} GROUP BY stage, rail, result, decision",
            scope.params,
        )

    def series(self, scope: Scope, width: int) -> list[Row]:
        """(period, requests, errors, refusals) per period, the first `width` characters of
        the timestamp (16: per minute, 13: per hour, 10: per day)."""
        period = f"substr(created_at, 1, {int(width)})"
        return self._session.all(
            f"SELECT {period}, count(*), COALESCE(sum(error), 0),"
            " COALESCE(sum(CASE WHEN outcome IN ('block', 'fallback') THEN 1 ELSE 0 END), 0)"
            f" FROM trace_facts WHERE {scope.where} GROUP BY {period} ORDER BY {period}",
            scope.params,
        )

    def examples(self, scope: Scope, condition: str, limit: int) -> list[str]:
        """Ids of the newest traces in the window that meet a named condition."""
        clause = _CONDITIONS[condition]
        rows = self._session.all(
            f"SELECT trace_id FROM trace_facts WHERE {scope.where} AND {clause}"
            " ORDER BY created_at DESC LIMIT :limit",
            {**scope.params, "limit": limit},
        )
        return [str(row[0]) for row in rows]


_GROUPABLE = frozenset({"outcome", "latency_bucket", "confidence_bin", "grounding_bin", "release"})
_CONDITIONS = {
    "error": "error = 1",
    "refused": "outcome IN ('block', 'fallback')",
    "stale": "stale = 1",
    "any": "1 = 1",
}


class Scope:
    """Which traces a query covers: a deployment target (`bot@production`) or a release name
    (`bot`, every version), from `since` (inclusive) to `until` (exclusive)."""

    def __init__(self, target: str, since: str, until: str) -> None:
        self.where = (
            "(target = :target OR release_name = :target)"
            " AND created_at >= :since AND created_at < :until"
        )
        self.params = {"target": target, "since": since, "until": until}


def _values(row: dict[str, Any], columns: Sequence[str]) -> list[Any]:
    return [row[column] for column in columns]
