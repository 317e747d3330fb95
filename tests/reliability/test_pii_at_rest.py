"""Secrets and personal data at rest: personal data and secrets go through every path that
stores text (questions and answers, plain and streamed, a gateway killed before its writer
stored them, feedback comments, answers flagged for review, the server's log), then every file
the workspace holds and every row of its database are scanned. None of the values may be
stored as sent."""

from __future__ import annotations

import json
import signal
import urllib.request
from pathlib import Path
from typing import Any

import openai
import pytest

from steerwise import Workspace
from steerwise.core.evals import DatasetItem
from tests.models.fault_server import FaultServer, ok
from tests.reliability.harness import answering_workspace, model_section
from tests.serving import served, start_serving

SENT = {
    "email": "jane.doe.pii@example.org",
    "phone": "+44 20 7946 0958",
    "card": "4111 1111 1111 1111",
    "iban": "GB82 WEST 1234 5698 7654 32",
    "ssn": "078-05-1120",
    "api key": "sk-proj-Q7rT9vX2mN4pL8kJ6hG3fD1sA5zC0bV",
    "aws key": "AKIAIOSFODNN7EXAMPLE",
}
CONTROL = "control-value-stored-on-purpose-7731"
"""Stored as given (in a dataset), so that a scan that finds nothing is known to look."""
QUESTION = "My email is {email}, phone {phone}, card {card}, IBAN {iban}, SSN {ssn}. Refund?"
ANSWER = f"We will write to {SENT['email']} and call {SENT['phone']}. Key: {SENT['api key']}"
POLICY = """name: watch
input:
  - detector: topics
    action: flag
    settings:
      deny:
        - name: refunds
          keywords: [refund]
output: []
"""


def variants(value: str) -> set[str]:
    """The value as sent and with its spaces taken out (how a scrubber might miss it)."""
    return {value, value.replace(" ", ""), value.replace(" ", "").replace("-", "")}


def build(root: Path, upstream: str, database_url: str | None) -> None:
    policy = root.parent / "watch.policy.yaml"
    policy.parent.mkdir(parents=True, exist_ok=True)
    policy.write_text(POLICY, encoding="utf-8")
    models = model_section("scripted", upstream)
    answering_workspace(root, models, policy=policy, database_url=database_url)
    with Workspace.open(root) as ws:  # a dataset keeps what it is given: the scan must see it
        control = DatasetItem(id="c1", variables={"question": CONTROL}, reference="x")
        ws.datasets.import_items("control", [control], source="test")


def traffic(url: str) -> None:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", timeout=30, max_retries=0)
    question = QUESTION.format(**{name.split()[0]: value for name, value in SENT.items()})
    messages = [{"role": "user", "content": question}]
    answer = client.chat.completions.create(model="bot@production", messages=messages)  # type: ignore[arg-type]
    stream = client.chat.completions.create(model="bot@production", messages=messages, stream=True)  # type: ignore[arg-type]
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    trace_id = answer.model_extra["steerwise"]["trace_id"]  # type: ignore[index]
    body = json.dumps({"score": 0.0, "comment": f"Wrong! Mail {SENT['email']} or {SENT['phone']}"})
    request = urllib.request.Request(
        f"{url}/api/traces/{trace_id}/feedback",
        body.encode(),
        {"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201


def database_rows(root: Path, database_url: str | None) -> str:
    """Every row of every table as text (PostgreSQL; SQLite's files are scanned as bytes)."""
    if database_url is None:
        return ""
    import psycopg

    with Workspace.open(root) as ws:
        ws.traces.flush()
    found = []
    with psycopg.connect(database_url) as connection:
        tables = connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()
        for (table,) in tables:
            found += [str(row[0]) for row in connection.execute(f'SELECT t::text FROM "{table}" t')]
    return "\n".join(found)


@pytest.mark.reliability
def test_no_personal_data_or_secret_is_stored_as_sent(
    database_url: str | None, backend: str, tmp_path: Path, figures: dict[str, Any]
) -> None:
    root = tmp_path / "ws"
    log = tmp_path / "server.log"
    with FaultServer(default=ok(ANSWER)) as upstream:
        build(root, upstream.base_url, database_url)
        with served(root) as gateway:
            traffic(gateway.url)
        killed = start_serving(root)  # a server killed before its writer stored the traces
        traffic(killed.url)
        killed.process.send_signal(signal.SIGKILL)
        log.write_bytes(killed.process.stderr.read() if killed.process.stderr else b"")
        killed.process.wait(timeout=20)
    with Workspace.open(root) as ws:  # stores what the killed server journaled
        stored = ws.traces.items(limit=100)
        flagged = ws.reviews.items(status=None)
    assert len(stored) == 4 and "[EMAIL_" in stored[0].input["question"]
    assert flagged  # the topic rail flagged the questions for review
    scanned = [path for path in root.rglob("*") if path.is_file()] + [log]
    blobs = [path.read_bytes() for path in scanned]
    rows = database_rows(root, database_url)
    leaks = [
        (name, str(path))
        for name, value in SENT.items()
        for text in variants(value)
        for path, blob in zip(scanned, blobs, strict=True)
        if text.encode() in blob
    ] + [
        (name, "database rows")
        for name, value in SENT.items()
        for t in variants(value)
        if t in rows
    ]
    assert leaks == []
    assert any(CONTROL.encode() in blob for blob in blobs) or CONTROL in rows
    figures[f"pii_at_rest_{backend}"] = {
        "values_sent": len(SENT),
        "files_scanned": len(scanned),
        "bytes_scanned": sum(len(blob) for blob in blobs) + len(rows),
        "traces": len(stored),
        "review_items": len(flagged),
        "found_unredacted": 0,
    }
