"""`advise compare`: evaluate each candidate release on one held-out dataset and decide.

Candidates are named releases (`NAME=RELEASE`), or strategies built from the workspace's
parts: `prompt` (the prompt alone, on its own model), `rag` (the prompt over an index
snapshot), `finetune` (the prompt on a fine-tuned model) and `finetune+rag` (both). Each is
run through the whole request path by an eval run (every answer traced), then
`advisor.decision` turns the runs into figures and a recommendation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from steerwise.advisor.decision import Decision, RunFacts, decide, figures
from steerwise.core.errors import BadInputError
from steerwise.core.evals import DatasetItem, EvalReport
from steerwise.evals.datasets import DatasetRegistry
from steerwise.evals.runs import EvalRuns, Progress
from steerwise.models.versions import ModelVersions
from steerwise.releases import PinRequest, ReleaseRegistry
from steerwise.retrieval import KnowledgeIndex, SourceLibrary
from steerwise.traces import TraceLog

STRATEGIES = ("prompt", "rag", "finetune", "finetune+rag")
DEFAULT_SCORER = "f1:threshold=0.5"
CHANGED_TAG = "source-changed"


@dataclass(frozen=True)
class StrategyParts:
    """What `--strategies` builds its releases from."""

    prompt: str
    snapshot: str | None = None
    model: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CompareRequest:
    """One comparison: the dataset, the candidates (name -> release or deployment), the
    scorers (the first one's pass rate is answer accuracy), and the seed."""

    dataset: str
    candidates: Mapping[str, str]
    scorers: Sequence[str] = (DEFAULT_SCORER,)
    seed: int = 0
    concurrency: int = 1


class Advisor:
    """Builds strategy releases and compares candidates (module docstring)."""

    def __init__(
        self,
        *,
        evals: EvalRuns,
        datasets: DatasetRegistry,
        releases: ReleaseRegistry,
        traces: TraceLog,
        versions: ModelVersions,
        index: KnowledgeIndex,
        sources: SourceLibrary,
    ) -> None:
        self._evals = evals
        self._datasets = datasets
        self._releases = releases
        self._traces = traces
        self._versions = versions
        self._index = index
        self._sources = sources

    def strategy_releases(
        self, strategies: Sequence[str], parts: StrategyParts, *, prefix: str = "advise"
    ) -> dict[str, str]:
        """One release per strategy (`prompt`, `rag`, `finetune`, `finetune+rag`), named
        `PREFIX-STRATEGY`; strategy -> release ref."""
        unknown = [name for name in strategies if name not in STRATEGIES]
        if unknown:
            raise BadInputError(
                f"unknown strategy {unknown[0]!r}", hint=f"use some of {', '.join(STRATEGIES)}"
            )
        built = {}
        for strategy in strategies:
            request = _pins(strategy, parts)
            name = f"{prefix}-{strategy.replace('+', '-')}"
            built[strategy] = self._releases.create(name, request).ref
        return built

    def compare(self, request: CompareRequest, *, progress: Progress | None = None) -> Decision:
        """Run every candidate over the dataset and decide (module docstring)."""
        if len(request.candidates) < 2:
            raise BadInputError("compare needs at least two candidates")
        dataset = self._datasets.get(request.dataset)
        scorers = list(request.scorers)
        reports: dict[str, EvalReport] = {}
        for name, target in request.candidates.items():
            reports[name] = self._evals.run(
                target,
                dataset.ref,
                scorers,
                concurrency=request.concurrency,
                progress=progress,
            )
        changed = self._changed_items(dataset.spec.items)
        candidates = [
            figures(
                name,
                report,
                report.run.scorers[0],
                self._facts(report),
                changed_items=changed,
                seed=request.seed,
            )
            for name, report in reports.items()
        ]
        scorer = next(iter(reports.values())).run.scorers[0]
        return decide(candidates, scorer=scorer, seed=request.seed)

    def _facts(self, report: EvalReport) -> RunFacts:
        spec = self._releases.get(report.run.release).spec
        model = spec.model or "(the prompt's model)"
        return RunFacts(
            model=model, tokens=self._tokens, change=self._change(spec.model, spec.snapshot)
        )

    def _tokens(self, trace_id: str) -> tuple[int, int]:
        trace = self._traces.get(trace_id)
        calls = [span for span in trace.root.walk() if span.name == "model_call"]
        return (
            sum(int(span.attributes.get("input_tokens", 0)) for span in calls),
            sum(int(span.attributes.get("output_tokens", 0)) for span in calls),
        )

    def _change(self, model: str | None, snapshot: str | None) -> str:
        """What changing this candidate's knowledge takes, with the figures we have."""
        parts = []
        if snapshot:
            chunks = self._index.get(snapshot).chunk_count
            parts.append(f"re-index ({chunks} chunks)")
        if model and "@" in model and ":" not in model:
            metrics = self._versions.get(model).spec.metrics
            seconds = metrics.get("seconds")
            took = f"{float(seconds):.0f} s measured" if seconds is not None else "hosted"
            parts.append(f"retrain ({took}, {metrics.get('steps', '?')} steps)")
        return " + ".join(parts) or "edit the prompt (a new version)"

    def _changed_items(self, items: Sequence[DatasetItem]) -> set[str]:
        """Items tagged `source-changed`, or resting on a document changed since it was
        first ingested."""
        changed_docs = {doc.doc_id for doc in self._sources.documents() if doc.version > 1}
        return {
            item.id
            for item in items
            if CHANGED_TAG in item.tags or changed_docs & set(item.reference_doc_ids)
        }


def _pins(strategy: str, parts: StrategyParts) -> PinRequest:
    needs_model = strategy.startswith("finetune")
    needs_snapshot = strategy.endswith("rag")
    if needs_model and not parts.model:
        raise BadInputError(
            f"strategy {strategy} needs a fine-tuned model: --model NAME@VERSION",
            hint="see: steerwise models versions",
        )
    if needs_snapshot and not parts.snapshot:
        raise BadInputError(f"strategy {strategy} needs an index snapshot: --snapshot ID|latest")
    return PinRequest(
        parts.prompt,
        model=parts.model if needs_model else None,
        snapshot=parts.snapshot if needs_snapshot else None,
        params=dict(parts.params),
    )
