"""The commands every versioned kind shares: push, list, show, diff, label, rollback, history.

`prompt` and `policy` both get them from `add_versioned_commands`, so they behave alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from steerwise.cli.context import CliState, json_option, pass_state
from steerwise.cli.output import emit_json, emit_table, short_hash
from steerwise.core.versioning import LabelMove
from steerwise.versioning.diffing import as_yaml
from steerwise.versioning.registry import VersionedRegistry
from steerwise.workspace import Workspace

RegistryOf = Callable[[Workspace], VersionedRegistry[Any]]


def add_versioned_commands(
    group: click.Group,
    noun: str,
    registry_of: RegistryOf,
    only: tuple[str, ...] = ("push", "list", "show", "diff", "label", "rollback", "history"),
) -> None:
    """Attach the shared commands (those in `only`) to `group`; the registry comes from
    `registry_of`."""
    for make in (_push, _list, _show, _diff, _label, _rollback, _history):
        command = make(noun, registry_of)
        if command.name in only:
            group.add_command(command)


def _push(noun: str, registry_of: RegistryOf) -> click.Command:
    @click.command(help=f"Push {noun} files (or folders of *.{noun}.yaml); all or nothing.")
    @click.argument("paths", nargs=-1, required=True, metavar="PATH...")
    @json_option
    @pass_state
    def push(state: CliState, paths: tuple[str, ...], as_json: bool) -> None:
        results = registry_of(state.workspace()).push(paths)
        if as_json:
            emit_json(results)
            return
        for result in results:
            click.echo(f"{result.ref}  {result.status}  ({result.source})")

    return push


def _list(noun: str, registry_of: RegistryOf) -> click.Command:
    @click.command(name="list", help=f"List {noun}s with their latest version and labels.")
    @json_option
    @pass_state
    def list_specs(state: CliState, as_json: bool) -> None:
        summaries = registry_of(state.workspace()).summaries()
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

    return list_specs


def _show(noun: str, registry_of: RegistryOf) -> click.Command:
    @click.command(help="Show one version (default: the latest).")
    @click.argument("ref", metavar="NAME[@VERSION|@LABEL]")
    @json_option
    @pass_state
    def show(state: CliState, ref: str, as_json: bool) -> None:
        registry = registry_of(state.workspace())
        version = registry.find(ref)
        described = registry.describe(ref)
        labels = described["labels"]
        if as_json:
            emit_json(described)
            return
        click.echo(
            f"{version.ref}  hash {short_hash(version.hash)}  labels: {', '.join(labels) or '-'}"
        )
        click.echo(
            f"pushed {version.created_at[:19]} by {version.created_by} from {version.source}"
        )
        click.echo(as_yaml(version.spec.content()).rstrip())

    return show


def _diff(noun: str, registry_of: RegistryOf) -> click.Command:
    @click.command(help=f"Unified diff of two {noun} versions' whole content.")
    @click.argument("old", metavar="NAME@A")
    @click.argument("new", metavar="NAME@B")
    @pass_state
    def diff(state: CliState, old: str, new: str) -> None:
        text = registry_of(state.workspace()).diff(old, new)
        click.echo(text.rstrip() if text else f"{old} and {new} have the same content")

    return diff


def _label(noun: str, registry_of: RegistryOf) -> click.Command:
    @click.command(help="Point LABEL at a version (audited).")
    @click.argument("ref", metavar="NAME@VERSION")
    @click.argument("label")
    @json_option
    @pass_state
    def label(state: CliState, ref: str, label: str, as_json: bool) -> None:
        move = registry_of(state.workspace()).label(ref, label)
        if as_json:
            emit_json(move)
            return
        if move.kind == "unchanged":
            click.echo(f"{move.target}#{label} already points at version {move.to_version}")
            return
        click.echo(f"{move.target}#{label}: {move.from_version or '-'} -> {move.to_version}")

    return label


def _rollback(noun: str, registry_of: RegistryOf) -> click.Command:
    @click.command(help="Move LABEL back to where it pointed before its latest move (audited).")
    @click.argument("name")
    @click.argument("label")
    @json_option
    @pass_state
    def rollback(state: CliState, name: str, label: str, as_json: bool) -> None:
        move = registry_of(state.workspace()).rollback(name, label)
        if as_json:
            emit_json(move)
            return
        click.echo(f"{name}#{label} rolled back: {move.from_version} -> {move.to_version}")

    return rollback


def _history(noun: str, registry_of: RegistryOf) -> click.Command:
    @click.command(help=f"Versions and label moves of a {noun}, with actor and time.")
    @click.argument("name")
    @json_option
    @pass_state
    def history(state: CliState, name: str, as_json: bool) -> None:
        found = registry_of(state.workspace()).history(name)
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
        print_label_moves(found.moves)

    return history


def print_label_moves(moves: list[LabelMove]) -> None:
    """A table of label moves: label, from, to, kind, actor, time."""
    emit_table(
        ["LABEL", "FROM", "TO", "MOVE", "BY", "AT"],
        [(m.label, m.from_version or "-", m.to_version, m.kind, m.actor, m.at[:19]) for m in moves],
    )
