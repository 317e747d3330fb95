"""The SQL of the knowledge tables: sources, documents, document versions, index snapshots."""

from __future__ import annotations

import json
from typing import Any

from steerwise.store.session import Row, Session

VERSION_COLUMNS = (
    "v.doc_id, v.version, v.checksum, v.format, v.metadata_json, v.text, v.fetched_at,"
    " v.fetched_by, d.source, d.uri"
)


class SourceRecords:
    """Rows of `sources`."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def upsert(
        self,
        name: str,
        *,
        uri: str,
        owner: str | None,
        ttl_days: float | None,
        tags: list[str],
        at: str,
    ) -> None:
        """Create a source or update its settings."""
        self._session.execute(
            "INSERT INTO sources (name, uri, owner, ttl_days, tags_json, created_at, updated_at)"
            " VALUES (:n, :u, :o, :t, :tags, :at, :at) ON CONFLICT (name) DO UPDATE SET"
            " uri = excluded.uri, owner = excluded.owner, ttl_days = excluded.ttl_days,"
            " tags_json = excluded.tags_json, updated_at = excluded.updated_at",
            {"n": name, "u": uri, "o": owner, "t": ttl_days, "tags": json.dumps(tags), "at": at},
        )

    def all(self) -> list[Row]:
        """(name, uri, owner, ttl_days, tags_json, created_at, updated_at), by name."""
        return self._session.all(
            "SELECT name, uri, owner, ttl_days, tags_json, created_at, updated_at FROM sources"
            " ORDER BY name"
        )


class DocumentRecords:
    """Rows of `documents` and `document_versions`."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, doc_id: str) -> Row | None:
        """(id, source, uri, current_version, removed_at) or None."""
        return self._session.one(
            "SELECT id, source, uri, current_version, removed_at FROM documents WHERE id = :d",
            {"d": doc_id},
        )

    def of_source(self, source: str) -> list[Row]:
        """(id, uri, current_version) of the source's documents that are not removed."""
        return self._session.all(
            "SELECT id, uri, current_version FROM documents"
            " WHERE source = :s AND current_version IS NOT NULL ORDER BY id",
            {"s": source},
        )

    def latest_checksum(self, doc_id: str) -> tuple[int, str] | None:
        """(version, checksum) of the newest version of a document."""
        row = self._session.one(
            "SELECT version, checksum FROM document_versions WHERE doc_id = :d"
            " ORDER BY version DESC LIMIT 1",
            {"d": doc_id},
        )
        return (int(row[0]), str(row[1])) if row else None

    def add_version(self, doc_id: str, version: int, fields: dict[str, Any]) -> None:
        """Store a version and make it the document's current one."""
        self._session.execute(
            "INSERT INTO document_versions (doc_id, version, checksum, format, metadata_json,"
            " text, fetched_at, fetched_by) VALUES (:d, :v, :checksum, :format, :metadata,"
            " :text, :at, :by)",
            {"d": doc_id, "v": version, **fields, "metadata": json.dumps(fields["metadata"])},
        )
        self.point(doc_id, version, removed_at=None)

    def ensure(self, doc_id: str, *, source: str, uri: str) -> None:
        """Create the document row, or move it to `source`/`uri`."""
        self._session.execute(
            "INSERT INTO documents (id, source, uri) VALUES (:d, :s, :u)"
            " ON CONFLICT (id) DO UPDATE SET source = excluded.source, uri = excluded.uri",
            {"d": doc_id, "s": source, "u": uri},
        )

    def point(self, doc_id: str, version: int | None, *, removed_at: str | None) -> None:
        """Set a document's current version (None with `removed_at` when it was removed)."""
        self._session.execute(
            "UPDATE documents SET current_version = :v, removed_at = :r WHERE id = :d",
            {"d": doc_id, "v": version, "r": removed_at},
        )

    def current(self) -> list[Row]:
        """Every current document version with its source and uri (VERSION_COLUMNS), by id."""
        return self._session.all(
            f"SELECT {VERSION_COLUMNS} FROM documents d JOIN document_versions v"
            " ON v.doc_id = d.id AND v.version = d.current_version ORDER BY d.id"
        )

    def version(self, doc_id: str, version: int) -> Row | None:
        """One document version (VERSION_COLUMNS)."""
        return self._session.one(
            f"SELECT {VERSION_COLUMNS} FROM document_versions v JOIN documents d"
            " ON d.id = v.doc_id WHERE v.doc_id = :d AND v.version = :v",
            {"d": doc_id, "v": version},
        )

    def versions(self, doc_id: str) -> list[Row]:
        """(version, checksum, fetched_at, fetched_by) of a document, oldest first."""
        return self._session.all(
            "SELECT version, checksum, fetched_at, fetched_by FROM document_versions"
            " WHERE doc_id = :d ORDER BY version",
            {"d": doc_id},
        )


class SnapshotRecords:
    """Rows of `index_snapshots`."""

    COLUMNS = "id, created_at, created_by, embedder, chunker, chunk_count, documents_json, artifact"

    def __init__(self, session: Session) -> None:
        self._session = session

    def insert(self, values: dict[str, Any]) -> None:
        """Record a built snapshot."""
        self._session.execute(
            f"INSERT INTO index_snapshots ({self.COLUMNS}) VALUES (:id, :created_at,"
            " :created_by, :embedder, :chunker, :chunk_count, :documents_json, :artifact)",
            values,
        )

    def matching(self, prefix: str) -> list[Row]:
        """Snapshots whose id starts with `prefix`."""
        return self._session.all(
            f"SELECT {self.COLUMNS} FROM index_snapshots WHERE id LIKE :p ORDER BY created_at",
            {"p": prefix.replace("%", "").replace("_", "") + "%"},
        )

    def all(self) -> list[Row]:
        """Every snapshot, oldest first."""
        return self._session.all(
            f"SELECT {self.COLUMNS} FROM index_snapshots ORDER BY created_at, id"
        )


class GraphRecords:
    """Rows of `graph_versions`."""

    COLUMNS = "id, created_at, created_by, fact_count, entity_count, snapshot_id, artifact"

    def __init__(self, session: Session) -> None:
        self._session = session

    def insert(self, values: dict[str, Any]) -> None:
        """Record a graph version."""
        self._session.execute(
            f"INSERT INTO graph_versions ({self.COLUMNS}) VALUES (:id, :created_at, :created_by,"
            " :fact_count, :entity_count, :snapshot_id, :artifact)",
            values,
        )

    def all(self) -> list[Row]:
        """Every graph version, oldest first."""
        return self._session.all(
            f"SELECT {self.COLUMNS} FROM graph_versions ORDER BY created_at, id"
        )

    def matching(self, prefix: str) -> list[Row]:
        """Graph versions whose id starts with `prefix`."""
        return self._session.all(
            f"SELECT {self.COLUMNS} FROM graph_versions WHERE id LIKE :p ORDER BY created_at",
            {"p": prefix.replace("%", "").replace("_", "") + "%"},
        )
