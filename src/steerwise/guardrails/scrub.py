"""Scrub text before it is stored: personal data and secrets become typed placeholders."""

from __future__ import annotations

from functools import lru_cache

from steerwise.core.guardrails import CheckContext
from steerwise.guardrails.detectors import DetectorServices
from steerwise.guardrails.detectors.pii import PiiDetector
from steerwise.guardrails.redaction import redact


@lru_cache(maxsize=1)
def _detector() -> PiiDetector:
    return PiiDetector(PiiDetector.Settings(), DetectorServices())


def scrub(text: str) -> str:
    """`text` with every PII type and secret the default PII detector finds replaced."""
    findings = _detector().detect(text, CheckContext())
    return redact(text, findings, {})[0]
