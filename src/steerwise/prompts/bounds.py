"""Size bounds for what a sandboxed template may build in one step.

Jinja2's sandbox keeps templates away from Python internals but not from building huge
values: `'a'.center(2000000000)`, `'{:>2000000000}'.format(x)` or `[s] * 100000 | join`
each allocate gigabytes before any check on the output could run. These functions estimate,
before the call, how many characters or items a string method, a `%` format or a size-taking
filter would build, and the sandbox refuses those over `MAX_BUILT`.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from jinja2.exceptions import SecurityError

MAX_BUILT = 1_000_000
"""The most characters (or items) one method, format or filter may build."""

_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[a-zA-Z%]")
_SIZED_TEXT = frozenset({"center", "ljust", "rjust", "zfill"})


def refuse_if_too_big(what: str, size: int) -> None:
    """Raise the sandbox's SecurityError when `size` is over `MAX_BUILT`."""
    if size > MAX_BUILT:
        raise SecurityError(f"{what} would build {size:,} items, over the limit of {MAX_BUILT:,}")


def check_method_call(method: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Refuse a call of a `str`, `bytes`, `list` or `tuple` method that would build too much."""
    target = getattr(method, "__wrapped__", method)  # the sandbox wraps str.format
    owner = getattr(target, "__self__", None)
    name = str(getattr(target, "__name__", ""))
    if not isinstance(owner, str | bytes | list | tuple):
        return
    what = f"{type(owner).__name__}.{name}()"
    if any(isinstance(v, int) and abs(v) > MAX_BUILT for v in (*args, *kwargs.values())):
        raise SecurityError(f"{what} was given a number over the limit of {MAX_BUILT:,}")
    if isinstance(owner, str):
        refuse_if_too_big(what, _str_method_size(owner, name, args, kwargs))


def _str_method_size(text: str, name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    if name in _SIZED_TEXT and args and isinstance(args[0], int):
        return max(len(text), args[0])
    if name == "expandtabs":
        tab = args[0] if args else kwargs.get("tabsize", 8)
        return len(text) * max(int(tab), 1)
    if name == "join" and args:
        return joined_size(text, args[0])
    if name == "replace" and len(args) >= 2:
        return replaced_size(text, args[0], args[1])
    if name in ("format", "format_map"):
        return len(text) + format_widths(text)
    return 0


def joined_size(separator: str, items: Any) -> int:
    """Characters of `separator.join(items)` (sequences only: a generator is not consumed)."""
    if not isinstance(items, Sequence) or isinstance(items, str):
        return len(items) if isinstance(items, str) else 0
    lengths = sum(len(item) for item in items if isinstance(item, str))
    return lengths + len(separator) * max(len(items) - 1, 0)


def replaced_size(text: str, old: Any, new: Any) -> int:
    """Characters of `text.replace(old, new)`."""
    if not isinstance(old, str) or not isinstance(new, str):
        return len(text)
    count = text.count(old) if old else len(text) + 1
    return len(text) + count * (len(new) - len(old))


def format_widths(template: str) -> int:
    """The sum of the widths and precisions a `str.format` template asks for."""
    total = 0
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return 0  # str.format itself will refuse it
    for _, _, spec, _ in fields:
        total += sum(int(number) for number in re.findall(r"\d+", spec or ""))
    return total


def percent_size(template: str, values: Any) -> int:
    """Characters a `%` format of `template` with `values` asks for in widths and precisions
    (a `*` takes its width from the values)."""
    total = len(template)
    for width, precision in _PERCENT_FIELD.findall(template):
        total += sum(int(part) for part in (width, precision) if part.isdigit())
    if "*" in template:
        given = values if isinstance(values, tuple) else (values,)
        total += sum(abs(v) for v in given if isinstance(v, int) and not isinstance(v, bool))
    return total


Filter = Callable[..., Any]


def bounded_filters(filters: Mapping[str, Filter]) -> dict[str, Filter]:
    """The filters whose output grows with an argument, each checked before it runs."""
    checks: dict[str, Callable[[tuple[Any, ...], Mapping[str, Any]], int]] = {
        "center": lambda a, k: _int_arg(a, k, 1, "width", 80),
        "indent": lambda a, k: _indented_size(str(a[0]), _arg(a, k, 1, "width", 4)),
        "format": lambda a, _: percent_size(str(a[0]), tuple(a[1:])),
        "join": lambda a, k: joined_size(str(_arg(a, k, 1, "d", "")), a[0]),
        "replace": lambda a, k: replaced_size(
            str(a[0]), _arg(a, k, 1, "old", ""), _arg(a, k, 2, "new", "")
        ),
        "wordwrap": lambda a, k: _wrapped_size(
            str(a[0]), _int_arg(a, k, 1, "width", 79), str(_arg(a, k, 3, "wrapstring", "\n"))
        ),
        "slice": lambda a, k: _int_arg(a, k, 1, "slices", 0),
        "batch": lambda a, k: _int_arg(a, k, 1, "linecount", 0),
        "sum": _summed_size,
    }
    bounded: dict[str, Filter] = {}
    for name, size in checks.items():
        if name in filters:
            bounded[name] = _checked(name, filters[name], size)
    return bounded


def _checked(
    name: str, original: Filter, size: Callable[[tuple[Any, ...], Mapping[str, Any]], int]
) -> Filter:
    def run(*args: Any, **kwargs: Any) -> Any:
        plain = args[1:] if args and _is_context(args[0]) else args
        refuse_if_too_big(f"the {name} filter", size(plain, kwargs))
        return original(*args, **kwargs)

    for attribute in ("jinja_pass_arg",):  # how Jinja knows to pass the environment or context
        if hasattr(original, attribute):
            setattr(run, attribute, getattr(original, attribute))
    run.__name__ = getattr(original, "__name__", name)
    return run


def _is_context(value: Any) -> bool:
    from jinja2.environment import Environment
    from jinja2.nodes import EvalContext
    from jinja2.runtime import Context

    return isinstance(value, Environment | Context | EvalContext)


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], at: int, name: str, default: Any) -> Any:
    return args[at] if len(args) > at else kwargs.get(name, default)


def _int_arg(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], at: int, name: str, default: int
) -> int:
    value = _arg(args, kwargs, at, name, default)
    return abs(value) if isinstance(value, int) else 0


def _indented_size(text: str, width: Any) -> int:
    """Characters of `text|indent(width)`: a width (or a string) before every line."""
    per_line = len(width) if isinstance(width, str) else abs(width) if isinstance(width, int) else 0
    return len(text) + (text.count("\n") + 1) * per_line


def _wrapped_size(text: str, width: int, wrapstring: str) -> int:
    """An upper bound of `text|wordwrap(width, wrapstring=...)`: a wrap string per line."""
    return len(text) + (len(text) // max(width, 1) + 1) * len(wrapstring)


def _summed_size(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """Items `sum(values, start=[])` builds: the sum of the lengths (quadratic work too)."""
    start = _arg(args, kwargs, 2, "start", 0)
    items: Iterable[Any] = args[0] if args and isinstance(args[0], Sequence) else ()
    if not isinstance(start, Sequence):
        return 0
    return len(start) + sum(len(item) for item in items if isinstance(item, Sequence))
