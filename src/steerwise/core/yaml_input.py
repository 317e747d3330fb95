"""YAML from users, parsed safely and within bounds.

`yaml.safe_load` builds no Python objects of the file's choosing, but it still follows
aliases (a few lines of anchors can stand for billions of values once anything walks them:
the "billion laughs") and recurses once per level of nesting (thousands of `[` end in a
RecursionError). `parse_bounded` composes the document, refuses one nested deeper than
`MAX_DEPTH` or whose aliases expand to more than `MAX_NODES` values, and only then builds it.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_DEPTH = 100
MAX_NODES = 1_000_000


class YamlProblem(ValueError):
    """The text is not YAML this project accepts; `line` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def parse_bounded(text: str) -> tuple[Any, yaml.Node | None]:
    """The document's data and its node tree (None for an empty document)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_size(node)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(error, "problem", None) or str(error)
        raise YamlProblem(f"malformed YAML: {problem}", line) from None
    except RecursionError:
        raise YamlProblem(f"YAML nested more than {MAX_DEPTH} levels deep") from None
    finally:
        loader.dispose()
    return data, node


def _check_size(root: yaml.Node) -> None:
    """Refuse a tree deeper than MAX_DEPTH or whose aliases expand past MAX_NODES values."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, children_done = stack.pop()
        if depth > MAX_DEPTH:
            line = node.start_mark.line + 1
            raise YamlProblem(f"YAML nested more than {MAX_DEPTH} levels deep", line)
        children = _children(node)
        if id(node) in sizes:
            continue
        if not children_done:
            stack.append((node, depth, True))
            stack.extend((child, depth + 1, False) for child in children if id(child) not in sizes)
            continue
        size = 1 + sum(sizes.get(id(child), 1) for child in children)
        if size > MAX_NODES:
            line = node.start_mark.line + 1
            raise YamlProblem(
                f"YAML expands to more than {MAX_NODES:,} values (aliases repeated too often)",
                line,
            )
        sizes[id(node)] = size


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []
