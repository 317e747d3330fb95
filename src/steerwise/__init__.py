"""steerwise: steer LLM applications with versioned prompts, knowledge and weights."""

from steerwise.core.errors import (
    BadInputError,
    CheckFailedError,
    ConflictError,
    NotFoundError,
    SteerwiseError,
    StoreError,
    TemplateSecurityError,
)
from steerwise.workspace import Workspace

__all__ = [
    "BadInputError",
    "CheckFailedError",
    "ConflictError",
    "NotFoundError",
    "SteerwiseError",
    "StoreError",
    "TemplateSecurityError",
    "Workspace",
]
