"""Workspace: opens a workspace folder and wires its store and capabilities."""

from __future__ import annotations

import getpass
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from steerwise.access import KeyRing
from steerwise.advisor.comparison import Advisor
from steerwise.audit import AuditLog
from steerwise.core import environment
from steerwise.core.actors import Actor
from steerwise.core.audit import AuditEntry
from steerwise.core.errors import BadInputError, ConflictError, NotFoundError, SteerwiseError
from steerwise.core.evals import DatasetItem
from steerwise.core.guardrails import CheckContext
from steerwise.core.knowledge import SearchHit
from steerwise.core.models import ChatParams
from steerwise.core.releases import ReleaseSpec
from steerwise.core.traces import TraceParent
from steerwise.core.versioning import PushResult
from steerwise.evals.datasets import DatasetRegistry
from steerwise.evals.promptfoo import Imported, import_promptfoo
from steerwise.evals.runs import EvalRuns
from steerwise.evals.scorers import Scorer, ScorerServices, build_scorer
from steerwise.finetune.building import BuildOptions, Rendered
from steerwise.finetune.datasets import TrainingSets
from steerwise.finetune.jobs import FineTuning
from steerwise.finetune.sources import gather
from steerwise.graph import KnowledgeGraph
from steerwise.guardrails.registry import PolicyRegistry
from steerwise.guardrails.text import sentences_of
from steerwise.models import ModelRegistry
from steerwise.models.versions import ModelVersions
from steerwise.monitor import Monitor
from steerwise.monitor.alerts import AlertEngine
from steerwise.monitor.drift import DriftCheck
from steerwise.monitor.feedback import FeedbackLog
from steerwise.monitor.webhooks import WebhookNotifier
from steerwise.pipeline import PromptRunner, RunResult
from steerwise.pipeline.guarded import GuardedResult, GuardedRunner
from steerwise.pipeline.request import Answer, RequestRunner, Streamed, Target
from steerwise.prompts import PromptRegistry
from steerwise.releases import PinResolvers, ReleaseRegistry, release_id
from steerwise.releases.canaries import Canaries
from steerwise.releases.promotions import Promotions
from steerwise.releases.registry import Release
from steerwise.retrieval import (
    ChunkerSettings,
    KnowledgeIndex,
    SearchOptions,
    SourceLibrary,
    search,
)
from steerwise.review import ReviewQueue
from steerwise.review.fill import from_regressions
from steerwise.settings import (
    CONFIG_FILE,
    DATABASE_FILE,
    STATE_DIR,
    Settings,
    initial_config,
    load_settings,
)
from steerwise.store import Store, open_store
from steerwise.traces import TraceLog
from steerwise.traces.sinks import configured_sinks
from steerwise.traces.storer import DECISIONS, FLAGS


def default_actor() -> str:
    """`STEERWISE_ACTOR`, else `user:<login name>`."""
    explicit = environment.ACTOR.get()
    if explicit:
        return explicit
    try:
        return f"user:{getpass.getuser()}"
    except (KeyError, OSError):
        return "user:unknown"


def find_root(start: Path | str | None = None) -> Path:
    """The workspace folder: `start`, else STEERWISE_WORKSPACE, else cwd or a parent."""
    explicit = start or environment.WORKSPACE.get()
    if explicit:
        root = Path(explicit).expanduser().resolve()
        if not (root / CONFIG_FILE).is_file():
            raise NotFoundError(
                f"{root} is not a steerwise workspace (no {CONFIG_FILE})",
                hint=f"create one with: steerwise init {root}",
            )
        return root
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise NotFoundError(
        f"no steerwise workspace in {here} or its parents",
        hint="create one with `steerwise init`, or pass --workspace DIR",
    )


def chunker_settings(max_tokens: int, overlap_tokens: int) -> ChunkerSettings:
    """The `[retrieval]` chunker settings, or an error naming the setting that is wrong."""
    try:
        return ChunkerSettings(max_tokens, overlap_tokens)
    except ValueError as error:
        raise BadInputError(f"{CONFIG_FILE}: [retrieval]: {error}") from None


class Workspace:
    """One workspace: its settings, store and capabilities. Close it when done."""

    def __init__(
        self, root: Path, settings: Settings, store: Store, *, actor: str, store_url: str
    ) -> None:
        self.root = root
        self.settings = settings
        self.store = store
        self.store_url = store_url
        self.actor = Actor(actor)
        self.audit = AuditLog(store)
        self.prompts = PromptRegistry(
            store, actor=self.actor, label_cache_ttl_s=settings.prompts.label_cache_ttl_s
        )
        self.model_versions = ModelVersions(
            store,
            actor=self.actor,
            root=root,
            named=settings.models,
            label_cache_ttl_s=settings.prompts.label_cache_ttl_s,
        )
        self.models = ModelRegistry(
            settings.models,
            root=root,
            default_model=settings.workspace.default_model,
            versions=self.model_versions,
        )
        self.runner = PromptRunner(self.prompts, self.models)
        self.sources = SourceLibrary(store, actor=self.actor, root=root)
        retrieval = settings.retrieval
        self.index = KnowledgeIndex(
            store,
            actor=self.actor,
            artifacts=root / STATE_DIR / "artifacts",
            sources=self.sources,
            models=self.models,
            chunker=chunker_settings(retrieval.max_tokens, retrieval.overlap_tokens),
            embedder=retrieval.embedder,
            sentences=sentences_of if retrieval.sentence_vectors else None,
        )
        self.graph = KnowledgeGraph(
            store, actor=self.actor, artifacts=root / STATE_DIR / "artifacts", index=self.index
        )
        self.policies = PolicyRegistry(
            store,
            actor=self.actor,
            embedder=lambda: self.models.embedder("default"),
            models=lambda: self.models,
            stored_vectors=self.index.stored_vectors,
            label_cache_ttl_s=settings.prompts.label_cache_ttl_s,
        )
        self.reviews = ReviewQueue(store, actor=self.actor, pending=self.policies.flags.flush)
        self.datasets = DatasetRegistry(
            store, actor=self.actor, label_cache_ttl_s=settings.prompts.label_cache_ttl_s
        )
        self.training_sets = TrainingSets(
            store, actor=self.actor, label_cache_ttl_s=settings.prompts.label_cache_ttl_s
        )
        self.finetune = FineTuning(
            store,
            actor=self.actor,
            root=root,
            artifacts=root / STATE_DIR / "artifacts",
            training_sets=self.training_sets,
            versions=self.model_versions,
            model_config=self.models.config,
        )
        self.evals = EvalRuns(
            store,
            actor=self.actor,
            datasets=self.datasets,
            resolve=self.resolve_target,
            answer=self.run,
            scorer=self.scorer,
        )
        self.releases = ReleaseRegistry(
            store,
            actor=self.actor,
            resolvers=PinResolvers(
                prompt=lambda ref: self.prompts.get(ref).ref,
                policy=lambda ref: self.policies.get(ref).ref,
                snapshot=lambda ref: self.index.get(ref).id,
                graph=lambda ref: self.graph.get(ref).id,
                model=self.models.check_reference,
            ),
            label_cache_ttl_s=settings.prompts.label_cache_ttl_s,
        )
        self.promotions = Promotions(
            store,
            releases=self.releases,
            evals=self.evals,
            gates=settings.promotion.gates,
            actor=self.actor,
        )
        self.canaries = Canaries(
            store,
            releases=self.releases,
            actor=self.actor,
            gated=lambda name, label: self.promotions.gate_of(name, label) is not None,
            cache_ttl_s=settings.prompts.label_cache_ttl_s,
        )
        rails = settings.guardrails
        self.guarded = GuardedRunner(
            self.runner, overlap=rails.overlap, prepare_answers=rails.prepare_answers
        )
        self.traces = TraceLog(
            store, sinks=configured_sinks(settings.tracing), journal=root / STATE_DIR / "journal"
        )
        self.monitor = Monitor(store, flush=self.traces.flush)
        self.drift = DriftCheck(
            store,
            settings.drift,
            flush=self.traces.flush,
            texts=self.traces,
            embedder=self.models.embedder,
            eval_traces=self._eval_trace_ids,
        )
        self.feedback = FeedbackLog(store, actor=self.actor, trace=self.traces.get)
        self.alerts = AlertEngine(
            store,
            self.monitor,
            settings.alerts.rules,
            WebhookNotifier(settings.alerts.webhooks),
            serving=self._serving_release,
        )
        self.keys = KeyRing(store, actor=self.actor, cache_ttl_s=settings.prompts.label_cache_ttl_s)
        self.requests = RequestRunner(
            runner=self.runner,
            guarded=self.guarded,
            search=lambda snapshot, query, options: self.search(
                query, snapshot=snapshot, options=options
            ),
            facts=lambda graph, question: self.graph.facts_context(question, ref=graph),
            policy=self.policies.load,
            search_defaults=self.default_search_options,
            accepts=self.prompts.accepts_variable,
            check_variables=self.prompts.check_variables,
            record=self.traces.record,
        )
        self.advisor = Advisor(
            evals=self.evals,
            datasets=self.datasets,
            releases=self.releases,
            traces=self.traces,
            versions=self.model_versions,
            index=self.index,
            sources=self.sources,
        )

    def search(
        self, query: str, *, snapshot: str | None = None, options: SearchOptions | None = None
    ) -> list[SearchHit]:
        """Search a snapshot (default: the newest) for `query`."""
        opened = self.index.open(snapshot)
        embedder = self.models.embedder(opened.meta.get("embedder_ref", "default"))
        return search(opened, embedder, query, options or self.default_search_options())

    def default_search_options(self, **overrides: Any) -> SearchOptions:
        """Search options from `[retrieval]`, with `overrides` applied."""
        retrieval = self.settings.retrieval
        defaults: dict[str, Any] = {
            "rrf_k": retrieval.rrf_k,
            "candidates": retrieval.candidates,
            "stale": retrieval.stale,
        }
        return SearchOptions(**{**defaults, **overrides})

    def run_prompt(
        self,
        ref: str,
        variables: Mapping[str, Any],
        *,
        model: str | None = None,
        params: ChatParams | None = None,
    ) -> RunResult:
        """Render a prompt version and call its model (or `model`): the answer and its costs."""
        return self.runner.run(ref, variables, model=model, params=params)

    def run(
        self, target: str, variables: Mapping[str, Any], *, parent: TraceParent | None = None
    ) -> Answer:
        """One request through the whole path of a deployment (`support-bot@production`), a
        release (id or `NAME@VERSION`) or a prompt (`prompt:NAME@REF`, or a name no release
        has): rails, retrieval, facts, the model, citations, confidence. `parent` is the
        caller's distributed trace, where the request belongs to one."""
        return self.requests.run(self.resolve_target(target), variables, parent=parent)

    def stream(
        self, target: str, variables: Mapping[str, Any], *, parent: TraceParent | None = None
    ) -> Streamed:
        """`run`, with the checked answer text released as it is generated (`Streamed`:
        the trace id and release at once, then text deltas and the Answer)."""
        return self.requests.stream(self.resolve_target(target), variables, parent=parent)

    def _eval_trace_ids(self, run_id: str) -> list[str]:
        """The traces an evaluation run's items left (a drift check's reference)."""
        return [r.trace_id for r in self.evals.report(run_id).results if r.trace_id]

    def _serving_release(self, deployment: str) -> str | None:
        """`NAME@VERSION (id)` of what a deployment serves now, None if it serves nothing."""
        try:
            found = self.releases.target(deployment)
        except SteerwiseError:
            return None
        return None if found is None else f"{found.ref} ({release_id(found)})"

    def resolve_target(self, target: str) -> Target:
        """What `target` names, as a release to serve (a prompt becomes a release of itself)."""
        prompt_ref = target.removeprefix("prompt:")
        canary = self.canaries.pick(target) if prompt_ref == target else None
        if canary is not None:
            found: Release | None = self.releases.find(canary)
        else:
            found = None if prompt_ref != target else self.releases.target(target)
        if found is not None:
            return Target(target, found.ref, release_id(found), found.spec)
        version = self.prompts.get(prompt_ref)
        return Target(
            target, f"prompt:{version.ref}", "", ReleaseSpec(name=version.name, prompt=version.ref)
        )

    def run_guarded(
        self,
        ref: str,
        variables: Mapping[str, Any],
        *,
        policy: str,
        context: CheckContext | None = None,
        model: str | None = None,
        params: ChatParams | None = None,
    ) -> GuardedResult:
        """`run` behind the policy `policy` names: inputs and answer checked, decisions kept."""
        return self.guarded.run(
            ref,
            variables,
            policy=self.policies.load(policy),
            context=context,
            model=model,
            params=params,
        )

    def build_training_set(
        self,
        name: str,
        *,
        datasets: Sequence[str] = (),
        queues: Sequence[str] = (),
        prompt: str | None = None,
        release: str | None = None,
        options: BuildOptions | None = None,
        description: str = "",
    ) -> PushResult:
        """A new version of training set `name` from dataset versions and review queues.
        Each item is rendered by `prompt`, or by the release (or deployment) `release` with
        the context it retrieves, the answer citing its passage (retrieval-augmented rows);
        by default its question is the user message."""
        sources = gather(
            self.datasets,
            datasets,
            reviews=lambda queue: self.reviews.dataset_items(queue=queue),
            queues=queues,
        )
        options = options or BuildOptions()
        if release is not None:
            options = self._release_rendering(release, options)
        elif prompt is not None:
            pinned = self.prompts.get(prompt).ref
            options = replace(
                options,
                prompt=pinned,
                render=lambda item: Rendered(self.prompts.render(pinned, item.variables).messages),
            )
        return self.training_sets.build(name, sources, options, description=description)

    def _release_rendering(self, release: str, options: BuildOptions) -> BuildOptions:
        target = self.resolve_target(release)

        def render(item: DatasetItem) -> Rendered:
            messages, hits = self.requests.messages(target, item.variables)
            return Rendered(messages, tuple(hit.doc_id for hit in hits))

        return replace(
            options,
            render=render,
            prompt=target.spec.prompt,
            snapshot=target.spec.snapshot,
            cite=True,
        )

    def model_eval_runs(self, ref: str) -> list[str]:
        """The eval runs (newest first) whose release pinned the registered model `ref`."""
        pinned = self.model_versions.find(ref).ref
        found = []
        for info in self.evals.runs(limit=10_000):
            try:
                model = self.releases.get(info.release).spec.model
            except BadInputError:  # a prompt target, or a release of another kind
                continue
            if model == pinned:
                found.append(info.id)
        return found

    def scorer(self, name: str, settings: Mapping[str, Any] | None = None) -> Scorer:
        """The evaluation scorer `name` with `settings`, on this workspace's embedder and
        policies (`steerwise.evals.scorers`; docs/evals.md lists them)."""
        services = ScorerServices(
            embedder=lambda: self.models.embedder("default"),
            policy=self.policies.load,
            ask=lambda ref, variables, model: self.runner.run(ref, variables, model=model).answer,
        )
        return build_scorer(name, settings, services)

    def review_regressions(
        self, baseline: str, candidate: str, *, queue: str, required_reviews: int = 1
    ) -> int:
        """Queue for review every item that regressed from run `baseline` to `candidate`."""
        comparison = self.evals.compare(baseline, candidate)
        report = self.evals.report(candidate)
        items = self.datasets.get(report.run.dataset).spec.items
        rows = from_regressions(
            comparison, report, items, queue=queue, required_reviews=required_reviews
        )
        return self.reviews.enqueue(rows)

    def import_promptfoo(
        self, config: str | Path, *, dataset: str, prompts_dir: str | Path = "prompts"
    ) -> Imported:
        """A promptfoo configuration as prompt files (pushed), a dataset and scorer specs
        (`steerwise.evals.promptfoo`)."""
        return import_promptfoo(
            config,
            dataset=dataset,
            folder=self.root / prompts_dir,
            push_prompts=lambda files: [result.ref for result in self.prompts.push(files)],
            import_items=lambda name, items, source: (
                self.datasets.import_items(name, items, source=source).ref
            ),
        )

    @classmethod
    def open(
        cls,
        path: Path | str | None = None,
        *,
        database_url: str | None = None,
        actor: str | None = None,
    ) -> Workspace:
        """Open the workspace at `path` (or found from the environment and cwd)."""
        root = find_root(path)
        settings = load_settings(root / CONFIG_FILE)
        url = database_url or environment.DATABASE_URL.get() or settings.store.url
        url = url or f"sqlite:///{root / STATE_DIR / DATABASE_FILE}"
        store = open_store(url)
        return cls(root, settings, store, actor=actor or default_actor(), store_url=url)

    @classmethod
    def init(
        cls,
        path: Path | str = ".",
        *,
        database_url: str | None = None,
        actor: str | None = None,
    ) -> Workspace:
        """Create a workspace folder; nothing is left behind if it fails."""
        root = Path(path).expanduser().resolve()
        if (root / CONFIG_FILE).exists():
            raise ConflictError(f"{root} is already a steerwise workspace")
        if database_url and urlsplit(database_url).password:
            raise BadInputError(
                "the database URL holds a password, which steerwise.toml must not store",
                hint="put the password in ~/.pgpass or PGPASSWORD, or set STEERWISE_DATABASE_URL",
            )
        created = [p for p in (root, root / STATE_DIR) if not p.exists()]
        try:
            (root / STATE_DIR / "artifacts").mkdir(parents=True, exist_ok=True)
            (root / STATE_DIR / ".gitignore").write_text("*\n", encoding="utf-8")
            config = initial_config(root.name, database_url)
            (root / CONFIG_FILE).write_text(config, encoding="utf-8")
            workspace = cls.open(root, database_url=database_url, actor=actor)
        except BaseException:
            (root / CONFIG_FILE).unlink(missing_ok=True)
            for folder in reversed(created):
                shutil.rmtree(folder, ignore_errors=True)
            raise
        workspace.record(AuditEntry("workspace.init", f"workspace:{root.name}", None, {}))
        return workspace

    def record(self, entry: AuditEntry) -> None:
        """Append an audit event on its own (for changes that have no other state)."""
        with self.store.write() as tx:
            AuditLog.record(tx, self.actor.name, entry)

    def store_traces_apart(self) -> None:
        """Store this workspace's traces, guardrail decisions and flags in a second process
        at idle priority from now on (`TraceLog.store_apart`): what `steerwise serve` does
        unless `[tracing] store_apart` is false."""
        self.traces.store_apart(self.root, self.store_url)
        self.policies.decisions.divert(DECISIONS, self.traces)
        self.policies.flags.divert(FLAGS, self.traces)

    def close(self) -> None:
        """Store queued decisions and traces; release the store's connections and snapshots."""
        self.guarded.close()
        self.policies.close()
        self.traces.close()
        self.index.close()
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
