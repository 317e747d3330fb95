"""Knowledge domain types: sources, document versions, freshness, snapshots, search hits."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from steerwise.core.errors import BadInputError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([hdwy])\s*$")
_UNIT_DAYS = {"h": 1 / 24, "d": 1.0, "w": 7.0, "y": 365.0}


def parse_ttl_days(text: str) -> float:
    """`90d`, `12h`, `2w`, `1y` as days."""
    match = _DURATION.match(text)
    if not match:
        raise BadInputError(
            f"invalid TTL {text!r}", hint="write a number and a unit: 12h, 90d, 2w or 1y"
        )
    return float(match.group(1)) * _UNIT_DAYS[match.group(2)]


@dataclass(frozen=True)
class SourceInfo:
    """Where documents come from, who owns them, and how long they stay fresh."""

    name: str
    uri: str
    owner: str | None
    ttl_days: float | None
    tags: list[str]
    created_at: str
    updated_at: str
    documents: int = 0


@dataclass(frozen=True)
class DocumentVersion:
    """One ingested version of a document (immutable), with its provenance."""

    doc_id: str
    version: int
    checksum: str
    format: str
    metadata: dict[str, str]
    text: str
    fetched_at: str
    fetched_by: str
    source: str
    uri: str

    @property
    def title(self) -> str:
        """The document's title, else its id."""
        return self.metadata.get("title") or self.doc_id

    @property
    def ref(self) -> str:
        """`doc_id@version`."""
        return f"{self.doc_id}@{self.version}"


@dataclass(frozen=True)
class IngestReport:
    """What `sources add` did for one source."""

    source: str
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Freshness:
    """Whether a document may mislead: stale when past valid_until, older than its TTL, or
    changed (or gone) on disk since it was ingested."""

    stale: bool
    reasons: list[str] = field(default_factory=list)


def assess_freshness(
    *,
    valid_until: str | None,
    updated: str | None,
    fetched_at: str,
    ttl_days: float | None,
    today: date,
) -> Freshness:
    """The freshness of a document from its dates (the on-disk check is separate)."""
    reasons = []
    if valid_until and _day(valid_until) < today:
        reasons.append(f"expired: valid until {valid_until}")
    if ttl_days is not None:
        since = _day(updated) if updated else _day(fetched_at)
        if since + timedelta(days=ttl_days) < today:
            reasons.append(f"older than its TTL of {ttl_days:g} days (from {since.isoformat()})")
    return Freshness(bool(reasons), reasons)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return datetime.now(UTC).date()


@dataclass(frozen=True)
class SnapshotInfo:
    """An immutable index snapshot: what went in, and where its artifact is."""

    id: str
    created_at: str
    created_by: str
    embedder: str
    chunker: str
    chunk_count: int
    documents: dict[str, int]
    artifact: str


@dataclass(frozen=True)
class SearchHit:
    """One retrieved chunk with its provenance, scores and freshness."""

    rank: int
    chunk_id: str
    doc_id: str
    doc_version: int
    source: str
    title: str
    heading_path: list[str]
    text: str
    start: int
    end: int
    scores: dict[str, float]
    fused_score: float
    freshness: Freshness
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def document_ref(self) -> str:
        """`doc_id@version`."""
        return f"{self.doc_id}@{self.doc_version}"
