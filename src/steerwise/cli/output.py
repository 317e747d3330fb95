"""Formatting for the CLI: aligned tables for people, JSON for programs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from steerwise.core.jsonable import to_plain


def emit_json(value: Any) -> None:
    """Print a value as indented JSON."""
    click.echo(json.dumps(to_plain(value), indent=2, ensure_ascii=False))


def emit_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print rows as a left-aligned table; an empty listing says so."""
    if not rows:
        click.echo("(none)")
        return
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    for row in [list(headers), *cells]:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def short_hash(value: str) -> str:
    """The first 12 hex digits of a hash."""
    return value[:12]


def emit_text(text: str, output: str | None, *, what: str) -> None:
    """Print `text`, or write it to the file `output` whole (atomically) and say so on
    stderr (`what`: what was written, e.g. "12 items")."""
    if output is None:
        click.echo(text, nl=False)
        return
    with click.open_file(output, "w", encoding="utf-8", atomic=True) as handle:
        handle.write(text)
    click.echo(f"wrote {what} to {output}", err=True)
