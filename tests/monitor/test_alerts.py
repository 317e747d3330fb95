"""Alert rules, incidents and signed webhooks, with a real receiver on loopback."""

from __future__ import annotations

import hmac
import http.server
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from steerwise import Workspace
from steerwise.core.errors import BadInputError
from steerwise.monitor.alerts import AlertLoop
from steerwise.monitor.webhooks import signature
from tests.cli.runner import steerwise
from tests.models.llama_server import free_port
from tests.monitor.builders import NOW, make_trace

SECRET = "whsec-test-0123456789"


@dataclass
class Receiver:
    """A webhook endpoint: records each POST; answers `failures` 503s before a 200."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    failures: int = 0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    port = free_port()
    found = Receiver(f"http://127.0.0.1:{port}/hooks/steerwise")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            failing = found.failures > 0
            found.failures -= 1
            found.received.append({"headers": dict(self.headers), "body": body, "failed": failing})
            self.send_response(503 if failing else 200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


def alerting_workspace(
    root: Path, webhook_url: str, *, rule: str = "", database_url: str | None = None
) -> Path:
    Workspace.init(root, database_url=database_url).close()
    config = root / "steerwise.toml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + f"""
[alerts]
interval_s = 0

[[alerts.rules]]
name = "errors"
deployment = "bot@production"
metric = "error_rate"
above = 0.1
window = "1h"
min_requests = 5
severity = "critical"
{rule}
[[alerts.webhooks]]
url = "{webhook_url}"
secret_env = "STEERWISE_TEST_WEBHOOK_SECRET"
timeout_s = 2
""",
        encoding="utf-8",
    )
    return root


def record(ws: Workspace, first: int, count: int, *, errors: int, minutes_ago: float) -> None:
    for i in range(count):
        ws.traces.record(
            make_trace(
                first + i,
                at=NOW - timedelta(minutes=minutes_ago, seconds=-i),
                latency_ms=300.0,
                model_ms=250.0,
                status="error" if i < errors else "ok",
            )
        )


def test_a_rule_opens_one_incident_notifies_once_and_recovers(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    monkeypatch.setenv("STEERWISE_TEST_WEBHOOK_SECRET", SECRET)
    database_url = None if store_url.startswith("sqlite") else store_url
    root = alerting_workspace(tmp_path / "ws", receiver.url, database_url=database_url)
    with Workspace.open(root) as ws:
        record(ws, 0, 20, errors=5, minutes_ago=30)
        (opened,) = ws.alerts.evaluate(until=NOW)
        assert (opened.status, opened.rule, opened.severity) == ("open", "errors", "critical")
        assert opened.value == 0.25 and opened.requests == 20
        assert opened.trace_ids == [f"trace-{n:05d}" for n in (4, 3, 2, 1, 0)]  # the errors
        assert opened.release is None  # nothing deployed as bot@production in this workspace
        assert opened.suggestion == "steerwise rollback bot --label production"
        assert ws.alerts.evaluate(until=NOW) == []  # still firing: no second incident
        assert len(receiver.received) == 1
        record(ws, 100, 100, errors=0, minutes_ago=20)
        (resolved,) = ws.alerts.evaluate(until=NOW)
        assert (resolved.id, resolved.status) == (opened.id, "resolved")
        assert resolved.value == pytest.approx(5 / 120, abs=1e-4)
        stored = ws.alerts.get(opened.id[:8])
        actions = [e.action for e in ws.audit.events(limit=20)]
        assert ws.audit.verify().ok
    assert [n["event"] for n in stored.notifications] == ["incident.opened", "incident.resolved"]
    assert {n["status"] for n in stored.notifications} == {"delivered"}
    assert actions[-2:] == ["incident.open", "incident.resolve"]
    first, second = receiver.received
    for sent in (first, second):
        expected = signature(sent["body"], SECRET)
        assert hmac.compare_digest(sent["headers"]["X-Steerwise-Signature"], expected)
    body = json.loads(first["body"])
    assert body["event"] == "incident.opened" and body["incident"]["id"] == opened.id
    assert first["headers"]["X-Steerwise-Event"] == "incident.opened"
    assert json.loads(second["body"])["incident"]["status"] == "resolved"


def test_a_failing_webhook_is_retried_and_a_dead_one_recorded(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.failures = 2
    root = alerting_workspace(tmp_path / "ws", receiver.url)
    with Workspace.open(root) as ws:
        record(ws, 0, 10, errors=5, minutes_ago=10)
        (opened,) = ws.alerts.evaluate(until=NOW)
    (delivery,) = opened.notifications
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 3)
    assert [r["failed"] for r in receiver.received] == [True, True, False]
    assert len({r["headers"]["X-Steerwise-Delivery"] for r in receiver.received}) == 1
    assert "X-Steerwise-Signature" not in receiver.received[0]["headers"]  # no secret set
    dead = alerting_workspace(tmp_path / "dead", f"http://127.0.0.1:{free_port()}/gone")
    with Workspace.open(dead) as ws:
        record(ws, 0, 10, errors=5, minutes_ago=10)
        (opened,) = ws.alerts.evaluate(until=NOW)
        assert ws.alerts.incidents(status="open")[0].id == opened.id  # opened all the same
    (failed,) = opened.notifications
    assert failed["status"] == "failed" and failed["attempts"] == 3
    assert "ConnectionRefusedError" in failed["detail"] or "Connection refused" in failed["detail"]


def test_too_few_requests_never_fire(tmp_path: Path, receiver: Receiver) -> None:
    root = alerting_workspace(tmp_path / "ws", receiver.url)
    with Workspace.open(root) as ws:
        record(ws, 0, 3, errors=3, minutes_ago=5)  # 100% errors, but min_requests is 5
        assert ws.alerts.evaluate(until=NOW) == []
    assert receiver.received == []


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            '[[alerts.rules]]\nname = "x"\ndeployment = "b"\nmetric = "mood"\nabove = 1\n',
            "unknown metric 'mood'",
        ),
        (
            '[[alerts.rules]]\nname = "y"\ndeployment = "b"\nmetric = "errors"\n',
            "exactly one of above or below",
        ),
        (
            '[[alerts.rules]]\nname = "errors"\ndeployment = "b"\nmetric = "errors"\nabove = 1\n',
            "repeated: errors",
        ),
        (
            '[[alerts.rules]]\nname = "z"\ndeployment = "b"\nmetric = "errors"\nabove = 1\n'
            'window = "soon"\n',
            "is not a duration",
        ),
    ],
)
def test_a_bad_rule_is_refused_when_the_workspace_opens(
    tmp_path: Path, rule: str, message: str
) -> None:
    root = alerting_workspace(tmp_path / "ws", "http://127.0.0.1:9/x", rule=rule)
    with pytest.raises(BadInputError, match=message):
        Workspace.open(root)
    shown = steerwise("incidents", "list", cwd=root)
    assert (
        shown.code == 2 and "steerwise.toml: alerts" in shown.err and "Traceback" not in shown.err
    )


def test_watch_once_and_the_incident_commands(tmp_path: Path, receiver: Receiver) -> None:
    root = alerting_workspace(tmp_path / "ws", receiver.url)
    with Workspace.open(root) as ws:
        for i in range(10):  # now, so that the watch (which reads up to now) sees them
            ws.traces.record(
                make_trace(i, at=ws_now(), latency_ms=100, model_ms=90, status="error")
            )
    watched = steerwise("monitor", "watch", "--once", "--json", cwd=root)
    assert watched.code == 0, watched.err
    opened = json.loads(watched.out.splitlines()[0])
    assert opened["status"] == "open" and opened["rule"] == "errors"
    listed = steerwise("incidents", "list", "--status", "open", "--json", cwd=root)
    assert [i["id"] for i in listed.json()] == [opened["id"]]
    shown = steerwise("incidents", "show", opened["id"][:10], cwd=root)
    assert (
        shown.code == 0 and "to roll back: steerwise rollback bot --label production" in shown.out
    )
    missing = steerwise("incidents", "show", "nope", cwd=root)
    assert missing.code == 2 and "no single incident" in missing.err


def ws_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC) - timedelta(seconds=5)


def test_the_background_loop_opens_the_incident_while_the_server_would_serve(
    tmp_path: Path, receiver: Receiver
) -> None:
    root = alerting_workspace(tmp_path / "ws", receiver.url)
    with Workspace.open(root) as ws:
        for i in range(10):
            ws.traces.record(make_trace(i, at=ws_now(), latency_ms=90, model_ms=80, status="error"))
        loop = AlertLoop(ws.alerts, interval_s=0.2)
        loop.start()
        try:
            deadline = time.monotonic() + 20
            while not receiver.received and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            loop.stop()
        assert loop.evaluations >= 1
        assert [i.rule for i in ws.alerts.incidents(status="open")] == ["errors"]
    assert json.loads(receiver.received[0]["body"])["event"] == "incident.opened"
    idle = AlertLoop(ws.alerts, interval_s=0)
    idle.start()  # an interval of 0: the server does not evaluate
    idle.stop()
    assert idle.evaluations == 0
