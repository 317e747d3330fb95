"""The `steerwise` command: a thin shell over the Python API."""

from __future__ import annotations

import sys
import traceback

import click

from steerwise.cli.advise import advise
from steerwise.cli.audit import audit
from steerwise.cli.context import CliState
from steerwise.cli.dataset import dataset
from steerwise.cli.demo import demo
from steerwise.cli.evals import eval_group
from steerwise.cli.finetune import finetune
from steerwise.cli.graph import graph
from steerwise.cli.guard import guard, policy
from steerwise.cli.keys import keys
from steerwise.cli.knowledge import index, search_command, sources
from steerwise.cli.models import models, run
from steerwise.cli.monitor import drift, incidents, monitor
from steerwise.cli.prompt import prompt
from steerwise.cli.releases import canary, deploy, promotions, release, rollback
from steerwise.cli.review import review
from steerwise.cli.serve import serve
from steerwise.cli.traces import traces
from steerwise.cli.workspace import init
from steerwise.core import environment
from steerwise.core.errors import SteerwiseError

EXIT_RUNTIME_FAILURE = 3


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--workspace",
    "workspace_dir",
    metavar="DIR",
    help="Workspace folder (default: $STEERWISE_WORKSPACE, else the cwd or a parent).",
)
@click.version_option(package_name="steerwise")
@click.pass_context
def cli(ctx: click.Context, workspace_dir: str | None) -> None:
    """steerwise: versioned prompts, knowledge and weights for LLM apps, audited."""
    state = CliState(workspace_dir=workspace_dir)
    ctx.obj = state
    ctx.call_on_close(state.close)


for command in (
    init,
    prompt,
    run,
    models,
    sources,
    index,
    search_command,
    graph,
    policy,
    guard,
    review,
    release,
    deploy,
    rollback,
    promotions,
    canary,
    traces,
    monitor,
    drift,
    incidents,
    dataset,
    eval_group,
    finetune,
    advise,
    serve,
    keys,
    audit,
    demo,
):
    cli.add_command(command)


def main() -> None:
    """Run the CLI with steerwise's exit codes: 0 ok, 1 check failed, 2 bad input, 3 failure."""
    try:
        cli.main(standalone_mode=False)
    except SteerwiseError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(error.exit_code)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_RUNTIME_FAILURE)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except Exception as error:
        click.echo(f"error: unexpected {type(error).__name__}: {error}", err=True)
        if environment.DEBUG.get():
            traceback.print_exc()
        else:
            click.echo("  hint: set STEERWISE_DEBUG=1 to see the traceback", err=True)
        sys.exit(EXIT_RUNTIME_FAILURE)
    sys.exit(0)
