"""The SQL of request metrics: `trace_facts` (one row per trace) and `trace_rail_facts` (one
row per rail that fired or failed), written with the trace and aggregated per window.

Every query filters on `(target, created_at)` or `(release_name, created_at)`, both indexed,
and aggregates with plain `count`, `sum` and `GROUP BY`, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from steerwise.core.traces import TRACE_STEPS
from steerwise.store.json_rows import JsonRows
from steerwise.store.session import Row, Session, insert_many, select_among

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
TOTALS = (
    "requests",
    "errors",
    "refusals",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "attempts",
    "confidence_sum",
    "confidence_n",
    "grounding_sum",
    "grounding_n",
    "stale",
    "input_chars",
    "output_chars",
)
"""The window sums `totals` returns, in order."""
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
        """The window's sums, in `TOTALS` order."""
        return self._session.one(
            "SELECT count(*), COALESCE(sum(error), 0),"
            f" COALESCE(sum(CASE WHEN outcome IN {_REFUSED} THEN 1 ELSE 0 END), 0),"
            " COALESCE(sum(input_tokens), 0), COALESCE(sum(output_tokens), 0),"
            " COALESCE(sum(cost_usd), 0), COALESCE(sum(attempts), 0),"
            " COALESCE(sum(confidence), 0), count(confidence),"
            " COALESCE(sum(grounding), 0), count(grounding), COALESCE(sum(stale), 0),"
            " COALESCE(sum(input_chars), 0), COALESCE(sum(output_chars), 0)"
            f" FROM trace_facts WHERE {scope.where}",
            scope.params,
        ) or (0,) * len(TOTALS)

    def add_hourly(self, cells: Sequence[HourCell]) -> None:
        """Add roll-up increments (one per distinct cell) to `metric_hours`."""
        columns = ("target", "release_name", "release", "hour", "metric", "bucket", "value")
        rows = [[getattr(cell, column) for column in columns] for cell in cells]
        insert_many(
            self._session,
            "metric_hours",
            columns,
            rows,
            suffix="ON CONFLICT (target, release, hour, metric, bucket)"
            " DO UPDATE SET value = metric_hours.value + excluded.value",
        )

    def hour_cells(self, scope: Scope) -> list[Row]:
        """(release, metric, bucket, value) summed over the scope's whole hours."""
        return self._session.all(
            "SELECT release, metric, bucket, sum(value) FROM metric_hours"
            f" WHERE {scope.hours} GROUP BY release, metric, bucket",
            scope.params,
        )

    def hour_series(self, scope: Scope) -> list[Row]:
        """(hour, metric, value) of requests, errors and refusals per hour."""
        return self._session.all(
            "SELECT hour, metric, sum(value) FROM metric_hours WHERE"
            f" {scope.hours} AND metric IN ('total:requests', 'total:errors', 'total:refusals')"
            " GROUP BY hour, metric",
            scope.params,
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
            f" COALESCE(sum(CASE WHEN outcome IN {_REFUSED} THEN 1 ELSE 0 END), 0)"
            f" FROM trace_facts WHERE {scope.where} GROUP BY {period} ORDER BY {period}",
            scope.params,
        )

    def feature_rows(self, scope: Scope, columns: Sequence[str], limit: int) -> list[Row]:
        """(trace id, outcome, *columns) of the newest `limit` traces in the window."""
        unknown = set(columns) - set(FACT_COLUMNS)
        if unknown:
            raise ValueError(f"trace facts have no column {sorted(unknown)[0]!r}")
        return self._session.all(
            f"SELECT trace_id, outcome, {', '.join(columns)} FROM trace_facts"
            f" WHERE {scope.where} ORDER BY created_at DESC LIMIT :limit",
            {**scope.params, "limit": limit},
        )

    def review_items(self, scope: Scope) -> list[Row]:
        """(status, count) of the review items about the deployment (their subject) queued in
        the window."""
        return self._session.all(
            f"SELECT status, count(*) FROM review_items i WHERE {_REVIEWED} GROUP BY status",
            _review_params(scope),
        )

    def review_verdicts(self, scope: Scope) -> list[Row]:
        """(verdict, count) given on those items."""
        return self._session.all(
            "SELECT v.verdict, count(*) FROM review_verdicts v"
            f" JOIN review_items i ON i.id = v.item_id WHERE {_REVIEWED} GROUP BY v.verdict",
            _review_params(scope),
        )

    def feature_rows_of(self, trace_ids: Sequence[str], columns: Sequence[str]) -> list[Row]:
        """(trace id, outcome, *columns) of the given traces (those that have facts)."""
        unknown = set(columns) - set(FACT_COLUMNS)
        if unknown:
            raise ValueError(f"trace facts have no column {sorted(unknown)[0]!r}")
        select = f"trace_id, outcome, {', '.join(columns)}"
        return select_among(self._session, select, "trace_facts", "trace_id", trace_ids)

    def fired_among(self, trace_ids: Sequence[str]) -> list[str]:
        """Which of the given traces had some rail fire or fail."""
        session = self._session
        rows = select_among(session, "DISTINCT trace_id", "trace_rail_facts", "trace_id", trace_ids)
        return [str(row[0]) for row in rows]

    def fired_trace_ids(self, scope: Scope) -> list[str]:
        """Ids of the traces in the window on which some rail fired or failed."""
        rows = self._session.all(
            f"SELECT DISTINCT trace_id FROM trace_rail_facts WHERE {scope.where}", scope.params
        )
        return [str(row[0]) for row in rows]

    def examples(self, scope: Scope, condition: str, limit: int) -> list[str]:
        """Ids of the newest traces in the window that meet a named condition."""
        clause = _CONDITIONS[condition]
        rows = self._session.all(
            f"SELECT trace_id FROM trace_facts WHERE {scope.where} AND {clause}"
            " ORDER BY created_at DESC LIMIT :limit",
            {**scope.params, "limit": limit},
        )
        return [str(row[0]) for row in rows]


_REFUSED = "('block', 'fallback')"
_REVIEWED = (
    "(i.subject = :target OR substr(i.subject, 1, :prefix_width) = :prefix)"
    " AND i.created_at >= :since AND i.created_at < :until"
)
_GROUPABLE = frozenset({"outcome", "latency_bucket", "confidence_bin", "grounding_bin", "release"})
_CONDITIONS = {
    "error": "error = 1",
    "refused": f"outcome IN {_REFUSED}",
    "stale": "stale = 1",
    "any": "1 = 1",
}


class Scope:
    """Which traces a query covers: a deployment target (`bot@production`) or a release name
    (`bot`, every version), from `since` (inclusive) to `until` (exclusive), both ISO
    timestamps; `hours` covers the roll-up's hours from `since`'s to `until`'s (exclusive)."""

    def __init__(self, target: str, since: str, until: str) -> None:
        deployment = "(target = :target OR release_name = :target)"
        self.where = f"{deployment} AND created_at >= :since AND created_at < :until"
        self.hours = f"{deployment} AND hour >= :first_hour AND hour < :last_hour"
        self.params = {
            "target": target,
            "since": since,
            "until": until,
            "first_hour": since[:13],
            "last_hour": until[:13],
        }


@dataclass(frozen=True)
class HourCell:
    """One increment of `metric_hours`: a deployment's release, an hour (`YYYY-MM-DDTHH`), a
    metric and bucket, and what to add."""

    target: str
    release_name: str
    release: str
    hour: str
    metric: str
    bucket: int
    value: float


def _values(row: dict[str, Any], columns: Sequence[str]) -> list[Any]:
    return [row[column] for column in columns]


class IncidentRecords(JsonRows):
    """Rows of `incidents`: the searchable columns and the whole incident as JSON."""

    def __init__(self, session: Session) -> None:
        columns = ("id", "rule", "deployment", "severity", "status", "opened_at", "resolved_at")
        super().__init__(
            session, "incidents", columns, body_column="incident_json", newest_by="opened_at"
        )

    def open_for(self, rule: str) -> str | None:
        """The JSON of the rule's open incident, if it has one."""
        row = self._session.one(
            "SELECT incident_json FROM incidents WHERE rule = :rule AND status = 'open'",
            {"rule": rule},
        )
        return None if row is None else str(row[0])


def _review_params(scope: Scope) -> dict[str, Any]:
    """The scope's parameters, and a release name's `NAME@` prefix for review subjects."""
    target = scope.params["target"]
    return {**scope.params, "prefix": f"{target}@", "prefix_width": len(target) + 1}
