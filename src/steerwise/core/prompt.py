"""Prompt domain types: the spec people keep in `*.prompt.yaml`, and stored versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from steerwise.core.versioning import (
    LABEL_PATTERN,
    NAME_PATTERN,
    LabelMove,
    PushResult,
    SpecSummary,
    SpecVersion,
    check_spec_name,
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
        return check_spec_name(value)

    def content(self) -> dict[str, Any]:
        """The canonical content that is hashed and stored (defaults included)."""
        return self.model_dump(mode="json")


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
