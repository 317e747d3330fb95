"""Every command and every environment variable is documented."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click

from steerwise.cli.main import cli
from steerwise.core import environment

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _command_paths(group: click.Group, prefix: str) -> Iterator[str]:
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield from _command_paths(command, path)
        else:
            yield path


def test_every_command_is_in_the_cli_reference() -> None:
    reference = (DOCS / "cli.md").read_text(encoding="utf-8")
    paths = list(_command_paths(cli, "steerwise"))
    assert "steerwise prompt push" in paths
    missing = [path for path in paths if f"`{path}" not in reference]
    assert missing == []


def test_every_option_of_every_command_is_in_the_cli_reference() -> None:
    reference = (DOCS / "cli.md").read_text(encoding="utf-8")
    missing = []
    for path in _command_paths(cli, "steerwise"):
        command = cli
        for name in path.split()[1:]:
            assert isinstance(command, click.Group)
            command = command.commands[name]
        for parameter in command.params:
            for option in getattr(parameter, "opts", []):
                if option.startswith("--") and option != "--help" and option not in reference:
                    missing.append(f"{path} {option}")
    assert missing == []


def test_every_environment_variable_is_documented() -> None:
    page = (DOCS / "workspace.md").read_text(encoding="utf-8")
    assert [v.name for v in environment.ALL if v.name not in page] == []
