"""Guardrails: detectors that work offline. So far: secrets."""

from steerwise.guardrails.secrets import SecretMatch, find_secrets, redact_secrets

__all__ = ["SecretMatch", "find_secrets", "redact_secrets"]
