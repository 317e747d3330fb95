"""`steerwise demo`: the guided tour."""

from __future__ import annotations

from pathlib import Path

import click

from steerwise.demo import run_tour


@click.command()
@click.option(
    "--dir",
    "directory",
    default="demo-workspace",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where to create the demo workspace.",
)
@click.option("--fresh", is_flag=True, help="Replace a demo workspace left by an earlier run.")
def demo(directory: str, fresh: bool) -> None:
    """Walk through steerwise on a fictional bicycle co-operative's prompts and policies."""
    workspace = run_tour(Path(directory), click.echo, fresh=fresh)
    workspace.close()
    click.echo("")
    click.echo(f"done. explore it: steerwise --workspace {directory} prompt list")
