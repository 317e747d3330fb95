"""Versioned schema migrations, recorded in the `schema_migrations` table.

Each migration is a numbered, named list of statements written once for both databases;
`{serial}` stands for the dialect's auto-incrementing primary key; statements that differ
entirely (triggers) are given per dialect. Migrations only ever
append: a released migration is never edited, a later one changes what it did.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from steerwise.store.session import Dialect, Session

_SERIAL = {"sqlite": "INTEGER PRIMARY KEY", "postgresql": "BIGSERIAL PRIMARY KEY"}


@dataclass(frozen=True)
class Migration:
    """One schema change."""

    version: int
    name: str
    statements: tuple[str, ...] = ()
    by_dialect: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def render(self, dialect: Dialect) -> list[str]:
        """The shared statements with placeholders filled in, then the dialect's own."""
        shared = [statement.format(serial=_SERIAL[dialect]) for statement in self.statements]
        return shared + list(self.by_dialect.get(dialect, ()))


# Tables whose rows may never change once written, and why (database triggers refuse it).
_PROTECTED = (("audit_events", "append-only"), ("prompt_versions", "immutable"))


def _immutable(*tables: str) -> dict[str, tuple[str, ...]]:
    """Per-dialect triggers that refuse any UPDATE or DELETE on each of `tables`."""
    return {
        "sqlite": tuple(
            f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}"
            f" BEGIN SELECT RAISE(ABORT, '{table} is immutable'); END"
            for table in tables
            for verb in ("UPDATE", "DELETE")
        ),
        "postgresql": tuple(
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION steerwise_refuse_change('immutable')"
            for table in tables
        ),
    }


def _versioned_tables(parent: str, versions: str, key: str) -> tuple[str, str]:
    """The two tables of one kind of versioned spec: names, and immutable versions."""
    return (
        f"""CREATE TABLE {parent} (
            name TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL
        )""",
        f"""CREATE TABLE {versions} (
            {key} TEXT NOT NULL REFERENCES {parent}(name),
            version INTEGER NOT NULL,
            hash TEXT NOT NULL,
            spec_json TEXT NOT NULL,
            source TEXT NOT NULL,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL,
            PRIMARY KEY ({key}, version)
        )""",
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "audit log, prompts, labels",
        (
            """CREATE TABLE audit_events (
                seq BIGINT PRIMARY KEY,
                ts TEXT NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                target TEXT NOT NULL,
                before_json TEXT NOT NULL,
                after_json TEXT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL UNIQUE
            )""",
            *_versioned_tables("prompts", "prompt_versions", "prompt"),
            """CREATE TABLE labels (
                kind TEXT NOT NULL,
                target TEXT NOT NULL,
                label TEXT NOT NULL,
                version INTEGER NOT NULL,
                updated_at TEXT NOT NULL,
                updated_by TEXT NOT NULL,
                PRIMARY KEY (kind, target, label)
            )""",
            """CREATE TABLE label_moves (
                id {serial},
                kind TEXT NOT NULL,
                target TEXT NOT NULL,
                label TEXT NOT NULL,
                from_version INTEGER,
                to_version INTEGER,
                move TEXT NOT NULL,
                actor TEXT NOT NULL,
                at TEXT NOT NULL
            )""",
            "CREATE INDEX label_moves_by_target ON label_moves (kind, target, label, id)",
        ),
    ),
    Migration(
        2,
        "append-only audit events and immutable prompt versions",
        by_dialect={
            "sqlite": tuple(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}"
                f" BEGIN SELECT RAISE(ABORT, '{table} is {reason}'); END"
                for table, reason in _PROTECTED
                for verb in ("UPDATE", "DELETE")
            ),
            "postgresql": (
                "CREATE FUNCTION steerwise_refuse_change() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION '% is %', TG_TABLE_NAME, TG_ARGV[0]; END $$",
                *(
                    f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}"
                    f" FOR EACH ROW EXECUTE FUNCTION steerwise_refuse_change('{reason}')"
                    for table, reason in _PROTECTED
                ),
            ),
        },
    ),
    Migration(
        3,
        "knowledge sources, document versions, index snapshots",
        (
            """CREATE TABLE sources (
                name TEXT PRIMARY KEY,
                uri TEXT NOT NULL,
                owner TEXT,
                ttl_days REAL,
                tags_json TEXT NOT NULL,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )""",
            """CREATE TABLE documents (
                id TEXT PRIMARY KEY,
                source TEXT NOT NULL REFERENCES sources(name),
                uri TEXT NOT NULL,
                current_version INTEGER,
                removed_at TEXT
            )""",
            """CREATE TABLE document_versions (
                doc_id TEXT NOT NULL REFERENCES documents(id),
                version INTEGER NOT NULL,
                checksum TEXT NOT NULL,
                format TEXT NOT NULL,
                metadata_json TEXT NOT NULL,
                text TEXT NOT NULL,
                fetched_at TEXT NOT NULL,
                fetched_by TEXT NOT NULL,
                PRIMARY KEY (doc_id, version)
            )""",
            """CREATE TABLE index_snapshots (
                id TEXT PRIMARY KEY,
                created_at TEXT NOT NULL,
                created_by TEXT NOT NULL,
                embedder TEXT NOT NULL,
                chunker TEXT NOT NULL,
                chunk_count INTEGER NOT NULL,
                documents_json TEXT NOT NULL,
                artifact TEXT NOT NULL
            )""",
        ),
        by_dialect=_immutable("document_versions"),
    ),
    Migration(
        4,
        "knowledge graph versions",
        (
            """CREATE TABLE graph_versions (
                id TEXT PRIMARY KEY,
                created_at TEXT NOT NULL,
                created_by TEXT NOT NULL,
                fact_count INTEGER NOT NULL,
                entity_count INTEGER NOT NULL,
                snapshot_id TEXT,
                artifact TEXT NOT NULL
            )""",
        ),
    ),
    Migration(
        5,
        "guardrail policies and the review queue",
        (
            *_versioned_tables("policies", "policy_versions", "policy"),
            """CREATE TABLE review_items (
                id {serial},
                created_at TEXT NOT NULL,
                origin TEXT NOT NULL,
                subject TEXT NOT NULL,
                reason TEXT NOT NULL,
                payload_json TEXT NOT NULL,
                status TEXT NOT NULL
            )""",
            "CREATE INDEX review_items_by_status ON review_items (status, id)",
        ),
        by_dialect=_immutable("policy_versions"),
    ),
    Migration(
        6,
        "guardrail decisions",
        (
            """CREATE TABLE guard_decisions (
                id {serial},
                created_at TEXT NOT NULL,
                policy TEXT NOT NULL,
                direction TEXT NOT NULL,
                outcome TEXT NOT NULL,
                reason_code TEXT NOT NULL,
                elapsed_us DOUBLE PRECISION NOT NULL,
                decision_json TEXT NOT NULL
            )""",
            "CREATE INDEX guard_decisions_by_policy ON guard_decisions (policy, id)",
            "CREATE INDEX guard_decisions_by_outcome ON guard_decisions (outcome, id)",
        ),
    ),
    Migration(
        7,
        "releases",
        (
            *_versioned_tables("releases", "release_versions", "release"),
            "CREATE INDEX release_versions_by_hash ON release_versions (hash)",
        ),
        by_dialect=_immutable("release_versions"),
    ),
    Migration(
        8,
        "request traces",
        (
            """CREATE TABLE traces (
                id TEXT PRIMARY KEY,
                created_at TEXT NOT NULL,
                target TEXT NOT NULL,
                release TEXT NOT NULL,
                release_id TEXT NOT NULL,
                outcome TEXT NOT NULL,
                status TEXT NOT NULL,
                latency_ms DOUBLE PRECISION NOT NULL,
                trace_json TEXT NOT NULL
            )""",
            "CREATE INDEX traces_by_time ON traces (created_at)",
            "CREATE INDEX traces_by_release ON traces (release, created_at)",
        ),
    ),
    Migration(
        9,
        "api keys",
        (
            """CREATE TABLE api_keys (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                role TEXT NOT NULL,
                secret_hash TEXT NOT NULL UNIQUE,
                created_at TEXT NOT NULL,
                created_by TEXT NOT NULL,
                revoked_at TEXT
            )""",
        ),
    ),
    Migration(
        10,
        "datasets",
        (
            *_versioned_tables("datasets", "dataset_versions", "dataset"),
            "CREATE INDEX dataset_versions_by_hash ON dataset_versions (hash)",
        ),
        by_dialect=_immutable("dataset_versions"),
    ),
    Migration(
        11,
        "evaluation runs",
        (
            """CREATE TABLE eval_runs (
                id TEXT PRIMARY KEY,
                created_at TEXT NOT NULL,
                created_by TEXT NOT NULL,
                target TEXT NOT NULL,
                release TEXT NOT NULL,
                release_id TEXT NOT NULL,
                dataset TEXT NOT NULL,
                scorers_json TEXT NOT NULL,
                status TEXT NOT NULL,
                finished_at TEXT
            )""",
            "CREATE INDEX eval_runs_by_time ON eval_runs (created_at)",
            """CREATE TABLE eval_results (
                run_id TEXT NOT NULL REFERENCES eval_runs (id),
                item_id TEXT NOT NULL,
                created_at TEXT NOT NULL,
                result_json TEXT NOT NULL,
                PRIMARY KEY (run_id, item_id)
            )""",
        ),
    ),
    Migration(
        12,
        "review queues and verdicts",
        (
            "ALTER TABLE review_items ADD COLUMN queue TEXT NOT NULL DEFAULT 'guardrails'",
            "ALTER TABLE review_items ADD COLUMN required_reviews INTEGER NOT NULL DEFAULT 1",
            "CREATE INDEX review_items_by_queue ON review_items (queue, status, id)",
            """CREATE TABLE review_verdicts (
                id {serial},
                item_id INTEGER NOT NULL,
                reviewer TEXT NOT NULL,
                verdict TEXT NOT NULL,
                correction TEXT,
                rubric_json TEXT NOT NULL,
                note TEXT NOT NULL,
                created_at TEXT NOT NULL,
                UNIQUE (item_id, reviewer)
            )""",
        ),
    ),
    Migration(
        13,
        "training sets, model versions, fine-tune jobs",
        (
            *_versioned_tables("training_sets", "training_set_versions", "training_set"),
            *_versioned_tables("model_names", "model_versions", "model"),
            """CREATE TABLE finetune_jobs (
                id TEXT PRIMARY KEY,
                created_at TEXT NOT NULL,
                created_by TEXT NOT NULL,
                base TEXT NOT NULL,
                dataset TEXT NOT NULL,
                method TEXT NOT NULL,
                config_json TEXT NOT NULL,
                status TEXT NOT NULL,
                step INTEGER NOT NULL,
                total_steps INTEGER NOT NULL,
                model TEXT,
                error TEXT,
                remote_job TEXT,
                finished_at TEXT,
                log_json TEXT NOT NULL
            )""",
            "CREATE INDEX finetune_jobs_by_time ON finetune_jobs (created_at)",
        ),
        by_dialect=_immutable("training_set_versions", "model_versions"),
    ),
    Migration(
        14,
        "trace facts for metrics",
        (
            """CREATE TABLE trace_facts (
                trace_id TEXT PRIMARY KEY,
                created_at TEXT NOT NULL,
                target TEXT NOT NULL,
                release_name TEXT NOT NULL,
                release TEXT NOT NULL,
                release_id TEXT NOT NULL,
                outcome TEXT NOT NULL,
                error INTEGER NOT NULL,
                latency_ms DOUBLE PRECISION NOT NULL,
                latency_bucket INTEGER NOT NULL,
                input_tokens INTEGER NOT NULL,
                output_tokens INTEGER NOT NULL,
                cost_usd DOUBLE PRECISION NOT NULL,
                attempts INTEGER NOT NULL,
                confidence DOUBLE PRECISION,
                confidence_bin INTEGER,
                grounding DOUBLE PRECISION,
                grounding_bin INTEGER,
                stale INTEGER NOT NULL,
                input_chars INTEGER NOT NULL,
                retrieval_bucket INTEGER,
                graph_facts_bucket INTEGER,
                input_rails_bucket INTEGER,
                model_call_bucket INTEGER,
                output_rails_bucket INTEGER,
                citations_bucket INTEGER,
                output_chars INTEGER NOT NULL
            )""",
            "CREATE INDEX trace_facts_by_target ON trace_facts (target, created_at)",
            "CREATE INDEX trace_facts_by_release ON trace_facts (release_name, created_at)",
            """CREATE TABLE trace_rail_facts (
                trace_id TEXT NOT NULL,
                created_at TEXT NOT NULL,
                target TEXT NOT NULL,
                release_name TEXT NOT NULL,
                stage TEXT NOT NULL,
                rail TEXT NOT NULL,
                result TEXT NOT NULL,
                decision TEXT NOT NULL
            )""",
            "CREATE INDEX trace_rail_facts_by_target ON trace_rail_facts (target, created_at)",
            "CREATE INDEX trace_rail_facts_by_release"
            " ON trace_rail_facts (release_name, created_at)",
        ),
    ),
    Migration(
        15,
        "hourly metric roll-up",
        (
            """CREATE TABLE metric_hours (
                target TEXT NOT NULL,
                release_name TEXT NOT NULL,
                release TEXT NOT NULL,
                hour TEXT NOT NULL,
                metric TEXT NOT NULL,
                bucket INTEGER NOT NULL,
                value DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (target, release, hour, metric, bucket)
            )""",
            "CREATE INDEX metric_hours_by_target ON metric_hours (target, hour)",
            "CREATE INDEX metric_hours_by_release ON metric_hours (release_name, hour)",
        ),
    ),
    Migration(
        16,
        "incidents",
        (
            """CREATE TABLE incidents (
                id TEXT PRIMARY KEY,
                rule TEXT NOT NULL,
                deployment TEXT NOT NULL,
                severity TEXT NOT NULL,
                status TEXT NOT NULL,
                opened_at TEXT NOT NULL,
                resolved_at TEXT,
                incident_json TEXT NOT NULL
            )""",
            "CREATE INDEX incidents_by_rule ON incidents (rule, status)",
            "CREATE INDEX incidents_by_time ON incidents (opened_at)",
        ),
    ),
    Migration(
        17,
        "feedback",
        (
            """CREATE TABLE feedback (
                id TEXT PRIMARY KEY,
                trace_id TEXT NOT NULL,
                created_at TEXT NOT NULL,
                target TEXT NOT NULL,
                release_name TEXT NOT NULL,
                release TEXT NOT NULL,
                score DOUBLE PRECISION NOT NULL,
                comment TEXT NOT NULL,
                actor TEXT NOT NULL
            )""",
            "CREATE INDEX feedback_by_trace ON feedback (trace_id)",
            "CREATE INDEX feedback_by_target ON feedback (target, created_at)",
            "CREATE INDEX feedback_by_release ON feedback (release_name, created_at)",
        ),
    ),
    Migration(
        18,
        "promotions",
        (
            """CREATE TABLE promotions (
                id TEXT PRIMARY KEY,
                deployment TEXT NOT NULL,
                status TEXT NOT NULL,
                requested_at TEXT NOT NULL,
                promotion_json TEXT NOT NULL
            )""",
            "CREATE INDEX promotions_by_status ON promotions (status, requested_at)",
        ),
    ),
    Migration(
        19,
        "canaries",
        (
            """CREATE TABLE canaries (
                name TEXT NOT NULL,
                label TEXT NOT NULL,
                release_id TEXT NOT NULL,
                percent DOUBLE PRECISION NOT NULL,
                started_at TEXT NOT NULL,
                started_by TEXT NOT NULL,
                PRIMARY KEY (name, label)
            )""",
        ),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version


def current_version(session: Session) -> int:
    """The highest migration applied, 0 for a database without the migrations table."""
    if session.dialect == "sqlite":
        exists_sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :t"
    else:
        exists_sql = (
            "SELECT 1 FROM information_schema.tables"
            " WHERE table_name = :t AND table_schema = current_schema()"
        )
    if session.scalar(exists_sql, {"t": "schema_migrations"}) is None:
        return 0
    return int(session.scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations") or 0)


def apply_pending(session: Session, *, now: str) -> list[Migration]:
    """Apply every migration newer than the database, inside the caller's transaction."""
    session.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    applied = current_version(session)
    pending = [migration for migration in MIGRATIONS if migration.version > applied]
    for migration in pending:
        for statement in migration.render(session.dialect):
            session.execute(statement)
        session.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (:v, :n, :at)",
            {"v": migration.version, "n": migration.name, "at": now},
        )
    return pending
