"""The versioned prompt library."""

from steerwise.prompts.refs import PromptRef, parse_ref
from steerwise.prompts.registry import PromptHistory, PromptRegistry

__all__ = ["PromptHistory", "PromptRef", "PromptRegistry", "parse_ref"]
