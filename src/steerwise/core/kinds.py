"""Registries of named kinds (detectors, scorers): a class decorator per registry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

K = TypeVar("K")


def registrar(registry: dict[str, type[Any]], noun: str) -> Callable[[type[K]], type[K]]:
    """A class decorator that adds a class to `registry` under its `name` (once)."""

    def register(cls: type[K]) -> type[K]:
        name = cls.name  # type: ignore[attr-defined]
        if name in registry:
            raise ValueError(f"{noun} {name!r} is registered twice")
        registry[name] = cls
        return cls

    return register
