"""Prompt domain types: the spec people keep in `*.prompt.yaml`, and stored versions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
LABEL_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{0,49}$")
RESERVED_LABELS = frozenset({"latest"})

Role = Literal["system", "developer", "user", "assistant"]


class Message(BaseModel):
    """One chat message; `content` is a Jinja2 template."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    content: str


class ModelChoice(BaseModel):
    """The model a prompt was written for, and its generation parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str | None = None
    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class PromptSpec(BaseModel):
    """The content of one `*.prompt.yaml` file; its hash identifies a version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    messages: list[Message] = Field(min_length=1)
    variables: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    model: ModelChoice | None = None
    response_format: dict[str, Any] | None = None
    includes: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError(
                "must start with a letter or digit and hold only letters, digits, '.', '_', '-'"
                " (at most 100 characters)"
            )
        return value

    def content(self) -> dict[str, Any]:
        """The canonical content that is hashed and stored (defaults included)."""
        return self.model_dump(mode="json")


@dataclass(frozen=True)
class PromptVersion:
    """An immutable stored version of a prompt."""

    name: str
    version: int
    hash: str
    spec: PromptSpec
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
class PromptSummary:
    """One line of `prompt list`."""

    name: str
    latest_version: int
    labels: dict[str, int]
    updated_at: str
    description: str


@dataclass(frozen=True)
class PushResult:
    """What a push did to one prompt."""

    name: str
    version: int
    status: Literal["new", "unchanged"]
    source: str

    @property
    def ref(self) -> str:
        """`name@version` of the pushed content."""
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class RenderedPrompt:
    """Rendered messages with everything needed to call a model and to trace the call."""

    name: str
    version: int
    hash: str
    messages: list[dict[str, str]]
    model: dict[str, Any] | None
    response_format: dict[str, Any] | None
    includes: dict[str, int]
