"""Prompt domain types: the spec people keep in `*.prompt.yaml`, and stored versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from steerwise.core.versioning import (
    LABEL_PATTERN,
    NAME_PATTERN,
    LabelMove,
    PushResult,
    SpecModel,
    SpecSummary,
    SpecVersion,
)

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


class PromptSpec(SpecModel):
    """The content of one `*.prompt.yaml` file; its hash identifies a version."""

    messages: list[Message] = Field(min_length=1)
    variables: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    model: ModelChoice | None = None
    response_format: dict[str, Any] | None = None
    includes: list[str] = Field(default_factory=list)


PromptVersion = SpecVersion[PromptSpec]
PromptSummary = SpecSummary


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


__all__ = [
    "LABEL_PATTERN",
    "NAME_PATTERN",
    "LabelMove",
    "Message",
    "ModelChoice",
    "PromptSpec",
    "PromptSummary",
    "PromptVersion",
    "PushResult",
    "RenderedPrompt",
]
