"""Every detector kind a policy may name; importing this package registers them all."""

from steerwise.guardrails.detectors import grounding, injection, limits, pii, topics
from steerwise.guardrails.detectors.base import (
    DETECTORS,
    Detector,
    DetectorServices,
    DetectorSettings,
    judges_whole_text,
    register_detector,
)

__all__ = [
    "DETECTORS",
    "Detector",
    "DetectorServices",
    "DetectorSettings",
    "grounding",
    "injection",
    "judges_whole_text",
    "limits",
    "pii",
    "register_detector",
    "topics",
]
