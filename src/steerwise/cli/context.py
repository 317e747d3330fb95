"""The CLI's shared state: which workspace to open, opened once per command."""

from __future__ import annotations

from dataclasses import dataclass, field

import click

from steerwise.workspace import Workspace


@dataclass
class CliState:
    """Options given before the command, and the workspace once opened."""

    workspace_dir: str | None = None
    opened: Workspace | None = field(default=None)

    def workspace(self) -> Workspace:
        """Open the workspace on first use."""
        if self.opened is None:
            self.opened = Workspace.open(self.workspace_dir)
        return self.opened

    def close(self) -> None:
        """Close the workspace if it was opened."""
        if self.opened is not None:
            self.opened.close()
            self.opened = None


pass_state = click.make_pass_decorator(CliState)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for programs.")
