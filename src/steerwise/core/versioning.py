"""Versioned specs (prompts, policies): immutable versions, movable labels, push results."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, field_validator

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
LABEL_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{0,49}$")


def check_spec_name(value: str) -> str:
    """Return `value` if it may name a prompt or policy, else raise ValueError (for pydantic)."""
    if not NAME_PATTERN.match(value):
        raise ValueError(
            "must start with a letter or digit and hold only letters, digits, '.', '_', '-'"
            " (at most 100 characters)"
        )
    return value


class SpecModel(BaseModel):
    """Base of every spec kept in a `*.KIND.yaml` file: a checked name and a description."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return check_spec_name(value)

    def content(self) -> dict[str, Any]:
        """The canonical content that is hashed and stored (defaults included)."""
        return self.model_dump(mode="json")


class VersionedSpec(Protocol):
    """What a spec kept in a `*.KIND.yaml` file must offer to be versioned."""

    @property
    def name(self) -> str:
        """The name its versions are filed under."""
        ...

    @property
    def description(self) -> str:
        """One line for listings."""
        ...

    def content(self) -> dict[str, Any]:
        """The canonical content that is hashed and stored."""
        ...


S = TypeVar("S", bound=VersionedSpec)


@dataclass(frozen=True)
class SpecVersion(Generic[S]):
    """An immutable stored version of a spec."""

    name: str
    version: int
    hash: str
    spec: S
    source: str
    created_at: str
    created_by: str

    @property
    def ref(self) -> str:
        """`name@version`, the reference that always means this version."""
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class LabelMove:
    """One move of a label: where it pointed before (None if new) and after (None if removed)."""

    target: str
    label: str
    from_version: int | None
    to_version: int | None
    kind: str
    actor: str
    at: str


@dataclass(frozen=True)
class SpecSummary:
    """One line of a `list` command."""

    name: str
    latest_version: int
    labels: dict[str, int]
    updated_at: str
    description: str


@dataclass(frozen=True)
class PushResult:
    """What a push did to one spec."""

    name: str
    version: int
    status: Literal["new", "unchanged"]
    source: str

    @property
    def ref(self) -> str:
        """`name@version` of the pushed content."""
        return f"{self.name}@{self.version}"
