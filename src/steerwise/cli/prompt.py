"""`steerwise prompt ...`: the versioned prompt library."""

from __future__ import annotations

import click

from steerwise.cli.context import CliState, json_option, pass_state
from steerwise.cli.output import emit_json
from steerwise.cli.variables import collect_variables
from steerwise.cli.versioned import add_versioned_commands


@click.group()
def prompt() -> None:
    """Push, list, show, diff, label, roll back and render prompts."""


add_versioned_commands(prompt, "prompt", lambda workspace: workspace.prompts)


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
