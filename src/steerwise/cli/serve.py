"""`steerwise serve`: the OpenAI-compatible gateway on uvicorn."""

from __future__ import annotations

import click

from steerwise.cli.context import CliState, pass_state
from steerwise.core.errors import BadInputError


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@pass_state
def serve(state: CliState, host: str, port: int) -> None:
    """Serve deployments as OpenAI-compatible chat completions (Ctrl-C stops)."""
    try:
        import uvicorn  # noqa: F401 (checked here, used by the server)

        from steerwise.server import serve as serve_gateway
    except ImportError as error:
        raise BadInputError(
            f"the gateway needs the server extra: {error.name} is not installed",
            hint="pip install 'steerwise[server]'",
        ) from None
    workspace = state.workspace()
    click.echo(f"steerwise gateway on http://{host}:{port}/v1 (workspace {workspace.root})")
    serve_gateway(workspace, host=host, port=port)
