"""Timestamps as stored everywhere: ISO 8601, UTC, microseconds, a trailing Z."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> str:
    """The current time as `2026-11-25T15:30:00.123456Z`."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
