"""`steerwise advise ...`: which lever (prompt, retrieval, fine-tune, both) for a task."""

from __future__ import annotations

from pathlib import Path

import click

from steerwise.advisor.comparison import DEFAULT_SCORER, STRATEGIES, CompareRequest, StrategyParts
from steerwise.advisor.decision import Decision
from steerwise.advisor.profile import CHANGES, Profile, recommend
from steerwise.advisor.report import render_decision
from steerwise.cli.context import CliState, json_option, pass_state
from steerwise.cli.evals import progress_bar
from steerwise.cli.output import emit_json, emit_table
from steerwise.core.errors import BadInputError


@click.group()
def advise() -> None:
    """Prompt, retrieval or fine-tuning? Decided from a profile, then from measurements."""


@advise.command()
@click.option(
    "--knowledge-changes", type=click.Choice(CHANGES), prompt="How often does the knowledge change"
)
@click.option("--requests-per-day", type=click.IntRange(0), prompt="Requests per day")
@click.option("--latency-budget-ms", type=click.IntRange(1), prompt="Latency budget (ms)")
@click.option("--labelled-examples", type=click.IntRange(0), prompt="Labelled examples available")
@click.option("--regulated/--not-regulated", prompt="Regulated (answers must cite sources)")
@click.option(
    "--behaviour",
    type=click.Choice(["stable", "evolving"]),
    prompt="Is the wanted behaviour stable or still evolving",
)
@click.option("--private-knowledge/--no-private-knowledge", default=True, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Write the signable checklist here.")
@json_option
def profile(
    *,
    knowledge_changes: str,
    requests_per_day: int,
    latency_budget_ms: int,
    labelled_examples: int,
    regulated: bool,
    behaviour: str,
    private_knowledge: bool,
    out: str | None,
    as_json: bool,
) -> None:
    """Recommend a lever from the task's profile (asks for what no flag gives)."""
    answers = Profile(
        knowledge_changes,  # type: ignore[arg-type]
        requests_per_day,
        latency_budget_ms,
        labelled_examples,
        regulated,
        behaviour,  # type: ignore[arg-type]
        private_knowledge,
    )
    advice = recommend(answers)
    if out:
        Path(out).write_text(advice.markdown(answers), encoding="utf-8")
    if as_json:
        emit_json({"profile": vars(answers), **advice.to_dict()})
        return
    click.echo(f"recommendation: {advice.strategy}")
    for reason in advice.reasons:
        click.echo(f"  - {reason}")
    click.echo("checklist:")
    for item in advice.checklist:
        click.echo(f"  [ ] {item}")
    if out:
        click.echo(f"wrote {out} (sign it after review)")


@advise.command()
@click.option("--dataset", required=True, metavar="NAME[@V]", help="The held-out dataset.")
@click.option("--candidate", "candidates", multiple=True, metavar="NAME=RELEASE")
@click.option(
    "--strategies", metavar="LIST", help=f"Build releases for some of {','.join(STRATEGIES)}."
)
@click.option("--prompt", metavar="NAME[@REF]", help="With --strategies: the prompt.")
@click.option("--snapshot", default="latest", show_default=True, help="With --strategies.")
@click.option("--model", metavar="NAME@V", help="With --strategies: the fine-tuned model.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Release parameter.")
@click.option(
    "--scorer",
    "scorers",
    multiple=True,
    help=f"Repeatable; the first is accuracy ({DEFAULT_SCORER}).",
)
@click.option("--seed", default=0, show_default=True)
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--out", type=click.Path(dir_okay=False), help="Write the report (.html or .md).")
@json_option
@pass_state
def compare(
    state: CliState,
    *,
    dataset: str,
    candidates: tuple[str, ...],
    strategies: str | None,
    prompt: str | None,
    snapshot: str,
    model: str | None,
    params: tuple[str, ...],
    scorers: tuple[str, ...],
    seed: int,
    concurrency: int,
    out: str | None,
    as_json: bool,
) -> None:
    """Run the held-out dataset through each candidate and write the decision report."""
    workspace = state.workspace()
    named = dict(_pair(text, "--candidate") for text in candidates)
    if strategies:
        if not prompt:
            raise BadInputError("--strategies needs --prompt NAME[@REF]")
        parts = StrategyParts(prompt, snapshot, model, dict(_pair(p, "--param") for p in params))
        chosen = [name.strip() for name in strategies.split(",") if name.strip()]
        named.update(workspace.advisor.strategy_releases(chosen, parts))
    request = CompareRequest(dataset, named, scorers or (DEFAULT_SCORER,), seed, concurrency)
    with progress_bar("advise") as progress:
        decision = workspace.advisor.compare(request, progress=None if as_json else progress)
    if out:
        form = "md" if out.endswith(".md") else "html"
        Path(out).write_text(render_decision(decision, form=form), encoding="utf-8")
    if as_json:
        emit_json(decision.to_dict())
        return
    _print(decision)
    if out:
        click.echo(f"wrote {out}")


def _pair(text: str, option: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise BadInputError(f"{option} {text!r}: expected NAME=VALUE")
    return name.strip(), value.strip()


def _print(decision: Decision) -> None:
    emit_table(
        ["CANDIDATE", "ACCURACY", "95% CI", "P50", "P95", "TOKENS", "COST/1K", "CHANGE"],
        [
            (
                c.name,
                f"{c.accuracy.value:.1%}",
                f"[{c.accuracy.low:.1%}, {c.accuracy.high:.1%}]",
                "-" if c.latency_p50_ms is None else f"{c.latency_p50_ms:.0f} ms",
                "-" if c.latency_p95_ms is None else f"{c.latency_p95_ms:.0f} ms",
                f"{c.input_tokens:.0f}/{c.output_tokens:.0f}",
                f"${c.cost_per_1000_usd:.4f}",
                c.change,
            )
            for c in decision.candidates
        ],
    )
    click.echo(f"recommendation: {decision.recommendation}")
    for reason in decision.reasons:
        click.echo(f"  - {reason}")
