"""One contract for every store: the same behaviour on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading

import pytest

from steerwise.audit import AuditLog
from steerwise.core.audit import AuditEntry
from steerwise.core.errors import BadInputError, StoreError
from steerwise.store import Store, open_store
from steerwise.store.migrations import LATEST_VERSION, MIGRATIONS
from steerwise.store.records import DecisionRow, ReviewRow


@pytest.fixture
def store(store_url: str) -> Store:
    opened = open_store(store_url)
    yield opened
    opened.close()


def test_migrations_are_recorded_and_idempotent(store: Store, store_url: str) -> None:
    assert store.schema_version() == LATEST_VERSION
    with store.read() as tx:
        rows = tx.session.all("SELECT version, name FROM schema_migrations ORDER BY version")
    assert [(int(v), n) for v, n in rows] == [(m.version, m.name) for m in MIGRATIONS]
    again = open_store(store_url)
    try:
        assert again.migrate() == []
        assert again.schema_version() == LATEST_VERSION
    finally:
        again.close()


def test_write_commits_and_reads_see_it(store: Store) -> None:
    with store.write() as tx:
        tx.prompts.insert("p", 1, content_hash="h1", spec={"a": 1}, source="f", at="t", by="me")
    with store.read() as tx:
        row = tx.prompts.latest("p")
    assert row is not None
    assert row[:4] == ("p", 1, "h1", '{"a":1}')


def test_failed_write_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.write() as tx:
        tx.prompts.insert("p", 1, content_hash="h", spec={}, source="f", at="t", by="me")
        AuditLog.record(tx, "me", AuditEntry("prompt.push", "prompt:p"))
        raise RuntimeError("boom")
    with store.read() as tx:
        assert tx.prompts.latest("p") is None
        assert tx.audit.count() == 0


def test_duplicate_version_is_refused_by_the_schema(store: Store) -> None:
    with store.write() as tx:
        tx.prompts.insert("p", 1, content_hash="h", spec={}, source="f", at="t", by="me")
    with pytest.raises(StoreError), store.write() as tx:
        tx.prompts.insert("p", 2, content_hash="h2", spec={}, source="f", at="t", by="me")
        tx.session.execute(
            "INSERT INTO prompt_versions (prompt, version, hash, spec_json, source, created_at,"
            " created_by) VALUES ('p', 2, 'x', '{}', 'f', 't', 'me')"
        )
    with store.read() as tx:
        assert [r[1] for r in tx.prompts.versions("p")] == [1]


def test_label_moves_upsert_and_keep_history(store: Store) -> None:
    with store.write() as tx:
        assert tx.labels.move("prompt", "p", "prod", to=1, move="set", actor="a", at="t1") is None
        assert tx.labels.move("prompt", "p", "prod", to=2, move="set", actor="b", at="t2") == 1
    with store.read() as tx:
        assert tx.labels.get("prompt", "p", "prod") == 2
        assert tx.labels.of_target("prompt", "p") == {"prod": 2}
        moves = tx.labels.moves("prompt", "p", "prod")
    assert [(m[1], m[2], m[4]) for m in moves] == [(None, 1, "a"), (1, 2, "b")]


def test_concurrent_writers_in_threads_keep_one_chain(store: Store) -> None:
    def append(worker: int) -> None:
        for index in range(10):
            with store.write() as tx:
                AuditLog.record(tx, f"w{worker}", AuditEntry("test.append", f"t:{index}"))

    threads = [threading.Thread(target=append, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = AuditLog(store).verify()
    assert report.ok, report.problem
    assert report.count == 40


def test_unknown_store_url_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="unknown store URL"):
        open_store("mysql://nobody@localhost/db")


def test_unreachable_postgres_names_the_server() -> None:
    with pytest.raises(StoreError, match=r"cannot reach PostgreSQL at postgresql://u:\*\*\*@"):
        open_store("postgresql+psycopg://u:secret@127.0.0.1:1/none")


def test_rows_written_in_bulk_cross_statement_boundaries_intact(store: Store) -> None:
    """Decisions and review items go in many rows per INSERT (100 at most): 250 of each
    arrive whole and in order, text with quotes and non-ASCII included."""
    count = 250
    decisions = [
        DecisionRow(f"t{n:03}", f"p@{n}", "input", "allow", "", n / 2, {"n": n, "s": "l'é\"x"})
        for n in range(count)
    ]
    reviews = [
        ReviewRow(f"t{n:03}", "guardrail.flag", "p@1", f"r{n}", {"n": n}) for n in range(count)
    ]
    with store.write() as tx:
        tx.decisions.add_many(decisions)
        tx.reviews.add_many(reviews)
    with store.read() as tx:
        stored = tx.decisions.items(policy=None, outcome=None, limit=count + 1)
        queued = tx.reviews.items(status="open", limit=count + 1)
    assert len(stored) == count and len(queued) == count
    by_policy = {str(row[2]): row for row in stored}
    assert float(by_policy["p@249"][6]) == 124.5
    assert json.loads(by_policy["p@7"][7]) == {"n": 7, "s": "l'é\"x"}
    assert sorted(int(json.loads(row[5])["n"]) for row in queued) == list(range(count))
