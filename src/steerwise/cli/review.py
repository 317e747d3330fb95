"""`steerwise review ...`: queues, the next item, verdicts, agreement, and filling queues."""

from __future__ import annotations

import json

import click

from steerwise.cli.context import CliState, json_option, pass_state
from steerwise.cli.output import emit_json, emit_table
from steerwise.review.fill import TraceRule
from steerwise.review.queue import VERDICTS


@click.group()
def review() -> None:
    """Items waiting for a person: guardrail flags, low-confidence and sampled requests,
    regressed eval items; verdicts, corrections and agreement."""


@review.command(name="list")
@click.option("--status", default="open", show_default=True, help="Status to show; 'all' for any.")
@click.option("--queue", help="Only this queue.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_state
def list_reviews(
    state: CliState, status: str, queue: str | None, limit: int, as_json: bool
) -> None:
    """Review items, newest first."""
    chosen = None if status == "all" else status
    items = state.workspace().reviews.items(status=chosen, limit=limit, queue=queue)
    if as_json:
        emit_json(items)
        return
    emit_table(
        ["ID", "CREATED", "QUEUE", "ORIGIN", "SUBJECT", "REASON", "STATUS"],
        [
            (i.id, i.created_at[:19], i.queue, i.origin, i.subject, i.reason, i.status)
            for i in items
        ],
    )


@review.command()
@json_option
@pass_state
def queue(state: CliState, as_json: bool) -> None:
    """Every queue with its open and done items."""
    queues = state.workspace().reviews.queues()
    if as_json:
        emit_json(queues)
        return
    emit_table(["QUEUE", "OPEN", "DONE"], [(q.queue, q.open, q.done) for q in queues])


@review.command(name="next")
@click.argument("queue_name", metavar="QUEUE")
@json_option
@pass_state
def next_item(state: CliState, queue_name: str, as_json: bool) -> None:
    """The oldest open item of QUEUE you have not judged yet."""
    found = state.workspace().reviews.next(queue_name)
    if as_json:
        emit_json(found)
        return
    if found is None:
        click.echo(f"nothing left to review in {queue_name}")
        return
    click.echo(f"review item {found.id} ({found.origin}, {found.reason})")
    for key in ("variables", "reference", "baseline_output", "output", "text"):
        if key in found.payload:
            value = found.payload[key]
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            click.echo(f"  {key}: {shown}")
    click.echo(f"submit: steerwise review submit {found.id} --verdict approve|reject|correct")


@review.command()
@click.argument("item_id", metavar="ITEM", type=int)
@click.option("--verdict", required=True, type=click.Choice(VERDICTS))
@click.option("--correction", help="The right answer (with --verdict correct).")
@click.option("--score", "scores", multiple=True, metavar="NAME=N", help="A rubric score 0-10.")
@click.option("--note", default="", help="Why.")
@json_option
@pass_state
def submit(
    state: CliState,
    item_id: int,
    *,
    verdict: str,
    correction: str | None,
    scores: tuple[str, ...],
    note: str,
    as_json: bool,
) -> None:
    """Your verdict on a review item (audited)."""
    rubric = dict(_score(text) for text in scores)
    found = state.workspace().reviews.submit(
        item_id, verdict, correction=correction, rubric=rubric, note=note
    )
    if as_json:
        emit_json(found)
        return
    click.echo(f"review item {item_id}: {verdict} by {found.reviewer}")


@review.command()
@click.option("--queue", help="Only this queue.")
@json_option
@pass_state
def stats(state: CliState, queue: str | None, as_json: bool) -> None:
    """Verdicts per reviewer, and Cohen's kappa of each pair of reviewers."""
    found = state.workspace().reviews.stats(queue=queue)
    if as_json:
        emit_json(found)
        return
    click.echo(
        ", ".join(f"{name} {count}" for name, count in found.verdicts.items()) or "no verdicts"
    )
    emit_table(
        ["REVIEWER", *VERDICTS],
        [
            (name, *(counts.get(v, 0) for v in VERDICTS))
            for name, counts in found.by_reviewer.items()
        ],
    )
    for pair in found.agreement:
        kappa = "-" if pair.kappa is None else f"{pair.kappa:.3f}"
        click.echo(f"kappa {pair.first} / {pair.second}: {kappa} over {pair.items} items")


@review.command()
@click.option("--queue", "queue_name", required=True, metavar="QUEUE")
@click.option("--deployment", required=True, metavar="TARGET")
@click.option("--since", metavar="TIME")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--confidence-below", type=click.FloatRange(0, 1), help="Queue answers below this.")
@click.option("--sample", type=click.FloatRange(0, 1, min_open=True), help="Queue this share.")
@click.option("--seed", default=0, show_default=True)
@click.option("--reviews", "required", default=1, show_default=True, type=click.IntRange(1, 10))
@json_option
@pass_state
def fill(
    state: CliState,
    *,
    queue_name: str,
    deployment: str,
    since: str | None,
    limit: int,
    confidence_below: float | None,
    sample: float | None,
    seed: int,
    required: int,
    as_json: bool,
) -> None:
    """Queue a deployment's low-confidence answers and/or a random share of its requests."""
    workspace = state.workspace()
    traces = workspace.traces.items(target=deployment, since=since, limit=limit)
    rule = TraceRule(confidence_below, sample, seed, required)
    count = workspace.reviews.fill_from_traces(traces, queue=queue_name, rule=rule)
    _queued(queue_name, count, as_json)


@review.command(name="fill-regressions")
@click.argument("baseline", metavar="RUN_A")
@click.argument("candidate", metavar="RUN_B")
@click.option("--queue", "queue_name", required=True, metavar="QUEUE")
@click.option("--reviews", "required", default=1, show_default=True, type=click.IntRange(1, 10))
@json_option
@pass_state
def fill_regressions(
    state: CliState, baseline: str, candidate: str, *, queue_name: str, required: int, as_json: bool
) -> None:
    """Queue every item that regressed from run A to run B, with both answers."""
    count = state.workspace().review_regressions(
        baseline, candidate, queue=queue_name, required_reviews=required
    )
    _queued(queue_name, count, as_json)


def _queued(queue_name: str, count: int, as_json: bool) -> None:
    if as_json:
        emit_json({"queue": queue_name, "queued": count})
    else:
        click.echo(f"queued {count} items in {queue_name}")


def _score(text: str) -> tuple[str, int]:
    name, equals, value = text.partition("=")
    if not equals or not name.strip() or not value.strip().lstrip("-").isdigit():
        raise click.BadParameter(f"{text!r} is not NAME=N", param_hint="--score")
    return name.strip(), int(value)
