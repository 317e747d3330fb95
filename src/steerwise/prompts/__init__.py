"""The versioned prompt library."""

from steerwise.prompts.registry import PromptHistory, PromptRegistry
from steerwise.versioning.refs import PromptRef, parse_ref

__all__ = ["PromptHistory", "PromptRef", "PromptRegistry", "parse_ref"]
