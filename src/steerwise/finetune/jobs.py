"""Fine-tune jobs: train a training set version on a base model and register the result.

`FineTuning.run(base=..., dataset=..., name=...)` checks everything it can before writing
anything (the training set exists, the base model can be fine-tuned here), records a job
(audited as `finetune.start`), trains, and registers the adapter as a new version of model
`name` with its lineage (audited as `model.push` and `finetune.finish`). A job that fails or
is interrupted registers nothing and keeps its checkpoints; `resume(JOB)` carries on from
the last one. Work folders live under the workspace's artifacts
(`.steerwise/artifacts/finetune/JOB/`).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

from steerwise.audit import AuditLog
from steerwise.core.actors import Actor
from steerwise.core.audit import AuditEntry
from steerwise.core.clock import utc_now
from steerwise.core.errors import BadInputError, NotFoundError
from steerwise.core.finetune import (
    FinetuneError,
    FinetuneJob,
    ModelVersionSpec,
    StepLog,
    TrainingConfig,
)
from steerwise.core.models import ModelConfig
from steerwise.core.versioning import PushResult
from steerwise.finetune.datasets import TrainingSet, TrainingSets
from steerwise.finetune.gguf_export import export_gguf
from steerwise.finetune.hosted import HostedFineTuner
from steerwise.finetune.training import LoraTrainer, Progress, encode_all, total_steps
from steerwise.models.providers import api_key
from steerwise.models.versions import ModelVersions, base_weights, tree_sha256
from steerwise.store import Store
from steerwise.store.session import Row

PROGRESS_EVERY_S = 2.0


@dataclass(frozen=True)
class JobRequest:
    """What to fine-tune: base model, training set version, the model name to register."""

    base: str
    dataset: str
    name: str
    config: TrainingConfig
    poll_s: float = 10.0
    """How often a hosted job is polled."""
    wait_timeout_s: float = 86_400.0
    """How long to wait for a hosted job before giving up (resume waits again)."""


class FineTuning:
    """The fine-tune jobs of one workspace (module docstring)."""

    def __init__(
        self,
        store: Store,
        *,
        actor: Actor,
        root: Path,
        artifacts: Path,
        training_sets: TrainingSets,
        versions: ModelVersions,
        model_config: Callable[[str], ModelConfig],
    ) -> None:
        self._store = store
        self._actor = actor
        self._root = root
        self._artifacts = artifacts
        self._sets = training_sets
        self._versions = versions
        self._model_config = model_config

    def run(self, request: JobRequest, *, progress: Progress | None = None) -> FinetuneJob:
        """Train `request` from the start; the finished job (its `model` is registered)."""
        found = self._sets.get(request.dataset)
        self._versions.parse(f"{request.name}@1")  # a bad model name fails before training
        base = self._model_config(request.base)
        job_id = uuid4().hex
        steps = total_steps(request.config, len(found.spec.train))
        if base.provider == "openai":
            tuner = HostedFineTuner(base, api_key=api_key(request.base, base))
            self._start(job_id, request, found, steps, method="hosted")
            return self._hosted(job_id, request, found, tuner, progress, remote=None)
        weights = base_weights(request.base, base, self._root)
        self._start(job_id, request, found, steps, method="lora")
        return self._train(job_id, request, found, weights, progress=progress)

    def resume(
        self,
        job_id: str,
        *,
        progress: Progress | None = None,
        poll_s: float = 10.0,
        wait_timeout_s: float = 86_400.0,
        force: bool = False,
    ) -> FinetuneJob:
        """Carry on a failed or interrupted job from its last checkpoint (a hosted job:
        wait for the provider's job again, polling every `poll_s`). A job still marked
        `running` resumes only with `force` (its process was killed without a word)."""
        job = self.job(job_id)
        if job.status == "succeeded" or (job.status == "running" and not force):
            raise BadInputError(
                f"fine-tune job {job.id[:12]} is {job.status}; only a failed or cancelled"
                " job resumes",
                hint="if its process died while running, resume it with --force",
            )
        settings = {k: v for k, v in job.config.items() if k != "register_as"}
        request = JobRequest(
            job.base,
            job.dataset,
            _model_name(job),
            TrainingConfig(**settings),
            poll_s=poll_s,
            wait_timeout_s=wait_timeout_s,
        )
        found = self._sets.get(job.dataset)
        base = self._model_config(job.base)
        self._set_status(job.id, "running", error=None, action="finetune.resume")
        if job.method == "hosted":
            tuner = HostedFineTuner(base, api_key=api_key(job.base, base))
            return self._hosted(job.id, request, found, tuner, progress, remote=job.remote_job)
        weights = base_weights(job.base, base, self._root)
        return self._train(job.id, request, found, weights, progress=progress)

    def job(self, job_id: str) -> FinetuneJob:
        """One job by id (or unique prefix)."""
        with self._store.read() as tx:
            row = tx.finetune_jobs.job(job_id.strip())
        if row is None:
            raise NotFoundError(
                f"fine-tune job {job_id!r} does not exist (or the prefix is not unique)",
                hint="see: steerwise finetune jobs",
            )
        return _job_from(row)

    def jobs(self, *, limit: int = 50) -> list[FinetuneJob]:
        """Jobs, newest first."""
        with self._store.read() as tx:
            rows = tx.finetune_jobs.jobs(limit=limit)
        return [_job_from(row) for row in rows]

    def export_gguf(self, ref: str, *, name: str | None = None) -> PushResult:
        """Merge a LoRA version into its base GGUF and register the file as a new version
        (of `name`, default the same model), which the local provider serves."""
        version = self._versions.get(ref)
        spec = version.spec
        if spec.adapter is None:
            raise BadInputError(f"model {version.ref} has no LoRA adapter to export")
        weights = base_weights(spec.base, self._model_config(spec.base), self._root)
        if not weights.is_file() or weights.suffix.lower() != ".gguf":
            raise BadInputError(
                f"model {version.ref}: its base {spec.base} is not a GGUF file",
                hint="GGUF export merges into a GGUF base such as local:smollm2-135m",
            )
        adapter = self._root / spec.adapter
        destination = self._artifacts / "gguf" / f"{str(spec.adapter_sha256)[:16]}.gguf"
        if not destination.is_file():
            export_gguf(weights, adapter, destination, name=f"{spec.name} ({version.ref})")
        exported = spec.model_copy(
            update={
                "name": name or spec.name,
                "description": f"{version.ref} merged into {spec.base}'s GGUF",
                "gguf": str(destination.relative_to(self._root)),
                "gguf_sha256": tree_sha256(destination),
                "parent": version.ref,
            }
        )
        return self._versions.register(exported, source=f"GGUF export of {version.ref}")

    def work_folder(self, job_id: str) -> Path:
        """Where a job keeps its checkpoints and adapter."""
        return self._artifacts / "finetune" / job_id

    # -- internals -----------------------------------------------------------------------

    def _start(
        self, job_id: str, request: JobRequest, found: TrainingSet, steps: int, *, method: str
    ) -> None:
        record = {
            "id": job_id,
            "created_at": utc_now(),
            "created_by": self._actor.name,
            "base": request.base,
            "dataset": found.ref,
            "method": method,
            "config": {**request.config.model_dump(mode="json"), "register_as": request.name},
            "total_steps": steps,
        }
        with self._store.write() as tx:
            tx.finetune_jobs.add(record)
            entry = AuditEntry(
                "finetune.start",
                f"finetune:{job_id}",
                None,
                {"base": request.base, "dataset": found.ref, "register_as": request.name},
            )
            AuditLog.record(tx, self._actor.name, entry)

    def _train(
        self,
        job_id: str,
        request: JobRequest,
        found: TrainingSet,
        weights: Path,
        *,
        progress: Progress | None,
    ) -> FinetuneJob:
        from steerwise.models.transformers_provider import load_weights

        work = self.work_folder(job_id)
        recorder = _ProgressRecorder(self._store, job_id, progress)

        def train() -> dict[str, Any]:
            model, tokenizer = load_weights(weights)
            config = request.config
            trainer = LoraTrainer(model, tokenizer, config, work=work, progress=recorder)
            trainer.resume()
            recorder.keep(trainer.log)  # the checkpoint's log: the store's may lag behind it
            train = encode_all(tokenizer, found.spec.train, config.max_length)
            validation = encode_all(tokenizer, found.spec.validation, config.max_length)
            outcome = trainer.train(train, validation)
            return {
                "method": "lora",
                "adapter": str(outcome.adapter.relative_to(self._root)),
                "adapter_sha256": tree_sha256(outcome.adapter),
                "metrics": outcome.metrics(),
            }

        job = self._finish(job_id, recorder, self._lineage(job_id, request, found), train)
        shutil.rmtree(work / "checkpoints", ignore_errors=True)
        return job

    def _hosted(
        self,
        job_id: str,
        request: JobRequest,
        found: TrainingSet,
        tuner: HostedFineTuner,
        progress: Progress | None,
        *,
        remote: str | None,
    ) -> FinetuneJob:
        recorder = _ProgressRecorder(self._store, job_id, progress)
        total = total_steps(request.config, len(found.spec.train))

        def train() -> dict[str, Any]:
            remote_job = remote or tuner.start(
                found.spec.train, found.spec.validation, request.config, suffix=request.name
            )
            recorder.remote_job = remote_job
            recorder.flush(force=True)
            outcome = tuner.wait(
                remote_job,
                poll_s=request.poll_s,
                timeout_s=request.wait_timeout_s,
                on_step=lambda entry: recorder(entry, total),
            )
            losses = [entry.loss for entry in outcome.log if entry.loss is not None]
            metrics: dict[str, Any] = {
                "trained_tokens": outcome.trained_tokens,
                "steps": len(outcome.log),
            }
            if losses:
                metrics["train_loss"] = losses[-1]
            return {"method": "hosted", "remote_model": outcome.model, "metrics": metrics}

        return self._finish(job_id, recorder, self._lineage(job_id, request, found), train)

    def _finish(
        self,
        job_id: str,
        recorder: _ProgressRecorder,
        lineage: dict[str, Any],
        train: Callable[[], dict[str, Any]],
    ) -> FinetuneJob:
        """Run `train`; register the version its weights make with `lineage`, or record why
        it failed (and re-raise)."""
        try:
            spec = ModelVersionSpec(**lineage, **train())
        except BaseException as error:
            recorder.flush()
            status = "cancelled" if isinstance(error, KeyboardInterrupt) else "failed"
            reason = str(error) or type(error).__name__
            self._set_status(job_id, status, error=reason, action=f"finetune.{status}")
            if isinstance(error, Exception):
                raise FinetuneError(
                    f"fine-tune job {job_id[:12]} failed: {reason}",
                    hint=f"steerwise finetune resume {job_id[:12]} carries on from where it"
                    " stopped",
                ) from error
            raise
        recorder.flush()
        registered = self._versions.register(spec, source=f"finetune job {job_id}").ref
        self._set_status(
            job_id, "succeeded", error=None, action="finetune.finish", model=registered
        )
        return self.job(job_id)

    def _lineage(self, job_id: str, request: JobRequest, found: TrainingSet) -> dict[str, Any]:
        """What a job's model version records besides its weights and metrics."""
        return {
            "name": request.name,
            "description": f"fine-tune of {request.base} on {found.ref}",
            "base": request.base,
            "dataset": found.ref,
            "dataset_hash": found.hash,
            "job": job_id,
            "hyperparameters": request.config.model_dump(mode="json"),
        }

    def _set_status(
        self, job_id: str, status: str, *, error: str | None, action: str, model: str | None = None
    ) -> None:
        finished = None if status == "running" else utc_now()
        with self._store.write() as tx:
            tx.finetune_jobs.finish(job_id, status, at=finished, model=model, error=error)
            after = {"status": status, "model": model, "error": error}
            AuditLog.record(
                tx, self._actor.name, AuditEntry(action, f"finetune:{job_id}", None, after)
            )


class _ProgressRecorder:
    """Passes each step to the caller's progress, and stores the job's progress every few
    seconds (and at the end), so that `finetune jobs` shows where a running job is."""

    def __init__(self, store: Store, job_id: str, progress: Progress | None) -> None:
        self._store = store
        self._job = job_id
        self._progress = progress
        self._log: list[StepLog] = []
        self._saved_at = 0.0
        self.remote_job: str | None = None

    def __call__(self, entry: StepLog, total: int) -> None:
        self._log.append(entry)
        if self._progress is not None:
            self._progress(entry, total)
        if entry.elapsed_s - self._saved_at >= PROGRESS_EVERY_S:
            self.flush()

    def keep(self, entries: list[StepLog]) -> None:
        """Start from the log of the checkpoint a resumed job carries on from."""
        self._log = list(entries)

    def flush(self, *, force: bool = False) -> None:
        """Store the progress so far (and the provider's job id of a hosted job)."""
        if not self._log and not force:
            return
        self._saved_at = self._log[-1].elapsed_s if self._log else 0.0
        with self._store.write() as tx:
            tx.finetune_jobs.progress(
                self._job,
                step=self._log[-1].step if self._log else 0,
                log=[entry.to_dict() for entry in self._log],
                remote_job=self.remote_job,
            )


def _model_name(job: FinetuneJob) -> str:
    return str(job.config.get("register_as") or job.dataset.partition("@")[0])


def _job_from(row: Row) -> FinetuneJob:
    (
        job_id,
        created_at,
        created_by,
        base,
        dataset,
        method,
        config_json,
        status,
        step,
        total,
        model,
        error,
        remote_job,
        finished_at,
        log_json,
    ) = row
    config = json.loads(config_json)
    return FinetuneJob(
        id=str(job_id),
        created_at=str(created_at),
        created_by=str(created_by),
        base=str(base),
        dataset=str(dataset),
        method=method,
        config=config,
        status=status,
        step=int(step),
        total_steps=int(total),
        model=model,
        error=error,
        remote_job=remote_job,
        finished_at=finished_at,
        log=tuple(StepLog(**entry) for entry in json.loads(log_json)),
    )
