"""`steerwise keys create|list|revoke`: API keys for the gateway."""

from __future__ import annotations

import click

from steerwise.cli.context import CliState, json_option, pass_state
from steerwise.cli.output import emit_json, emit_table
from steerwise.core.access import ROLES


@click.group()
def keys() -> None:
    """API keys with roles; once one exists, the gateway needs a key on every request."""


@keys.command()
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the key may do.")
@click.option("--name", default="", help="Who or what holds the key (for people).")
@json_option
@pass_state
def create(state: CliState, role: str, name: str, as_json: bool) -> None:
    """Create a key and print it (shown only now; the store keeps its hash)."""
    key, secret = state.workspace().keys.create(role, name=name)
    if as_json:
        emit_json({**key.to_dict(), "key": secret})
        return
    click.echo(secret)
    click.echo(f"  key {key.id}, role {key.role}: store it now, it is not shown again", err=True)


@keys.command(name="list")
@json_option
@pass_state
def list_keys(state: CliState, as_json: bool) -> None:
    """Every key (never the secret), revoked ones included."""
    found = state.workspace().keys.items()
    if as_json:
        emit_json([key.to_dict() for key in found])
        return
    emit_table(
        ["ID", "NAME", "ROLE", "CREATED", "BY", "REVOKED"],
        [
            (k.id, k.name or "-", k.role, k.created_at[:19], k.created_by, k.revoked_at or "-")
            for k in found
        ],
    )


@keys.command()
@click.argument("key_id", metavar="ID")
@json_option
@pass_state
def revoke(state: CliState, key_id: str, as_json: bool) -> None:
    """Revoke a key (audited); requests with it fail from now on."""
    key = state.workspace().keys.revoke(key_id)
    if as_json:
        emit_json(key.to_dict())
        return
    click.echo(f"revoked key {key.id} ({key.role})")
