"""Audit domain types: one hash-chained event per change of state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """What a change wants recorded; the log gives it a sequence number, time and hashes."""

    action: str
    target: str
    before: Any = None
    after: Any = None


@dataclass(frozen=True)
class AuditEvent:
    """An event as stored: `hash` covers every other field, `prev_hash` links the chain."""

    seq: int
    ts: str
    actor: str
    action: str
    target: str
    before: Any
    after: Any
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AuditHead:
    """The count of events and the latest hash, to keep elsewhere and check against later."""

    count: int
    hash: str


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of verifying the chain; `problem` names the first event that fails."""

    ok: bool
    count: int
    head_hash: str
    failed_seq: int | None = None
    problem: str | None = None
