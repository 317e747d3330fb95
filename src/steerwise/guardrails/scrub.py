"""Scrub text before it is stored: personal data and secrets become typed placeholders."""

from __future__ import annotations

from functools import lru_cache

from steerwise.core.guardrails import CheckContext, Finding
from steerwise.guardrails.detectors import DetectorServices
from steerwise.guardrails.detectors.pii import PiiDetector
from steerwise.guardrails.redaction import redact


@lru_cache(maxsize=1)
def _detector() -> PiiDetector:
    return PiiDetector(PiiDetector.Settings(), DetectorServices())


def pii_findings(text: str) -> list[Finding]:
    """What the default PII detector finds in `text` (personal data and secrets)."""
    return list(_detector().detect(text, CheckContext()))


def scrub(text: str) -> str:
    """`text` with every PII type and secret the default PII detector finds replaced."""
    return redact(text, pii_findings(text), {})[0]
