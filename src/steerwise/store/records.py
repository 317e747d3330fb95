"""The SQL of each table, shared by both store implementations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from steerwise.core.access import ApiKey
from steerwise.core.audit import AuditEvent
from steerwise.store.canaries import CanaryRecords
from steerwise.store.evals import EvalRecords
from steerwise.store.feedback import FeedbackRecords
from steerwise.store.finetune import FinetuneJobRecords
from steerwise.store.knowledge import (
    DocumentRecords,
    GraphRecords,
    SnapshotRecords,
    SourceRecords,
)
from steerwise.store.monitor import IncidentRecords, MonitorRecords
from steerwise.store.promotions import PromotionRecords
from steerwise.store.session import Row, Session, insert_many, select_among


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class EncodedJson(str):
    """JSON text made already (by `dump_record`), which `dump_record` passes through: a
    record that crossed to another process as JSON is not parsed and made again there."""


def dump_record(value: Any) -> str:
    """JSON of a record written per request (trace, decision, review item): keys in the order
    the record has them (sorting them costs a third more, and nothing hashes these)."""
    if isinstance(value, EncodedJson):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class VersionTables:
    """Where one kind of versioned spec lives: a parent table and a versions table."""

    parent: str
    versions: str
    key: str

    @property
    def columns(self) -> str:
        """The version row's columns, in the order rows are returned."""
        return f"{self.key}, version, hash, spec_json, source, created_at, created_by"


VERSIONED_KINDS = {
    "prompt": VersionTables("prompts", "prompt_versions", "prompt"),
    "policy": VersionTables("policies", "policy_versions", "policy"),
    "release": VersionTables("releases", "release_versions", "release"),
    "dataset": VersionTables("datasets", "dataset_versions", "dataset"),
    "training-set": VersionTables("training_sets", "training_set_versions", "training_set"),
    "model": VersionTables("model_names", "model_versions", "model"),
}


class VersionRecords:
    """Rows of one kind's parent table (`prompts`) and versions table (`prompt_versions`)."""

    def __init__(self, session: Session, tables: VersionTables) -> None:
        self._session = session
        self._t = tables

    def latest(self, name: str) -> Row | None:
        """The newest version row of a spec, or None."""
        return self._session.one(
            f"SELECT {self._t.columns} FROM {self._t.versions}"
            f" WHERE {self._t.key} = :p ORDER BY version DESC LIMIT 1",
            {"p": name},
        )

    def version(self, name: str, version: int) -> Row | None:
        """One version row, or None."""
        return self._session.one(
            f"SELECT {self._t.columns} FROM {self._t.versions}"
            f" WHERE {self._t.key} = :p AND version = :v",
            {"p": name, "v": version},
        )

    def versions(self, name: str) -> list[Row]:
        """Every version row of a spec, oldest first."""
        return self._session.all(
            f"SELECT {self._t.columns} FROM {self._t.versions}"
            f" WHERE {self._t.key} = :p ORDER BY version",
            {"p": name},
        )

    def insert(
        self,
        name: str,
        version: int,
        *,
        content_hash: str,
        spec: Any,
        source: str,
        at: str,
        by: str,
    ) -> None:
        """Store a new version, creating the parent row with its first version."""
        if version == 1:
            self._session.execute(
                f"INSERT INTO {self._t.parent} (name, created_at, created_by)"
                " VALUES (:p, :at, :by)",
                {"p": name, "at": at, "by": by},
            )
        self._session.execute(
            f"INSERT INTO {self._t.versions} ({self._t.columns})"
            " VALUES (:p, :v, :h, :spec, :src, :at, :by)",
            {
                "p": name,
                "v": version,
                "h": content_hash,
                "spec": _dump(spec),
                "src": source,
                "at": at,
                "by": by,
            },
        )

    def by_hash_prefix(self, prefix: str) -> list[Row]:
        """(name, version) of every version whose content hash starts with `prefix` (hex)."""
        return self._session.all(
            f"SELECT {self._t.key}, version FROM {self._t.versions}"
            " WHERE substr(hash, 1, :width) = :prefix ORDER BY created_at",
            {"width": len(prefix), "prefix": prefix},
        )

    def summaries(self) -> list[Row]:
        """(name, latest version, its time, its spec) for every spec of the kind, by name."""
        key, table = self._t.key, self._t.versions
        return self._session.all(
            f"SELECT v.{key}, v.version, v.created_at, v.spec_json FROM {table} v"
            f" JOIN (SELECT {key}, MAX(version) AS version FROM {table}"
            f" GROUP BY {key}) m ON m.{key} = v.{key} AND m.version = v.version"
            f" ORDER BY v.{key}"
        )


class LabelRecords:
    """Rows of `labels` (current positions) and `label_moves` (their history)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, kind: str, target: str, label: str) -> int | None:
        """The version a label points at, or None."""
        value = self._session.scalar(
            "SELECT version FROM labels WHERE kind = :k AND target = :t AND label = :l",
            {"k": kind, "t": target, "l": label},
        )
        return int(value) if value is not None else None

    def of_target(self, kind: str, target: str) -> dict[str, int]:
        """Every label on one target, label -> version."""
        rows = self._session.all(
            "SELECT label, version FROM labels WHERE kind = :k AND target = :t ORDER BY label",
            {"k": kind, "t": target},
        )
        return {str(label): int(version) for label, version in rows}

    def of_kind(self, kind: str) -> list[Row]:
        """(target, label, version) of every label of a kind."""
        return self._session.all(
            "SELECT target, label, version FROM labels WHERE kind = :k ORDER BY target, label",
            {"k": kind},
        )

    def move(
        self, kind: str, target: str, label: str, *, to: int, move: str, actor: str, at: str
    ) -> int | None:
        """Point a label at a version, record the move, and return where it pointed before."""
        before = self.get(kind, target, label)
        self._session.execute(
            "INSERT INTO labels (kind, target, label, version, updated_at, updated_by)"
            " VALUES (:k, :t, :l, :v, :at, :by)"
            " ON CONFLICT (kind, target, label) DO UPDATE"
            " SET version = excluded.version, updated_at = excluded.updated_at,"
            " updated_by = excluded.updated_by",
            {"k": kind, "t": target, "l": label, "v": to, "at": at, "by": actor},
        )
        self._session.execute(
            "INSERT INTO label_moves (kind, target, label, from_version, to_version, move,"
            " actor, at) VALUES (:k, :t, :l, :f, :v, :m, :by, :at)",
            {
                "k": kind,
                "t": target,
                "l": label,
                "f": before,
                "v": to,
                "m": move,
                "by": actor,
                "at": at,
            },
        )
        return before

    def moves(self, kind: str, target: str, label: str | None = None) -> list[Row]:
        """(label, from, to, move, actor, at) of a target's label moves, oldest first."""
        sql = (
            "SELECT label, from_version, to_version, move, actor, at FROM label_moves"
            " WHERE kind = :k AND target = :t"
        )
        params: dict[str, Any] = {"k": kind, "t": target}
        if label is not None:
            sql += " AND label = :l"
            params["l"] = label
        return self._session.all(sql + " ORDER BY id", params)


class AuditRecords:
    """Rows of `audit_events`."""

    _COLUMNS = "seq, ts, actor, action, target, before_json, after_json, prev_hash, hash"

    def __init__(self, session: Session) -> None:
        self._session = session

    def last(self) -> tuple[int, str] | None:
        """(seq, hash) of the newest event, or None for an empty log."""
        row = self._session.one("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
        return (int(row[0]), str(row[1])) if row else None

    def count(self) -> int:
        """How many events are stored."""
        return int(self._session.scalar("SELECT COUNT(*) FROM audit_events") or 0)

    def insert(self, event: AuditEvent) -> None:
        """Append one event."""
        self._session.execute(
            f"INSERT INTO audit_events ({self._COLUMNS})"
            " VALUES (:seq, :ts, :actor, :action, :target, :before, :after, :prev, :hash)",
            {
                "seq": event.seq,
                "ts": event.ts,
                "actor": event.actor,
                "action": event.action,
                "target": event.target,
                "before": _dump(event.before),
                "after": _dump(event.after),
                "prev": event.prev_hash,
                "hash": event.hash,
            },
        )

    def page(self, *, after_seq: int, limit: int) -> list[AuditEvent]:
        """Up to `limit` events with seq greater than `after_seq`, in stored order."""
        rows = self._session.all(
            f"SELECT {self._COLUMNS} FROM audit_events WHERE seq > :after"
            " ORDER BY seq LIMIT :limit",
            {"after": after_seq, "limit": limit},
        )
        return [_event(row) for row in rows]

    def newest(self, limit: int) -> list[AuditEvent]:
        """The newest `limit` events, oldest first."""
        rows = self._session.all(
            f"SELECT {self._COLUMNS} FROM audit_events ORDER BY seq DESC LIMIT :limit",
            {"limit": limit},
        )
        return [_event(row) for row in reversed(rows)]


@dataclass(frozen=True)
class ReviewRow:
    """One item for review as stored: when, where from, about what, why, its payload, the
    queue it waits in and how many reviewers must judge it."""

    created_at: str
    origin: str
    subject: str
    reason: str
    payload: Any
    queue: str = "guardrails"
    required_reviews: int = 1


class ReviewRecords:
    """Rows of `review_items`: things waiting for a person (flagged answers, rail failures)."""

    _COLUMNS = (
        "id, created_at, origin, subject, reason, payload_json, status, queue, required_reviews"
    )

    def __init__(self, session: Session) -> None:
        self._session = session

    def add_many(self, items: Sequence[ReviewRow]) -> None:
        """Queue items, open, many rows per statement."""
        columns = (
            "created_at",
            "origin",
            "subject",
            "reason",
            "payload_json",
            "status",
            "queue",
            "required_reviews",
        )
        rows = [
            (
                item.created_at,
                item.origin,
                item.subject,
                item.reason,
                dump_record(item.payload),
                "open",
                item.queue,
                item.required_reviews,
            )
            for item in items
        ]
        insert_many(self._session, "review_items", columns, rows)

    def items(self, *, status: str | None, limit: int, queue: str | None = None) -> list[Row]:
        """Up to `limit` items (of one status and queue, if given), newest first."""
        where = [
            clause
            for clause, value in (("status = :status", status), ("queue = :queue", queue))
            if value
        ]
        sql_where = f" WHERE {' AND '.join(where)}" if where else ""
        return self._session.all(
            f"SELECT {self._COLUMNS} FROM review_items{sql_where} ORDER BY id DESC LIMIT :limit",
            {"status": status, "queue": queue, "limit": limit},
        )

    def get(self, item_id: int) -> Row | None:
        """One item."""
        rows = self._session.all(
            f"SELECT {self._COLUMNS} FROM review_items WHERE id = :id", {"id": item_id}
        )
        return rows[0] if rows else None

    def next_for(self, queue: str, reviewer: str) -> Row | None:
        """The oldest open item of `queue` that `reviewer` has not judged."""
        rows = self._session.all(
            f"SELECT {self._COLUMNS} FROM review_items i WHERE queue = :queue"
            " AND status = 'open' AND NOT EXISTS (SELECT 1 FROM review_verdicts v"
            " WHERE v.item_id = i.id AND v.reviewer = :reviewer) ORDER BY id LIMIT 1",
            {"queue": queue, "reviewer": reviewer},
        )
        return rows[0] if rows else None

    def queues(self) -> list[Row]:
        """(queue, status, count) of every queue."""
        return self._session.all(
            "SELECT queue, status, COUNT(*) FROM review_items GROUP BY queue, status"
            " ORDER BY queue, status"
        )

    def set_status(self, item_id: int, status: str) -> None:
        """Mark an item `open` or `done`."""
        self._session.execute(
            "UPDATE review_items SET status = :status WHERE id = :id",
            {"id": item_id, "status": status},
        )

    def add_verdict(self, verdict: dict[str, Any]) -> None:
        """Store one reviewer's verdict on an item."""
        self._session.execute(
            "INSERT INTO review_verdicts (item_id, reviewer, verdict, correction, rubric_json,"
            " note, created_at) VALUES (:item_id, :reviewer, :verdict, :correction, :rubric,"
            " :note, :at)",
            {**verdict, "rubric": _dump(verdict["rubric"])},
        )

    def verdicts(self, *, item_id: int | None = None, queue: str | None = None) -> list[Row]:
        """(item id, reviewer, verdict, correction, rubric JSON, note, time), oldest first."""
        where: list[str] = []
        params: dict[str, Any] = {}
        if item_id is not None:
            where.append("v.item_id = :item")
            params["item"] = item_id
        if queue is not None:
            where.append("i.queue = :queue")
            params["queue"] = queue
        sql_where = f" WHERE {' AND '.join(where)}" if where else ""
        return self._session.all(
            "SELECT v.item_id, v.reviewer, v.verdict, v.correction, v.rubric_json, v.note,"
            " v.created_at FROM review_verdicts v JOIN review_items i ON i.id = v.item_id"
            f"{sql_where} ORDER BY v.id",
            params,
        )


@dataclass(frozen=True)
class DecisionRow:
    """One guardrail decision as stored: its summary columns and its JSON (no checked text)."""

    created_at: str
    policy: str
    direction: str
    outcome: str
    reason_code: str
    elapsed_us: float
    decision: dict[str, Any]


class DecisionRecords:
    """Rows of `guard_decisions`: every check a policy made, with its reason."""

    _COLUMNS = "id, created_at, policy, direction, outcome, reason_code, elapsed_us, decision_json"

    def __init__(self, session: Session) -> None:
        self._session = session

    def add_many(self, rows: Sequence[DecisionRow]) -> None:
        """Store decisions, many rows per statement."""
        columns = (
            "created_at",
            "policy",
            "direction",
            "outcome",
            "reason_code",
            "elapsed_us",
            "decision_json",
        )
        values = [
            (
                row.created_at,
                row.policy,
                row.direction,
                row.outcome,
                row.reason_code,
                row.elapsed_us,
                dump_record(row.decision),
            )
            for row in rows
        ]
        insert_many(self._session, "guard_decisions", columns, values)

    def items(self, *, policy: str | None, outcome: str | None, limit: int) -> list[Row]:
        """Up to `limit` decisions, newest first; `policy` is a name (every version) or None."""
        where = [_named("policy")] if policy else []
        params: dict[str, Any] = {"limit": limit, **_name_params(policy or "")}
        if outcome:
            where.append("outcome = :outcome")
            params["outcome"] = outcome
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        return self._session.all(
            f"SELECT {self._COLUMNS} FROM guard_decisions{clause} ORDER BY id DESC LIMIT :limit",
            params,
        )


def _named(column: str) -> str:
    """SQL: `column` is `:name` itself, or any `:name@...` (every version of a name)."""
    return f"({column} = :name OR substr({column}, 1, :width) = :prefix)"


def _name_params(name: str) -> dict[str, Any]:
    return {"name": name, "width": len(name) + 1, "prefix": f"{name}@"}


class TraceRecords:
    """Rows of `traces`: one per request, its summary columns and the whole trace as JSON."""

    def __init__(self, session: Session) -> None:
        self._session = session

    _COLUMNS = ("id", "created_at", "target", "release", "release_id", "outcome", "status")

    def add_many(
        self, traces: Sequence[dict[str, Any]], encoded: Sequence[str | None] = ()
    ) -> None:
        """Store traces (`Trace.to_dict()`s), many rows per statement; `encoded[i]`, where
        given, is the `dump_record` JSON of `traces[i]`, already made (not made again)."""
        columns = (*self._COLUMNS, "latency_ms", "trace_json")
        made = list(encoded) or [None] * len(traces)
        rows = [
            [
                *(trace[name] for name in self._COLUMNS),
                trace["latency_ms"],
                json_text or dump_record(trace),
            ]
            for trace, json_text in zip(traces, made, strict=True)
        ]
        insert_many(self._session, "traces", columns, rows)

    def get(self, trace_id: str) -> str | None:
        """The JSON of one trace, by id or unique prefix (None if none or several match)."""
        rows = self._session.all(
            "SELECT trace_json FROM traces WHERE substr(id, 1, :width) = :prefix LIMIT 2",
            {"width": len(trace_id), "prefix": trace_id},
        )
        return str(rows[0][0]) if len(rows) == 1 else None

    def many(self, trace_ids: Sequence[str]) -> list[str]:
        """The JSON of the traces with these exact ids (by the primary key)."""
        rows = select_among(self._session, "trace_json", "traces", "id", trace_ids)
        return [str(row[0]) for row in rows]

    def existing(self, trace_ids: Sequence[str]) -> list[str]:
        """Those of `trace_ids` that are stored."""
        return [str(row[0]) for row in select_among(self._session, "id", "traces", "id", trace_ids)]

    def items(
        self, *, target: str | None, since: str | None, limit: int, until: str | None = None
    ) -> list[Row]:
        """Trace JSON, newest first; `target` is what was asked (`bot@production`), a
        release (`bot@2`) or a release name (every version of it); from `since` on, before
        `until`."""
        where = [f"(target = :name OR {_named('release')})"] if target else []
        params: dict[str, Any] = {"limit": limit, **_name_params(target or "")}
        for clause, name, value in (
            ("created_at >= :since", "since", since),
            ("created_at < :until", "until", until),
        ):
            if value:
                where.append(clause)
                params[name] = value
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        return self._session.all(
            f"SELECT trace_json FROM traces{clause} ORDER BY created_at DESC, id LIMIT :limit",
            params,
        )


class KeyRecords:
    """Rows of `api_keys`: each key's owner, role and the SHA-256 of its secret."""

    _COLUMNS = "id, name, role, created_at, created_by, revoked_at"

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, key: ApiKey, secret_hash: str) -> None:
        """Store a new key."""
        self._session.execute(
            "INSERT INTO api_keys (id, name, role, secret_hash, created_at, created_by)"
            " VALUES (:id, :name, :role, :hash, :at, :by)",
            {
                "id": key.id,
                "name": key.name,
                "role": key.role,
                "hash": secret_hash,
                "at": key.created_at,
                "by": key.created_by,
            },
        )

    def items(self) -> list[Row]:
        """Every key, oldest first."""
        return self._session.all(
            f"SELECT {self._COLUMNS} FROM api_keys ORDER BY created_at, id", {}
        )

    def active_by_hash(self) -> list[Row]:
        """(secret hash, key columns...) of every key not revoked."""
        return self._session.all(
            f"SELECT secret_hash, {self._COLUMNS} FROM api_keys WHERE revoked_at IS NULL", {}
        )

    def revoke(self, key_id: str, *, at: str) -> None:
        """Mark a key revoked."""
        self._session.execute(
            "UPDATE api_keys SET revoked_at = :at WHERE id = :id AND revoked_at IS NULL",
            {"id": key_id, "at": at},
        )


def _event(row: Row) -> AuditEvent:
    seq, ts, actor, action, target, before, after, prev_hash, event_hash = row
    return AuditEvent(
        seq=int(seq),
        ts=str(ts),
        actor=str(actor),
        action=str(action),
        target=str(target),
        before=json.loads(before),
        after=json.loads(after),
        prev_hash=str(prev_hash),
        hash=str(event_hash),
    )


class Transaction:
    """One open transaction and the tables it can reach."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.prompts = VersionRecords(session, VERSIONED_KINDS["prompt"])
        self.policies = VersionRecords(session, VERSIONED_KINDS["policy"])
        self.releases = VersionRecords(session, VERSIONED_KINDS["release"])
        self.labels = LabelRecords(session)
        self.audit = AuditRecords(session)
        self.sources = SourceRecords(session)
        self.documents = DocumentRecords(session)
        self.snapshots = SnapshotRecords(session)
        self.graphs = GraphRecords(session)
        self.reviews = ReviewRecords(session)
        self.decisions = DecisionRecords(session)
        self.traces = TraceRecords(session)
        self.keys = KeyRecords(session)
        self.evals = EvalRecords(session)
        self.finetune_jobs = FinetuneJobRecords(session)
        self.monitor = MonitorRecords(session)
        self.incidents = IncidentRecords(session)
        self.feedback = FeedbackRecords(session)
        self.promotions = PromotionRecords(session)
        self.canaries = CanaryRecords(session)

    def versions(self, kind: str) -> VersionRecords:
        """The version records of a kind of spec (`prompt`, `policy`)."""
        return VersionRecords(self.session, VERSIONED_KINDS[kind])
