"""`steerwise eval ...`: run a target over a dataset with scorers, resume, rescore, score
predictions made elsewhere, list and show runs."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from steerwise.cli.context import CliState, json_option, pass_state
from steerwise.cli.output import emit_json, emit_table, emit_text
from steerwise.core.evals import EvalReport, Score
from steerwise.evals.gates import junit_xml, read_rules
from steerwise.evals.runs import Progress

EXIT_GATE_FAILED = 1

scorer_option = click.option(
    "--scorer",
    "scorers",
    multiple=True,
    required=True,
    metavar="NAME[:key=value,...]",
    help="A scorer and its settings (repeat for more); docs/evals.md lists them.",
)
concurrency_option = click.option(
    "--concurrency", default=4, show_default=True, type=click.IntRange(1, 64)
)


@click.group(name="eval")
def eval_group() -> None:
    """Evaluate a deployment, release or prompt over a dataset, with scorers."""


@eval_group.command()
@click.option("--target", required=True, metavar="DEPLOYMENT|RELEASE|prompt:NAME@REF")
@click.option("--dataset", required=True, metavar="NAME[@VERSION|@LABEL]")
@scorer_option
@concurrency_option
@click.option("--no-reuse", is_flag=True, help="Ask the model even where an earlier run answered.")
@json_option
@pass_state
def run(
    state: CliState,
    *,
    target: str,
    dataset: str,
    scorers: tuple[str, ...],
    concurrency: int,
    no_reuse: bool,
    as_json: bool,
) -> None:
    """Answer every item through the whole request path (each leaves a trace) and score it."""
    with progress_bar() as progress:
        report = state.workspace().evals.run(
            target, dataset, scorers, concurrency=concurrency, reuse=not no_reuse, progress=progress
        )
    _emit(report, as_json)


@eval_group.command()
@click.argument("run_id", metavar="RUN")
@concurrency_option
@json_option
@pass_state
def resume(state: CliState, run_id: str, concurrency: int, as_json: bool) -> None:
    """Finish a run stopped by Ctrl-C or a crash (finished items are kept)."""
    with progress_bar() as progress:
        report = state.workspace().evals.resume(run_id, concurrency=concurrency, progress=progress)
    _emit(report, as_json)


@eval_group.command()
@click.argument("run_id", metavar="RUN")
@scorer_option
@json_option
@pass_state
def rescore(state: CliState, run_id: str, scorers: tuple[str, ...], as_json: bool) -> None:
    """Add scorers to a run from its stored answers (the model is not asked again)."""
    _emit(state.workspace().evals.rescore(run_id, scorers), as_json)


@eval_group.command()
@click.option("--predictions", required=True, type=click.Path(dir_okay=False), metavar="FILE")
@click.option("--dataset", required=True, metavar="NAME[@VERSION|@LABEL]")
@scorer_option
@json_option
@pass_state
def score(
    state: CliState, predictions: str, dataset: str, scorers: tuple[str, ...], as_json: bool
) -> None:
    """Score answers produced elsewhere (JSONL of {"id", "output"}) and record them as a run."""
    _emit(state.workspace().evals.score_predictions(predictions, dataset, scorers), as_json)


@eval_group.command(name="list")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_state
def list_runs(state: CliState, limit: int, as_json: bool) -> None:
    """Eval runs, newest first."""
    runs = state.workspace().evals.runs(limit=limit)
    if as_json:
        emit_json(runs)
        return
    emit_table(
        ["RUN", "CREATED", "STATUS", "TARGET", "DATASET", "SCORERS"],
        [
            (r.id[:12], r.created_at[:19], r.status, r.target, r.dataset, ", ".join(r.scorers))
            for r in runs
        ],
    )


@eval_group.command()
@click.argument("run_id", metavar="RUN")
@click.option("--items", "with_items", is_flag=True, help="Every item's answer and scores.")
@json_option
@pass_state
def show(state: CliState, run_id: str, with_items: bool, as_json: bool) -> None:
    """One run: its summary per scorer (and, with --items, each item)."""
    report = state.workspace().evals.report(run_id)
    if as_json:
        emit_json(report.to_dict(with_items=with_items))
        return
    _print_summary(report)
    if with_items:
        _print_items(report)


def _emit(report: EvalReport, as_json: bool) -> None:
    if as_json:
        emit_json(report.to_dict())
    else:
        _print_summary(report)


def _print_summary(report: EvalReport) -> None:
    run = report.run
    click.echo(f"eval run {run.id[:12]}  {run.status}  {run.target} over {run.dataset}")
    cached = sum(1 for result in report.results if result.cached)
    click.echo(
        f"{len(report.results)} of {report.item_count} items answered"
        f" ({report.failed_items} failed, {cached} reused from earlier runs)"
    )
    emit_table(
        ["SCORER", "MEAN", "PASS RATE", "SCORED", "ERRORS"],
        [
            (s.scorer, _figure(s.mean), _figure(s.pass_rate), s.scored, s.errors)
            for s in report.summary
        ],
    )


def _print_items(report: EvalReport) -> None:
    names = list(report.run.scorers)
    rows = []
    for result in report.results:
        verdicts = [result.scores.get(name) for name in names]
        shown = [
            f"{v.value:.2f}" if isinstance(v, Score) else ("error" if v else "-") for v in verdicts
        ]
        rows.append((result.item_id, result.error or result.output[:40], *shown))
    emit_table(["ITEM", "ANSWER", *names], rows)


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


@contextmanager
def progress_bar(label: str = "eval") -> Iterator[Progress]:
    """A progress bar on stderr (items done of the run), drawn by whichever thread finishes;
    a new bar for each run when several follow one another."""
    bar: Any = None  # click's ProgressBar, made when the total is known

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is not None and (done < bar.pos or total != bar.length):
            bar.__exit__(None, None, None)
            bar = None
        if bar is None:
            bar = click.progressbar(length=total, label=label, file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


@eval_group.command(name="compare")
@click.argument("baseline", metavar="RUN_A")
@click.argument("candidate", metavar="RUN_B")
@click.option("--seed", default=0, show_default=True, help="Seed of the bootstrap.")
@click.option("--resamples", default=2000, show_default=True, type=click.IntRange(100, 1_000_000))
@click.option("--regressions", "shown", default=10, show_default=True, type=click.IntRange(0))
@json_option
@pass_state
def compare_runs(
    state: CliState,
    baseline: str,
    candidate: str,
    *,
    seed: int,
    resamples: int,
    shown: int,
    as_json: bool,
) -> None:
    """Run B against run A, item by item: differences with 95% intervals, McNemar's test,
    slices by tag, and the items that regressed."""
    found = state.workspace().evals.compare(baseline, candidate, seed=seed, resamples=resamples)
    if as_json:
        emit_json(found.to_dict())
        return
    click.echo(f"{found.candidate[:12]} against {found.baseline[:12]} over {found.dataset}")
    emit_table(
        ["SCORER", "A", "B", "DELTA", "95% INTERVAL", "W/T/L", "MCNEMAR P", "REAL"],
        [
            (
                m.scorer,
                f"{m.baseline:.3f}",
                f"{m.candidate:.3f}",
                f"{m.delta:+.3f}",
                f"[{m.low:+.3f}, {m.high:+.3f}]",
                f"{m.wins}/{m.ties}/{m.losses}",
                f"{m.mcnemar_p:.3g}",
                "yes" if m.significant else "no",
            )
            for m in found.metrics
        ],
    )
    for metric in found.metrics:
        for piece in metric.slices:
            delta = piece.candidate - piece.baseline
            click.echo(f"  {metric.scorer} [{piece.tag}] ({piece.items}): {delta:+.3f}")
    for regression in found.regressions[:shown]:
        click.echo(
            f"regressed {regression.item_id} on {regression.scorer}:"
            f" {regression.baseline:.3f} -> {regression.candidate:.3f}"
        )
        click.echo(f"  A: {regression.baseline_output[:100]}")
        click.echo(f"  B: {regression.candidate_output[:100]}")


@eval_group.command()
@click.option("--baseline", required=True, metavar="RUN|DEPLOYMENT|RELEASE")
@click.option("--candidate", required=True, metavar="RUN")
@click.option("--rule", "rules", multiple=True, metavar="RULE", help='e.g. "f1>=0.6"; repeat.')
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False), help="One rule per line.")
@click.option("--junit", type=click.Path(dir_okay=False), help="Write JUnit XML here for CI.")
@json_option
@pass_state
def gate(
    state: CliState,
    *,
    baseline: str,
    candidate: str,
    rules: tuple[str, ...],
    rules_file: str | None,
    junit: str | None,
    as_json: bool,
) -> None:
    """Check rules on a candidate run against a baseline; exit 0 pass, 1 fail."""
    every = [*rules, *(read_rules(rules_file) if rules_file else [])]
    result = state.workspace().evals.gate(baseline, candidate, every)
    if junit:
        with click.open_file(junit, "w", encoding="utf-8", atomic=True) as handle:
            handle.write(junit_xml(result))
    if as_json:
        emit_json(result.to_dict())
    else:
        for found in result.results:
            mark = "pass" if found.passed else "FAIL"
            click.echo(f"{mark}  {found.rule.text}  ({found.rule.metric} = {found.value:.4f})")
        click.echo("gate passed" if result.passed else "gate failed")
    if not result.passed:
        sys.exit(EXIT_GATE_FAILED)


@eval_group.command()
@click.argument("run_id", metavar="RUN")
@click.option("--baseline", metavar="RUN|DEPLOYMENT|RELEASE", help="Compare against this.")
@click.option("--format", "form", type=click.Choice(["html", "markdown"]), default="html")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write here, not stdout.")
@pass_state
def report(
    state: CliState, run_id: str, baseline: str | None, form: str, output: str | None
) -> None:
    """A run's report: HTML (tables and plots) or Markdown (for a pull-request comment)."""
    text = state.workspace().evals.render(run_id, baseline=baseline, form=form)
    emit_text(text, output, what=f"the {form} report")


@eval_group.command(name="import-promptfoo")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--dataset", required=True, metavar="NAME", help="The dataset the tests become.")
@click.option("--prompts-dir", default="prompts", show_default=True, help="Where prompts go.")
@json_option
@pass_state
def import_promptfoo(
    state: CliState, config: str, dataset: str, prompts_dir: str, as_json: bool
) -> None:
    """A promptfoo configuration as prompts, a dataset and scorers; says what did not map."""
    found = state.workspace().import_promptfoo(config, dataset=dataset, prompts_dir=prompts_dir)
    if as_json:
        emit_json(found.to_dict())
        return
    click.echo(f"prompts: {', '.join(found.prompts)}")
    click.echo(f"dataset: {found.dataset} ({found.items} items)")
    scorers = " ".join(f"--scorer '{spec}'" for spec in found.scorers)
    click.echo(f"scorers: {scorers or '(none)'}")
    for what, count in found.unmapped.items():
        click.echo(f"not mapped: {what} ({count}x)")
    if found.prompts and found.scorers:
        click.echo(
            f"run it: steerwise eval run --target prompt:{found.prompts[0]}"
            f" --dataset {found.dataset} {scorers}"
        )
