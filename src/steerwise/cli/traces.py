"""`steerwise traces list|show|feedback|replay|export`."""

from __future__ import annotations

import click

from steerwise.cli.context import CliState, json_option, pass_state
from steerwise.cli.output import emit_json, emit_table
from steerwise.core.errors import BadInputError
from steerwise.core.traces import Span


@click.group()
def traces() -> None:
    """Every request as a tree of timed steps, with the versions it used."""


@traces.command(name="list")
@click.option("--deployment", metavar="TARGET", help="A deployment, release or release name.")
@click.option("--since", metavar="TIME", help="Only traces from TIME on (ISO 8601).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@json_option
@pass_state
def list_traces(
    state: CliState, deployment: str | None, since: str | None, limit: int, as_json: bool
) -> None:
    """Traces, newest first."""
    found = state.workspace().traces.items(target=deployment, since=since, limit=limit)
    if as_json:
        emit_json([trace.to_dict() for trace in found])
        return
    emit_table(
        ["ID", "CREATED", "TARGET", "RELEASE", "OUTCOME", "MS"],
        [
            (t.id[:12], t.created_at[:19], t.target, t.release, t.outcome, f"{t.latency_ms:.0f}")
            for t in found
        ],
    )


@traces.command()
@click.argument("trace_id", metavar="ID")
@click.option("--up", "rating", flag_value=1.0, type=float, help="A good answer (score 1).")
@click.option("--down", "rating", flag_value=0.0, type=float, help="A bad answer (score 0).")
@click.option("--score", type=float, metavar="S", help="A score from 0 (bad) to 1 (good).")
@click.option("--comment", default="", help="What was good or wrong (scrubbed when stored).")
@json_option
@pass_state
def feedback(
    state: CliState,
    trace_id: str,
    *,
    rating: float | None,
    score: float | None,
    comment: str,
    as_json: bool,
) -> None:
    """Rate the answer of trace ID (id or unique prefix); counted in monitor show."""
    value = score if score is not None else rating
    if value is None:
        raise BadInputError("say how good the answer was", hint="give --up, --down or --score S")
    found = state.workspace().feedback.add(trace_id, value, comment)
    if as_json:
        emit_json(found.to_dict())
        return
    click.echo(f"feedback {found.id[:12]} on trace {found.trace_id}: score {found.score:g}")


@traces.command()
@click.argument("trace_id", metavar="ID")
@json_option
@pass_state
def show(state: CliState, trace_id: str, as_json: bool) -> None:
    """One trace: its input and output (redacted) and its steps as a tree."""
    trace = state.workspace().traces.get(trace_id)
    if as_json:
        emit_json(trace.to_dict())
        return
    click.echo(f"trace {trace.id}  {trace.created_at[:19]}  {trace.target} -> {trace.release}")
    click.echo(f"outcome {trace.outcome} ({trace.status}), {trace.latency_ms:.0f} ms")
    click.echo(f"input:  {trace.input}")
    click.echo(f"output: {trace.output}")
    _print_span(trace.root, "")


@traces.command()
@click.argument("trace_id", metavar="ID")
@json_option
@pass_state
def replay(state: CliState, trace_id: str, as_json: bool) -> None:
    """Run a trace's (redacted) input again on the same release; show what changed."""
    workspace = state.workspace()
    old = workspace.traces.get(trace_id)
    again = workspace.run(old.release, old.input)
    new = workspace.traces.get(again.trace_id)
    same = new.output == old.output
    if as_json:
        emit_json({"same_output": same, "before": old.to_dict(), "after": new.to_dict()})
        return
    click.echo(f"replayed {old.id[:12]} on {old.release} as {new.id[:12]}")
    click.echo(f"outcome: {old.outcome} -> {new.outcome}")
    click.echo(
        "output: the same" if same else f"output was: {old.output}\noutput now: {new.output}"
    )


@traces.command()
@click.option("--format", "form", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
@click.option("--deployment", metavar="TARGET", help="A deployment, release or release name.")
@click.option("--since", metavar="TIME", help="Only traces from TIME on (ISO 8601).")
@pass_state
def export(state: CliState, form: str, deployment: str | None, since: str | None) -> None:
    """Every trace as one JSON line, oldest first."""
    for line in state.workspace().traces.export(target=deployment, since=since):
        click.echo(line)


def _print_span(span: Span, indent: str) -> None:
    shown = {k: v for k, v in span.attributes.items() if k not in ("chunks", "rails", "attempts")}
    error = f"  ERROR {span.error}" if span.error else ""
    click.echo(f"{indent}{span.name:<14} {span.duration_ms:9.1f} ms  {shown}{error}")
    for chunk in span.attributes.get("chunks", []):
        click.echo(
            f"{indent}    chunk {chunk['document']} {chunk['chunk_id'][:12]} {chunk['score']}"
        )
    for child in span.children:
        _print_span(child, indent + "  ")
