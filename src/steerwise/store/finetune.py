"""The SQL of fine-tune jobs (`finetune_jobs`): one row per job, updated as it trains."""

from __future__ import annotations

import json
from typing import Any

from steerwise.store.session import Row, Session

JOB_COLUMNS = (
    "id, created_at, created_by, base, dataset, method, config_json, status, step,"
    " total_steps, model, error, remote_job, finished_at, log_json"
)


class FinetuneJobRecords:
    """Rows of `finetune_jobs`."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, job: dict[str, Any]) -> None:
        """Store a new job (status `running`, step 0)."""
        self._session.execute(
            "INSERT INTO finetune_jobs (id, created_at, created_by, base, dataset, method,"
            " config_json, status, step, total_steps, model, error, remote_job, finished_at,"
            " log_json) VALUES (:id, :created_at, :created_by, :base, :dataset, :method,"
            " :config, 'running', 0, :total_steps, NULL, NULL, NULL, NULL, '[]')",
            {**job, "config": json.dumps(job["config"], sort_keys=True)},
        )

    def progress(
        self, job_id: str, *, step: int, log: list[dict[str, Any]], remote_job: str | None
    ) -> None:
        """Record how far a job got (its step and the log so far)."""
        self._session.execute(
            "UPDATE finetune_jobs SET step = :step, log_json = :log,"
            " remote_job = COALESCE(:remote, remote_job) WHERE id = :id",
            {"id": job_id, "step": step, "log": json.dumps(log), "remote": remote_job},
        )

    def finish(
        self, job_id: str, status: str, *, at: str | None, model: str | None, error: str | None
    ) -> None:
        """Mark a job `succeeded` (with the model version it registered), `failed` or
        `cancelled` (with why), or `running` again when it resumes."""
        self._session.execute(
            "UPDATE finetune_jobs SET status = :status, finished_at = :at, model = :model,"
            " error = :error WHERE id = :id",
            {"id": job_id, "status": status, "at": at, "model": model, "error": error},
        )

    def job(self, job_id: str) -> Row | None:
        """One job by id or unique prefix."""
        rows = self._session.all(
            f"SELECT {JOB_COLUMNS} FROM finetune_jobs"
            " WHERE substr(id, 1, :width) = :prefix LIMIT 2",
            {"width": len(job_id), "prefix": job_id},
        )
        return rows[0] if len(rows) == 1 else None

    def jobs(self, *, limit: int) -> list[Row]:
        """Jobs, newest first."""
        return self._session.all(
            f"SELECT {JOB_COLUMNS} FROM finetune_jobs ORDER BY created_at DESC, id LIMIT :limit",
            {"limit": limit},
        )
