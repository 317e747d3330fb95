"""SourceLibrary: ingest files with provenance, version documents by checksum, flag stale ones."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from steerwise.audit import AuditLog
from steerwise.core.actors import Actor
from steerwise.core.audit import AuditEntry
from steerwise.core.clock import utc_now
from steerwise.core.errors import NotFoundError
from steerwise.core.knowledge import (
    DocumentVersion,
    Freshness,
    IngestReport,
    SourceInfo,
    assess_freshness,
)
from steerwise.retrieval.readers import ReadDocument, SkipFile, discover, read_document
from steerwise.store import Store, Transaction
from steerwise.store.session import Row

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class StaleDocument:
    """A current document that may mislead, and why."""

    document: DocumentVersion
    freshness: Freshness


def version_from(row: Row) -> DocumentVersion:
    """A DocumentVersion from a `VERSION_COLUMNS` row."""
    doc_id, version, checksum, fmt, metadata, text, at, by, source, uri = row
    return DocumentVersion(
        str(doc_id),
        int(version),
        str(checksum),
        str(fmt),
        json.loads(metadata),
        str(text),
        str(at),
        str(by),
        str(source),
        str(uri),
    )


class SourceLibrary:
    """The workspace's knowledge sources and their versioned documents."""

    def __init__(self, store: Store, *, actor: Actor, root: Path) -> None:
        self._store = store
        self._actor = actor
        self._root = root

    def add(
        self,
        paths: Sequence[str | Path],
        *,
        owner: str | None = None,
        ttl_days: float | None = None,
        tags: Sequence[str] = (),
        progress: Progress | None = None,
    ) -> list[IngestReport]:
        """Ingest each path (a file or a folder) as a source; report what changed."""
        reports = []
        for raw in paths:
            path = Path(raw).expanduser().resolve()
            if not path.exists():  # nothing to ingest: no source is created for it
                reports.append(
                    IngestReport(self._source_name(path), skipped=[(str(raw), "does not exist")])
                )
                continue
            files, skips = discover([path])
            read, skipped = _read_all(files, progress)
            skipped = [(str(skip.path), skip.reason) for skip in skips] + skipped
            with self._store.write() as tx:
                source = SourceInfo(
                    self._source_name(path), str(path), owner, ttl_days, list(tags), "", ""
                )
                reports.append(self._apply(tx, source, path, read, skipped))
        return reports

    def _source_name(self, path: Path) -> str:
        try:
            return path.relative_to(self._root).as_posix() or "."
        except ValueError:
            return path.as_posix()

    def _apply(
        self,
        tx: Transaction,
        source: SourceInfo,
        root: Path,
        read: list[ReadDocument],
        skipped: list[tuple[str, str]],
    ) -> IngestReport:
        now = utc_now()
        tx.sources.upsert(
            source.name,
            uri=source.uri,
            owner=source.owner,
            ttl_days=source.ttl_days,
            tags=source.tags,
            at=now,
        )
        report = IngestReport(source.name, skipped=skipped)
        before = {str(doc_id): str(uri) for doc_id, uri, _ in tx.documents.of_source(source.name)}
        seen: dict[str, str] = {}
        for document in read:
            doc_id = document.metadata.get("id") or _relative_id(root, document.path)
            if doc_id in seen:
                report.skipped.append(
                    (str(document.path), f"duplicate document id {doc_id!r} (also {seen[doc_id]})")
                )
                continue
            seen[doc_id] = str(document.path)
            self._store_version(tx, source.name, doc_id, document, now=now, report=report)
        kept = {path for path, _ in skipped}
        for doc_id, uri in before.items():
            if doc_id not in seen and uri not in kept:
                tx.documents.point(doc_id, None, removed_at=now)
                report.removed.append(doc_id)
        AuditLog.record(tx, self._actor.name, _audit_entry(source, report))
        return report

    def _store_version(
        self,
        tx: Transaction,
        source: str,
        doc_id: str,
        document: ReadDocument,
        *,
        now: str,
        report: IngestReport,
    ) -> None:
        tx.documents.ensure(doc_id, source=source, uri=str(document.path))
        latest = tx.documents.latest_checksum(doc_id)
        if latest is not None and latest[1] == document.checksum:
            tx.documents.point(doc_id, latest[0], removed_at=None)
            report.unchanged.append(doc_id)
            return
        version = latest[0] + 1 if latest else 1
        tx.documents.add_version(
            doc_id,
            version,
            {
                "checksum": document.checksum,
                "format": document.format,
                "metadata": document.metadata,
                "text": document.text,
                "at": now,
                "by": self._actor.name,
            },
        )
        (report.changed if latest else report.new).append(doc_id)

    def sources(self) -> list[SourceInfo]:
        """Every source with its number of current documents."""
        with self._store.read() as tx:
            rows = tx.sources.all()
            counts = {str(name): len(tx.documents.of_source(str(name))) for name, *_ in rows}
        return [
            SourceInfo(str(n), str(u), o, t, json.loads(tags), str(c), str(up), counts[str(n)])
            for n, u, o, t, tags, c, up in rows
        ]

    def documents(self, *, source: str | None = None) -> list[DocumentVersion]:
        """The current version of every document (of one source, if given)."""
        with self._store.read() as tx:
            rows = tx.documents.current()
        found = [version_from(row) for row in rows]
        return [d for d in found if source is None or d.source == source]

    def document(self, doc_id: str, version: int | None = None) -> DocumentVersion:
        """One document version (default: the current one)."""
        with self._store.read() as tx:
            row = tx.documents.get(doc_id)
            if row is None:
                raise NotFoundError(
                    f"unknown document {doc_id!r}", hint="see: steerwise sources list"
                )
            number = version if version is not None else row[3]
            if number is None:
                raise NotFoundError(f"document {doc_id!r} was removed on {row[4]}")
            found = tx.documents.version(doc_id, int(number))
        if found is None:
            raise NotFoundError(f"document {doc_id!r} has no version {number}")
        return version_from(found)

    def stale(self, *, today: date | None = None) -> list[StaleDocument]:
        """Current documents past valid_until, older than their TTL, or changed on disk."""
        day = today or datetime.now(UTC).date()
        ttl = {source.name: source.ttl_days for source in self.sources()}
        found = []
        for document in self.documents():
            freshness = self.freshness(document, day, ttl.get(document.source))
            if freshness.stale:
                found.append(StaleDocument(document, freshness))
        return found

    @staticmethod
    def freshness(document: DocumentVersion, today: date, ttl_days: float | None) -> Freshness:
        """Dates checked against today, and the file on disk against the stored checksum."""
        dated = assess_freshness(
            valid_until=document.metadata.get("valid_until"),
            updated=document.metadata.get("updated"),
            fetched_at=document.fetched_at,
            ttl_days=ttl_days,
            today=today,
        )
        on_disk = _disk_change(Path(document.uri), document.checksum)
        reasons = dated.reasons + ([on_disk] if on_disk else [])
        return Freshness(bool(reasons), reasons)


def _read_all(
    files: list[Path], progress: Progress | None
) -> tuple[list[ReadDocument], list[tuple[str, str]]]:
    read, skipped = [], []
    for index, path in enumerate(files, start=1):
        try:
            read.append(read_document(path))
        except SkipFile as skip:
            skipped.append((str(skip.path), skip.reason))
        if progress:
            progress(index, len(files))
    return read, skipped


def _relative_id(root: Path, path: Path) -> str:
    if root.is_file():
        return path.name
    return path.relative_to(root).as_posix()


def _disk_change(path: Path, checksum: str) -> str | None:
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "gone from disk"
    return None if f"sha256:{digest}" == checksum else "changed on disk since it was ingested"


def _audit_entry(source: SourceInfo, report: IngestReport) -> AuditEntry:
    return AuditEntry(
        "sources.add",
        f"source:{source.name}",
        None,
        {
            "owner": source.owner,
            "ttl_days": source.ttl_days,
            "tags": source.tags,
            "new": report.new,
            "changed": report.changed,
            "removed": report.removed,
            "skipped": len(report.skipped),
        },
    )
