"""`steerwise init`."""

from __future__ import annotations

import click

from steerwise.cli.output import emit_json
from steerwise.workspace import Workspace


@click.command()
@click.argument("directory", default=".", metavar="[DIR]")
@click.option("--database-url", metavar="URL", help="Put the store on PostgreSQL.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for programs.")
def init(directory: str, database_url: str | None, as_json: bool) -> None:
    """Create a workspace: steerwise.toml and .steerwise/ in DIR."""
    with Workspace.init(directory, database_url=database_url) as workspace:
        if as_json:
            emit_json({"root": str(workspace.root), "store": workspace.store.display_url})
            return
        click.echo(f"created workspace {workspace.root}")
        click.echo(f"store: {workspace.store.display_url}")
