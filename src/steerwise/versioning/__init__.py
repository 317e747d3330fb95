"""Versioned specs (prompts, policies): files, references, diffs and the registry."""
