"""`steerwise dataset ...`: import, list, show, diff, export, label and history of datasets."""

from __future__ import annotations

import click

from steerwise.cli.context import CliState, json_option, pass_state
from steerwise.cli.output import emit_json, emit_table, emit_text, short_hash
from steerwise.cli.versioned import add_versioned_commands
from steerwise.core.guardrails import ACTIONS
from steerwise.evals.datasets import export_lines

OUTCOMES = ("allow", *ACTIONS)


@click.group()
def dataset() -> None:
    """Versioned evaluation datasets: import from JSONL or CSV, show, diff, export."""


add_versioned_commands(
    dataset, "dataset", lambda workspace: workspace.datasets, only=("list", "label", "history")
)


@dataset.command(name="import")
@click.argument("name")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--description", default="", help="What the dataset is for.")
@json_option
@pass_state
def import_file(state: CliState, name: str, file: str, description: str, as_json: bool) -> None:
    """Import FILE (.jsonl or .csv) as a new version of NAME; all or nothing."""
    result = state.workspace().datasets.import_file(name, file, description=description)
    if as_json:
        emit_json(result)
        return
    count = len(state.workspace().datasets.get(result.ref).spec.items)
    click.echo(f"{result.ref}  {result.status}  ({count} items from {result.source})")


@dataset.command()
@click.argument("ref", metavar="NAME[@VERSION|@LABEL]")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(0, 1_000_000))
@json_option
@pass_state
def show(state: CliState, ref: str, limit: int, as_json: bool) -> None:
    """One version: where it came from, and its first items."""
    registry = state.workspace().datasets
    found = registry.find(ref)
    labels = registry.describe(ref)["labels"]
    items = found.spec.items
    if as_json:
        emit_json(
            {
                "ref": found.ref,
                "hash": found.hash,
                "labels": labels,
                "source": found.source,
                "created_at": found.created_at,
                "created_by": found.created_by,
                "description": found.spec.description,
                "item_count": len(items),
                "items": [item.model_dump(mode="json") for item in items[:limit]],
            }
        )
        return
    click.echo(f"{found.ref}  hash {short_hash(found.hash)}  labels: {', '.join(labels) or '-'}")
    click.echo(f"{len(items)} items, imported {found.created_at[:19]} by {found.created_by}")
    click.echo(f"from {found.source}")
    emit_table(
        ["ID", "VARIABLES", "REFERENCE", "TAGS"],
        [
            (
                item.id,
                ", ".join(item.variables)[:40],
                " | ".join(item.references)[:50] or "-",
                ", ".join(item.tags) or "-",
            )
            for item in items[:limit]
        ],
    )
    if len(items) > limit:
        click.echo(f"... and {len(items) - limit} more (--limit)")


@dataset.command()
@click.argument("old", metavar="NAME@A")
@click.argument("new", metavar="NAME@B")
@json_option
@pass_state
def diff(state: CliState, old: str, new: str, as_json: bool) -> None:
    """Items added, removed and changed (by id) from one version to another."""
    found = state.workspace().datasets.item_diff(old, new)
    if as_json:
        emit_json(found.to_dict())
        return
    counts = (
        f"{len(found.added)} added, {len(found.removed)} removed,"
        f" {len(found.changed)} changed, {found.unchanged} unchanged"
    )
    click.echo(f"{found.old} -> {found.new}: {counts}")
    for sign, ids in (("+", found.added), ("-", found.removed), ("~", found.changed)):
        for item_id in ids:
            click.echo(f"{sign} {item_id}")


@dataset.command()
@click.argument("ref", metavar="NAME[@VERSION|@LABEL]")
@click.option("--format", "form", type=click.Choice(["jsonl", "csv"]), default="jsonl")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write here, not stdout.")
@pass_state
def export(state: CliState, ref: str, form: str, output: str | None) -> None:
    """Write a version's items as JSONL (every field) or CSV."""
    items = state.workspace().datasets.find(ref).spec.items
    lines = list(export_lines(items, form))
    emit_text("\n".join(lines) + "\n", output, what=f"{len(items)} items")


@dataset.command(name="from-traces")
@click.argument("name")
@click.option("--deployment", required=True, metavar="TARGET", help="bot@production, bot@2, bot")
@click.option("--since", metavar="TIME", help="Only traces from this time on (ISO 8601).")
@click.option(
    "--outcome",
    type=click.Choice(["allow", "block", "redact", "reask", "fallback", "flag", "error"]),
)
@click.option("--status", type=click.Choice(["ok", "error"]))
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--with-outputs", is_flag=True, help="The answers become the references.")
@json_option
@pass_state
def from_traces(
    state: CliState,
    name: str,
    *,
    deployment: str,
    since: str | None,
    outcome: str | None,
    status: str | None,
    limit: int,
    with_outputs: bool,
    as_json: bool,
) -> None:
    """Turn stored requests (newest LIMIT, filtered) into a new version of NAME."""
    workspace = state.workspace()
    traces = workspace.traces.items(target=deployment, since=since, limit=limit)
    result = workspace.datasets.import_traces(
        name,
        traces,
        source=f"traces of {deployment}",
        outcome=outcome,
        status=status,
        with_outputs=with_outputs,
    )
    if as_json:
        emit_json(result)
        return
    count = len(workspace.datasets.get(result.ref).spec.items)
    click.echo(f"{result.ref}  {result.status}  ({count} items from {result.source})")


@dataset.command(name="from-reviews")
@click.argument("name")
@click.option("--queue", help="Only this review queue.")
@json_option
@pass_state
def from_reviews(state: CliState, name: str, queue: str | None, as_json: bool) -> None:
    """Reviewed requests with a settled answer (a correction, or an approved answer) as a new
    version of NAME."""
    workspace = state.workspace()
    items = workspace.reviews.dataset_items(queue=queue)
    result = workspace.datasets.import_items(name, items, source=f"reviews of {queue or 'all'}")
    if as_json:
        emit_json(result)
        return
    click.echo(f"{result.ref}  {result.status}  ({len(items)} items from {result.source})")
