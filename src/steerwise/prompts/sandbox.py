"""The sandboxed Jinja2 environment every prompt template renders in.

Templates cannot reach Python internals (attributes starting with `_`, unsafe methods),
files or the network, and cannot build huge values with `*`, `**`, `%`, string methods or
size-taking filters (`steerwise.prompts.bounds`).
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from typing import Any

from jinja2 import StrictUndefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range

from steerwise.prompts.bounds import (
    bounded_filters,
    check_method_call,
    percent_size,
    refuse_if_too_big,
)

MAX_REPEAT = 100_000
MAX_EXPONENT = 64
INCLUDE_FUNCTION = "include"


class PromptSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, strict about undefined names, with bounded arithmetic."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self) -> None:
        super().__init__(
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            cache_size=0,
            auto_reload=False,
        )
        self.globals.clear()
        self.globals["range"] = safe_range  # refuses ranges over MAX_RANGE items
        self.filters.update(bounded_filters(self.filters))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Call from template code, refusing string and list methods that would build too much."""
        check_method_call(__obj, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "%":
            if isinstance(left, str):
                refuse_if_too_big("a % format", percent_size(left, right))
            return operator.mod(left, right)
        if operator_name == "**":
            if isinstance(right, int) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"exponent {right} is over the limit of {MAX_EXPONENT}")
            return operator.pow(left, right)
        if _repeats_too_much(left, right) or _repeats_too_much(right, left):
            raise SecurityError(f"repetition over the limit of {MAX_REPEAT} items")
        return operator.mul(left, right)


def _repeats_too_much(sequence: Any, count: Any) -> bool:
    return (
        isinstance(sequence, str | list | tuple)
        and isinstance(count, int)
        and len(sequence) * count > MAX_REPEAT
    )


def unsafe_names(tree: nodes.Template) -> Iterator[tuple[int, str]]:
    """(line, name) of every attribute or key a template reaches for that starts with `_`."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        for name in _reached_names(node):
            if name.startswith("_"):
                yield node.lineno, name


def _reached_names(node: nodes.Node) -> list[str]:
    if isinstance(node, nodes.Getattr):
        return [node.attr]
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return [node.arg.value] if isinstance(node.arg.value, str) else []
    if isinstance(node, nodes.Filter) and node.name == "attr":
        return [arg.value for arg in node.args if isinstance(arg, nodes.Const)]
    return []


def included_names(tree: nodes.Template) -> Iterator[tuple[int, str | None]]:
    """(line, name) of every `include(...)` call; name is None when it is not a constant."""
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == INCLUDE_FUNCTION:
            first = call.args[0] if call.args else None
            name = first.value if isinstance(first, nodes.Const) else None
            yield call.lineno, name if isinstance(name, str) else None
