"""Hosted fine-tuning through OpenAI's fine-tuning API (and servers that speak it).

Upload the training set's splits as chat JSONL files, create a job on the base model, poll
it (its events carry the step and training loss), and hand back the fine-tuned model's id,
which is registered like a local adapter. The official `openai` SDK makes the calls; the
base model's settings give the server (`base_url`) and the key (`api_key_env`).
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from steerwise.core.finetune import ChatRow, FinetuneError, StepLog, TrainingConfig
from steerwise.core.models import ModelConfig

TERMINAL = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class HostedOutcome:
    """A finished hosted job: the model id to call, and its figures."""

    model: str
    trained_tokens: int | None
    log: list[StepLog]


class HostedFineTuner:
    """One provider's fine-tuning API (module docstring)."""

    def __init__(self, config: ModelConfig, *, api_key: str, client: Any = None) -> None:
        if client is None:
            from steerwise.models.openai_provider import import_openai

            openai = import_openai()
            client = openai.OpenAI(
                base_url=config.base_url, api_key=api_key, timeout=config.timeout_s
            )
        self._client = client
        self._model = config.model

    def start(
        self,
        train: Sequence[ChatRow],
        validation: Sequence[ChatRow],
        settings: TrainingConfig,
        *,
        suffix: str,
    ) -> str:
        """Upload the splits and create the job; the provider's job id."""
        training_file = self._upload(train, "train.jsonl")
        arguments: dict[str, Any] = {
            "model": self._model,
            "training_file": training_file,
            "suffix": suffix[:18],
            "seed": settings.seed,
            "hyperparameters": {"n_epochs": settings.epochs, "batch_size": settings.batch_size},
        }
        if validation:
            arguments["validation_file"] = self._upload(validation, "validation.jsonl")
        return str(self._client.fine_tuning.jobs.create(**arguments).id)

    def _upload(self, rows: Sequence[ChatRow], name: str) -> str:
        body = "".join(json.dumps(row.openai_line(), ensure_ascii=False) + "\n" for row in rows)
        handle = io.BytesIO(body.encode())
        return str(self._client.files.create(file=(name, handle), purpose="fine-tune").id)

    def wait(
        self,
        job_id: str,
        *,
        poll_s: float,
        timeout_s: float,
        on_step: Callable[[StepLog], None],
    ) -> HostedOutcome:
        """Poll the job until it ends; each new training step goes to `on_step`."""
        deadline, seen, started = time.monotonic() + timeout_s, 0, time.monotonic()
        log: list[StepLog] = []
        while True:
            job = self._client.fine_tuning.jobs.retrieve(job_id)
            for entry in self._steps(job_id, seen, time.monotonic() - started):
                seen = entry.step
                log.append(entry)
                on_step(entry)
            if job.status in TERMINAL:
                return self._outcome(job, log)
            if time.monotonic() > deadline:
                raise FinetuneError(
                    f"hosted job {job_id} still {job.status} after {timeout_s:.0f} s",
                    hint="resume the job later to keep waiting for it",
                )
            time.sleep(poll_s)

    def _steps(self, job_id: str, after: int, elapsed: float) -> list[StepLog]:
        events = self._client.fine_tuning.jobs.list_events(job_id, limit=100).data
        steps = []
        for event in reversed(events):  # the API lists the newest first
            data = getattr(event, "data", None) or {}
            step = int(data.get("step", 0) or 0)
            if step > after and "train_loss" in data:
                loss = float(data["train_loss"])
                validation = data.get("valid_loss")
                steps.append(StepLog(step, 0.0, loss, validation, 0, elapsed))
        return steps

    def _outcome(self, job: Any, log: list[StepLog]) -> HostedOutcome:
        if job.status != "succeeded" or not job.fine_tuned_model:
            error = getattr(job, "error", None)
            message = getattr(error, "message", None) or f"the job ended {job.status}"
            raise FinetuneError(f"hosted job {job.id}: {message}")
        return HostedOutcome(str(job.fine_tuned_model), job.trained_tokens, log)

    def cancel(self, job_id: str) -> None:
        """Ask the provider to stop the job."""
        self._client.fine_tuning.jobs.cancel(job_id)
