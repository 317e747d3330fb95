"""Unified diffs between spec versions, over a stable YAML rendering of their content."""

from __future__ import annotations

import difflib
from typing import Any

import yaml

from steerwise.core.versioning import SpecVersion


class _BlockDumper(yaml.SafeDumper):
    """Writes multi-line strings as literal blocks, so template edits diff line by line."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _represent_str)


def as_yaml(content: dict[str, Any]) -> str:
    """The content as YAML, keys in a fixed order."""
    return yaml.dump(content, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)


def diff_versions(old: SpecVersion[Any], new: SpecVersion[Any]) -> str:
    """A unified diff of the whole content (messages, rails, params...); empty if identical."""
    lines = difflib.unified_diff(
        as_yaml(old.spec.content()).splitlines(keepends=True),
        as_yaml(new.spec.content()).splitlines(keepends=True),
        fromfile=old.ref,
        tofile=new.ref,
    )
    return "".join(lines)
