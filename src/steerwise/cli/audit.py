"""`steerwise audit ...`: the tamper-evident log."""

from __future__ import annotations

import json

import click

from steerwise.cli.context import CliState, json_option, pass_state
from steerwise.cli.output import emit_json, emit_table, short_hash
from steerwise.core.errors import CheckFailedError


@click.group()
def audit() -> None:
    """Read and verify the audit log."""


@audit.command()
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many of the newest events.",
)
@json_option
@pass_state
def log(state: CliState, limit: int, as_json: bool) -> None:
    """The newest events, oldest first."""
    events = state.workspace().audit.events(limit=limit)
    if as_json:
        emit_json(events)
        return
    emit_table(
        ["SEQ", "AT", "ACTOR", "ACTION", "TARGET", "AFTER", "HASH"],
        [
            (
                e.seq,
                e.ts[:19],
                e.actor,
                e.action,
                e.target,
                json.dumps(e.after)[:40],
                short_hash(e.hash),
            )
            for e in events
        ],
    )


@audit.command()
@json_option
@pass_state
def head(state: CliState, as_json: bool) -> None:
    """The event count and the latest hash: keep them elsewhere to detect truncation."""
    found = state.workspace().audit.head()
    if as_json:
        emit_json(found)
        return
    click.echo(f"{found.count} {found.hash}")


@audit.command()
@click.option("--head", "expected_head", metavar="HASH", help="A head hash kept elsewhere.")
@json_option
@pass_state
def verify(state: CliState, expected_head: str | None, as_json: bool) -> None:
    """Recompute the chain; exit 1 naming the first event that fails."""
    report = state.workspace().audit.verify(expected_head=expected_head)
    if as_json:
        emit_json(report)
    elif report.ok:
        click.echo(f"audit log intact: {report.count} events, head {short_hash(report.head_hash)}")
    if not report.ok:
        raise CheckFailedError(f"audit log broken: {report.problem}")
