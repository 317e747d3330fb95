"""Eval runs: a target answers every item of a dataset version, scorers judge each answer.

`EvalRuns.run(target, dataset, scorers)` asks the target (a deployment, a release or a
prompt, through the whole request path, so each item leaves a trace) for every item, a few
at a time (`concurrency` threads), and stores each item's result as soon as it is scored:
a run stopped by Ctrl-C or a crash keeps its finished items, and `resume` finishes it
without asking again. An answer already produced by an earlier run of the same release over
the same dataset version is reused (`cached`) unless `reuse=False` (a prompt target pins no
model, so its answers are never reused), and `rescore` adds
scorers to a finished run from its stored answers: adding a scorer never re-runs the model.
`score_predictions` judges answers produced elsewhere (`{"id", "output"}` lines) and records
them as a run like any other.

A model that fails on an item makes that item's `error`; a scorer that fails on an item
records its error for that item; the run goes on. Stored answers are scrubbed of personal
data and secrets (scores are computed before, on the answer itself).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from uuid import uuid4

from steerwise.audit import AuditLog
from steerwise.core.actors import Actor
from steerwise.core.audit import AuditEntry
from steerwise.core.clock import utc_now
from steerwise.core.errors import BadInputError, NotFoundError, SteerwiseError
from steerwise.core.evals import (
    DatasetItem,
    EvalReport,
    EvalRunInfo,
    ItemResult,
)
from steerwise.evals.compare import Comparison, compare
from steerwise.evals.datasets import DatasetRegistry
from steerwise.evals.gates import GateResult, check_gate
from steerwise.evals.reports import render_report
from steerwise.evals.scorers import Scorer
from steerwise.evals.scoring import judge_all, read_predictions, summarise
from steerwise.evals.specs import BuildScorer, build_scorers
from steerwise.evals.stats import DEFAULT_RESAMPLES, DEFAULT_SEED
from steerwise.guardrails.context import context_from_hits
from steerwise.guardrails.scrub import scrub
from steerwise.pipeline.request import Answer, Target
from steerwise.store import Store

Progress = Callable[[int, int], None]
"""(items done, items in the run)."""
MAX_CONCURRENCY = 64


class EvalInterrupted(SteerwiseError):
    """A run was stopped before its last item; `resume` finishes it."""


class EvalRuns:
    """The eval runs of one workspace (module docstring)."""

    def __init__(
        self,
        store: Store,
        *,
        actor: Actor,
        datasets: DatasetRegistry,
        resolve: Callable[[str], Target],
        answer: Callable[[str, Mapping[str, Any]], Answer],
        scorer: BuildScorer,
    ) -> None:
        self._store = store
        self._actor = actor
        self._datasets = datasets
        self._resolve = resolve
        self._answer = answer
        self._scorer = scorer

    # -- running -------------------------------------------------------------------------

    def run(
        self,
        target: str,
        dataset: str,
        scorers: Sequence[str],
        *,
        concurrency: int = 4,
        reuse: bool = True,
        progress: Progress | None = None,
    ) -> EvalReport:
        """Answer and score every item (module docstring); the finished run's report."""
        _check_concurrency(concurrency)
        version = self._datasets.get(dataset)
        judges = build_scorers(scorers, self._scorer)
        resolved = self._resolve(target)
        info = self._start(target, resolved.ref, resolved.id, version.ref, list(judges))
        cache = self._cache(info) if reuse else {}
        return self._finish(
            info,
            version.spec.items,
            judges,
            cache=cache,
            concurrency=concurrency,
            progress=progress,
        )

    def resume(
        self, run_id: str, *, concurrency: int = 4, progress: Progress | None = None
    ) -> EvalReport:
        """Finish a run that was stopped: only the items without a result are asked."""
        _check_concurrency(concurrency)
        info = self.info(run_id)
        if info.status == "finished":
            raise BadInputError(f"eval run {info.id} is finished; nothing to resume")
        if info.target.startswith("predictions:"):
            raise BadInputError(f"eval run {info.id} scored predictions: score them again")
        items = self._datasets.get(info.dataset).spec.items
        judges = build_scorers(list(info.scorers), self._scorer)
        return self._finish(
            info, items, judges, cache={}, concurrency=concurrency, progress=progress
        )

    def rescore(self, run_id: str, scorers: Sequence[str]) -> EvalReport:
        """Add scorers to a run from its stored answers (no model call)."""
        info = self.info(run_id)
        added = [spec for spec in scorers if spec not in info.scorers]
        judges = build_scorers(added, self._scorer)
        items = {item.id: item for item in self._datasets.get(info.dataset).spec.items}
        for result in self._results(info.id):
            if result.error is None:
                scores = {
                    **result.scores,
                    **judge_all(judges, result.sample(items[result.item_id])),
                }
                self._store_result(info.id, replace(result, scores=scores))
        with self._store.write() as tx:
            tx.evals.set_scorers(info.id, [*info.scorers, *added])
        return self.report(info.id)

    def score_predictions(
        self, predictions: str | Path, dataset: str, scorers: Sequence[str]
    ) -> EvalReport:
        """Judge answers produced elsewhere (JSONL of `{"id", "output"}`) as a run."""
        version = self._datasets.get(dataset)
        judges = build_scorers(scorers, self._scorer)
        outputs = read_predictions(predictions)
        unknown = sorted(set(outputs) - {item.id for item in version.spec.items})
        if unknown:
            raise BadInputError(f"{predictions}: no item {unknown[0]!r} in {version.ref}")
        info = self._start(f"predictions:{predictions}", "", "", version.ref, list(judges))
        for item in version.spec.items:
            found = outputs.get(item.id)
            if found is None:
                result = ItemResult(item.id, "", error="no prediction for this item")
            else:
                result = ItemResult(item.id, found)
                result = replace(result, scores=judge_all(judges, result.sample(item)))
            self._store_result(info.id, _scrubbed(result))
        return self._close(info.id, "finished")

    # -- reading -------------------------------------------------------------------------

    def info(self, run_id: str) -> EvalRunInfo:
        """One run by id or unique prefix."""
        with self._store.read() as tx:
            row = tx.evals.run(run_id)
        if row is None:
            raise NotFoundError(f"no single eval run has id {run_id!r}", hint="steerwise eval list")
        return _info(row)

    def runs(self, *, limit: int = 50) -> list[EvalRunInfo]:
        """Runs, newest first."""
        with self._store.read() as tx:
            return [_info(row) for row in tx.evals.runs(limit=limit)]

    def report(self, run_id: str) -> EvalReport:
        """A run, its items' results (in dataset order) and each scorer's summary."""
        info = self.info(run_id)
        items = self._datasets.get(info.dataset).spec.items
        order = {item.id: index for index, item in enumerate(items)}
        results = sorted(self._results(info.id), key=lambda r: order.get(r.item_id, len(order)))
        return EvalReport(info, results, summarise(info.scorers, results), len(items))

    def compare(
        self,
        baseline: str,
        candidate: str,
        *,
        seed: int = DEFAULT_SEED,
        resamples: int = DEFAULT_RESAMPLES,
    ) -> Comparison:
        """Two runs of one dataset, paired by item (`steerwise.evals.compare`)."""
        old, new = self.report(baseline), self.report(candidate)
        items = self._datasets.get(new.run.dataset).spec.items
        return compare(old, new, items, seed=seed, resamples=resamples)

    def gate(self, baseline: str, candidate: str, rules: Sequence[str]) -> GateResult:
        """Check `rules` on the candidate run against a baseline: a run, or a deployment or
        release whose newest finished run over the candidate's dataset is the baseline."""
        new = self.report(candidate)
        old = self.report(self.baseline_run(baseline, new.run.dataset))
        items = self._datasets.get(new.run.dataset).spec.items
        return check_gate(rules, compare(old, new, items), old, new)

    def render(self, run_id: str, *, baseline: str | None = None, form: str = "html") -> str:
        """The run's report as HTML or Markdown, against `baseline` (a run, deployment or
        release, as for `gate`) when given."""
        report = self.report(run_id)
        comparison = None
        if baseline is not None:
            old = self.baseline_run(baseline, report.run.dataset)
            comparison = self.compare(old, report.run.id)
        return render_report(report, comparison, form=form)

    def baseline_run(self, ref: str, dataset: str) -> str:
        """The id of run `ref`, or of the newest finished run of what target `ref` serves now
        over the dataset named in `dataset` (any version)."""
        try:
            return self.info(ref).id
        except NotFoundError:
            pass
        try:
            serving = self._resolve(ref)
        except NotFoundError:
            raise NotFoundError(
                f"{ref!r} is neither an eval run nor a deployment, release or prompt"
            ) from None
        name = dataset.rpartition("@")[0] or dataset
        for run in self.runs(limit=10_000):
            same = (run.release, run.release_id) == (serving.ref, serving.id)
            if same and run.status == "finished" and run.dataset.startswith(f"{name}@"):
                return run.id
        raise BadInputError(
            f"no finished eval run of {serving.ref} over {name}",
            hint=f"run one: steerwise eval run --target {ref} --dataset {name} --scorer ...",
        )

    # -- the parts -----------------------------------------------------------------------

    def _start(
        self, target: str, release: str, release_id: str, dataset: str, scorers: list[str]
    ) -> EvalRunInfo:
        info = EvalRunInfo(
            id=uuid4().hex,
            created_at=utc_now(),
            created_by=self._actor.name,
            target=target,
            release=release,
            release_id=release_id,
            dataset=dataset,
            scorers=tuple(scorers),
            status="running",
        )
        row = {k: v for k, v in vars(info).items() if k not in ("finished_at",)}
        with self._store.write() as tx:
            tx.evals.add_run(row)
            entry = AuditEntry("eval.run", f"eval:{info.id}", None, _audited(info))
            AuditLog.record(tx, self._actor.name, entry)
        return info

    def _finish(
        self,
        info: EvalRunInfo,
        items: Sequence[DatasetItem],
        judges: dict[str, Scorer],
        *,
        cache: dict[str, ItemResult],
        concurrency: int,
        progress: Progress | None,
    ) -> EvalReport:
        done = {result.item_id for result in self._results(info.id)}
        pending = [item for item in items if item.id not in done]
        counter = _Counter(len(done), len(items), progress)
        try:
            job = _Job(info, judges, cache, counter)
            self._answer_all(job, pending, concurrency)
        except Exception:
            self._close(info.id, "interrupted")  # resumable; the error is not ours to hide
            raise
        except KeyboardInterrupt:
            self._close(info.id, "interrupted")
            raise EvalInterrupted(
                f"eval run {info.id} stopped after {counter.done} of {len(items)} items",
                hint=f"finish it with: steerwise eval resume {info.id[:12]}",
            ) from None
        return self._close(info.id, "finished")

    def _answer_all(self, job: _Job, pending: Sequence[DatasetItem], concurrency: int) -> None:
        queue = iter(pending)
        with ThreadPoolExecutor(concurrency, thread_name_prefix="steerwise-eval") as pool:
            running: set[Future[None]] = set()
            try:
                for item in _take(queue, concurrency):
                    running.add(pool.submit(self._one, job, item))
                while running:
                    finished, running = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                    for future in finished:
                        future.result()
                        for item in _take(queue, 1):
                            running.add(pool.submit(self._one, job, item))
            except BaseException:
                for future in running:
                    future.cancel()
                raise

    def _one(self, job: _Job, item: DatasetItem) -> None:
        result = job.cache.get(item.id) or self._ask(job.info.target, item)
        if result.error is None:
            result = replace(result, scores=judge_all(job.judges, result.sample(item)))
        self._store_result(job.info.id, _scrubbed(result))
        job.counter.step()

    def _ask(self, target: str, item: DatasetItem) -> ItemResult:
        started = time.perf_counter()
        try:
            answer = self._answer(target, item.variables)
        except SteerwiseError as failure:
            message = f"{type(failure).__name__}: {failure.message}"
            return ItemResult(item.id, "", error=message)
        latency = (time.perf_counter() - started) * 1000
        return ItemResult(
            item_id=item.id,
            output=answer.text,
            trace_id=answer.trace_id,
            latency_ms=round(latency, 3),
            cost_usd=answer.cost_usd,
            context=context_from_hits(answer.hits).documents,
            cited_doc_ids=tuple(dict.fromkeys(c.document for c in answer.citations)),
            declined=answer.outcome in ("block", "fallback"),
        )

    def _cache(self, info: EvalRunInfo) -> dict[str, ItemResult]:
        """Answers of earlier runs of the same release over the same dataset version (a
        release pins its model; a prompt target does not, so its answers are not reused)."""
        if not info.release_id:
            return {}
        with self._store.read() as tx:
            rows = tx.evals.cached_results(info.release, info.release_id, info.dataset)
        found: dict[str, ItemResult] = {}
        for item_id, body in rows:
            result = ItemResult.from_dict(json.loads(body))
            if result.error is None and str(item_id) not in found:
                found[str(item_id)] = replace(result, cached=True, scores={})
        return found

    def _store_result(self, run_id: str, result: ItemResult) -> None:
        with self._store.write() as tx:  # the store serialises writers
            tx.evals.put_result(run_id, result.item_id, result.to_dict(), at=utc_now())

    def _results(self, run_id: str) -> list[ItemResult]:
        with self._store.read() as tx:
            rows = tx.evals.results(run_id)
        return [ItemResult.from_dict(json.loads(body)) for _, body in rows]

    def _close(self, run_id: str, status: str) -> EvalReport:
        with self._store.write() as tx:
            tx.evals.set_status(run_id, status, at=utc_now())
        return self.report(run_id)


@dataclass(frozen=True)
class _Job:
    """What every item of a run needs: the run, its scorers, reusable answers, the count."""

    info: EvalRunInfo
    judges: dict[str, Scorer]
    cache: dict[str, ItemResult]
    counter: _Counter


class _Counter:
    """Items done so far, reported to a progress callback (from any worker thread)."""

    def __init__(self, done: int, total: int, progress: Progress | None) -> None:
        self.done, self._total, self._progress = done, total, progress
        self._lock = threading.Lock()
        if progress is not None:
            progress(done, total)

    def step(self) -> None:
        with self._lock:
            self.done += 1
            if self._progress is not None:
                self._progress(self.done, self._total)


def _scrubbed(result: ItemResult) -> ItemResult:
    return replace(result, output=scrub(result.output))


def _take(queue: Any, count: int) -> list[DatasetItem]:
    return [item for _, item in zip(range(count), queue, strict=False)]


def _check_concurrency(concurrency: int) -> None:
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise BadInputError(f"concurrency must be 1 to {MAX_CONCURRENCY}, not {concurrency}")


def _info(row: Any) -> EvalRunInfo:
    run_id, at, by, target, release, release_id, dataset, scorers, status, finished = row
    return EvalRunInfo(
        id=str(run_id),
        created_at=str(at),
        created_by=str(by),
        target=str(target),
        release=str(release),
        release_id=str(release_id),
        dataset=str(dataset),
        scorers=tuple(json.loads(scorers)),
        status=str(status),
        finished_at=None if finished is None else str(finished),
    )


def _audited(info: EvalRunInfo) -> dict[str, Any]:
    return {
        "target": info.target,
        "release": info.release,
        "dataset": info.dataset,
        "scorers": list(info.scorers),
    }
