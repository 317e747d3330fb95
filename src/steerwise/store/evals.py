"""The SQL of evaluation runs (`eval_runs`) and their per-item results (`eval_results`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from steerwise.store.session import Row, Session

RUN_COLUMNS = (
    "id, created_at, created_by, target, release, release_id, dataset, scorers_json, status,"
    " finished_at"
)


class EvalRecords:
    """Rows of `eval_runs` and `eval_results`."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add_run(self, run: dict[str, Any]) -> None:
        """Store a new run (status `running`)."""
        self._session.execute(
            "INSERT INTO eval_runs (id, created_at, created_by, target, release, release_id,"
            " dataset, scorers_json, status, finished_at) VALUES (:id, :created_at,"
            " :created_by, :target, :release, :release_id, :dataset, :scorers, :status, NULL)",
            {**run, "scorers": json.dumps(run["scorers"], separators=(",", ":"))},
        )

    def set_status(self, run_id: str, status: str, *, at: str | None = None) -> None:
        """Mark a run `running`, `finished` or `interrupted` (and when it finished)."""
        self._session.execute(
            "UPDATE eval_runs SET status = :status, finished_at = :at WHERE id = :id",
            {"id": run_id, "status": status, "at": at},
        )

    def set_scorers(self, run_id: str, scorers: Sequence[str]) -> None:
        """The scorers of a run (a re-scoring adds some)."""
        self._session.execute(
            "UPDATE eval_runs SET scorers_json = :s WHERE id = :id",
            {"id": run_id, "s": json.dumps(list(scorers), separators=(",", ":"))},
        )

    def run(self, run_id: str) -> Row | None:
        """One run by id or unique prefix."""
        rows = self._session.all(
            f"SELECT {RUN_COLUMNS} FROM eval_runs WHERE substr(id, 1, :width) = :prefix LIMIT 2",
            {"width": len(run_id), "prefix": run_id},
        )
        return rows[0] if len(rows) == 1 else None

    def runs(self, *, limit: int) -> list[Row]:
        """Runs, newest first."""
        return self._session.all(
            f"SELECT {RUN_COLUMNS} FROM eval_runs ORDER BY created_at DESC, id LIMIT :limit",
            {"limit": limit},
        )

    def put_result(self, run_id: str, item_id: str, result: dict[str, Any], *, at: str) -> None:
        """Store (or replace, on re-scoring) one item's result."""
        body = json.dumps(result, separators=(",", ":"), ensure_ascii=False)
        self._session.execute(
            "DELETE FROM eval_results WHERE run_id = :run AND item_id = :item",
            {"run": run_id, "item": item_id},
        )
        self._session.execute(
            "INSERT INTO eval_results (run_id, item_id, created_at, result_json)"
            " VALUES (:run, :item, :at, :body)",
            {"run": run_id, "item": item_id, "at": at, "body": body},
        )

    def results(self, run_id: str) -> list[Row]:
        """(item id, result JSON) of every finished item of a run."""
        return self._session.all(
            "SELECT item_id, result_json FROM eval_results WHERE run_id = :run",
            {"run": run_id},
        )

    def cached_results(self, release: str, release_id: str, dataset: str) -> list[Row]:
        """(item id, result JSON) of earlier runs of the same release over the same dataset
        version, newest first (what a new run may reuse instead of asking the model)."""
        return self._session.all(
            "SELECT r.item_id, r.result_json FROM eval_results r"
            " JOIN eval_runs e ON e.id = r.run_id"
            " WHERE e.release = :release AND e.release_id = :rid AND e.dataset = :dataset"
            " ORDER BY r.created_at DESC",
            {"release": release, "rid": release_id, "dataset": dataset},
        )
