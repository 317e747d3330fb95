"""`steerwise prompt ...`: the versioned prompt library."""

from __future__ import annotations

import click

from steerwise.cli.context import CliState, json_option, pass_state
from steerwise.cli.output import emit_json, emit_table, short_hash
from steerwise.cli.variables import collect_variables
from steerwise.prompts.diffing import as_yaml


@click.group()
def prompt() -> None:
    """Push, list, show, diff, label, roll back and render prompts."""


@prompt.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@json_option
@pass_state
def push(state: CliState, paths: tuple[str, ...], as_json: bool) -> None:
    """Push prompt files (or folders of *.prompt.yaml); all or nothing."""
    results = state.workspace().prompts.push(paths)
    if as_json:
        emit_json(results)
        return
    for result in results:
        click.echo(f"{result.ref}  {result.status}  ({result.source})")


@prompt.command(name="list")
@json_option
@pass_state
def list_prompts(state: CliState, as_json: bool) -> None:
    """List prompts with their latest version and labels."""
    summaries = state.workspace().prompts.summaries()
    if as_json:
        emit_json(summaries)
        return
    emit_table(
        ["NAME", "LATEST", "LABELS", "UPDATED", "DESCRIPTION"],
        [
            (
                s.name,
                s.latest_version,
                ", ".join(f"{label}@{v}" for label, v in s.labels.items()) or "-",
                s.updated_at[:19],
                s.description[:50],
            )
            for s in summaries
        ],
    )


@prompt.command()
@click.argument("ref", metavar="NAME[@VERSION|@LABEL]")
@json_option
@pass_state
def show(state: CliState, ref: str, as_json: bool) -> None:
    """Show one version (default: the latest)."""
    prompts = state.workspace().prompts
    version = prompts.get(ref)
    labels = sorted(
        label for label, v in prompts.labels_of(version.name).items() if v == version.version
    )
    if as_json:
        emit_json({**vars(version), "spec": version.spec.content(), "labels": labels})
        return
    click.echo(
        f"{version.ref}  hash {short_hash(version.hash)}  labels: {', '.join(labels) or '-'}"
    )
    click.echo(f"pushed {version.created_at[:19]} by {version.created_by} from {version.source}")
    click.echo(as_yaml(version.spec.content()).rstrip())


@prompt.command()
@click.argument("old", metavar="NAME@A")
@click.argument("new", metavar="NAME@B")
@pass_state
def diff(state: CliState, old: str, new: str) -> None:
    """Unified diff of two versions' messages, variables and params."""
    text = state.workspace().prompts.diff(old, new)
    click.echo(text.rstrip() if text else f"{old} and {new} have the same content")


@prompt.command()
@click.argument("ref", metavar="NAME@VERSION")
@click.argument("label")
@json_option
@pass_state
def label(state: CliState, ref: str, label: str, as_json: bool) -> None:
    """Point LABEL at a version (audited)."""
    move = state.workspace().prompts.label(ref, label)
    if as_json:
        emit_json(move)
        return
    if move.kind == "unchanged":
        click.echo(f"{move.target}#{label} already points at version {move.to_version}")
        return
    click.echo(f"{move.target}#{label}: {move.from_version or '-'} -> {move.to_version}")


@prompt.command()
@click.argument("name")
@click.argument("label")
@json_option
@pass_state
def rollback(state: CliState, name: str, label: str, as_json: bool) -> None:
    """Move LABEL back to where it pointed before its latest move (audited)."""
    move = state.workspace().prompts.rollback(name, label)
    if as_json:
        emit_json(move)
        return
    click.echo(f"{name}#{label} rolled back: {move.from_version} -> {move.to_version}")


@prompt.command()
@click.argument("name")
@json_option
@pass_state
def history(state: CliState, name: str, as_json: bool) -> None:
    """Versions and label moves of a prompt, with actor and time."""
    found = state.workspace().prompts.history(name)
    if as_json:
        emit_json(found)
        return
    click.echo("versions:")
    emit_table(
        ["VERSION", "HASH", "PUSHED", "BY", "SOURCE"],
        [
            (v.version, short_hash(v.hash), v.created_at[:19], v.created_by, v.source)
            for v in found.versions
        ],
    )
    click.echo("label moves:")
    emit_table(
        ["LABEL", "FROM", "TO", "MOVE", "BY", "AT"],
        [
            (m.label, m.from_version or "-", m.to_version, m.kind, m.actor, m.at[:19])
            for m in found.moves
        ],
    )


@prompt.command()
@click.argument("ref", metavar="NAME[@REF]")
@click.option("--var", "pairs", multiple=True, metavar="KEY=VALUE", help="A variable (repeat).")
@click.option("--vars-file", type=click.Path(dir_okay=False), help="Variables as a JSON object.")
@json_option
@pass_state
def render(
    state: CliState, ref: str, pairs: tuple[str, ...], vars_file: str | None, as_json: bool
) -> None:
    """Render a version's messages with variables (validated against its schema)."""
    prompts = state.workspace().prompts
    variables = collect_variables(prompts.get(ref).spec.variables, pairs, vars_file)
    rendered = prompts.render(ref, variables)
    if as_json:
        emit_json(rendered)
        return
    click.echo(f"# {rendered.name}@{rendered.version}")
    for message in rendered.messages:
        click.echo(f"--- {message['role']}")
        click.echo(message["content"].rstrip())
