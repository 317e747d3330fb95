"""`steerwise demo`: the guided tour."""

from __future__ import annotations

from pathlib import Path

import click

from steerwise.demo import TourBudget, run_tour


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
@click.option(
    "--quick",
    is_flag=True,
    help="Fine-tune 2 steps and compare on 4 questions: every part shown, in less time.",
)
def demo(directory: str, fresh: bool, quick: bool) -> None:
    """Walk through steerwise on a fictional bicycle co-operative's prompts and policies."""
    budget = TourBudget(finetune_steps=2, held_out=4) if quick else TourBudget()
    workspace = run_tour(Path(directory), click.echo, fresh=fresh, budget=budget)
    workspace.close()
    click.echo("")
    click.echo(f"done. explore it: steerwise --workspace {directory} prompt list")
