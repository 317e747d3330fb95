"""Crash safety: a gateway under steady load (answers and deploys) is killed with SIGKILL at
random moments, again and again, on SQLite and on PostgreSQL. After each restart every
request that got a 2xx has its trace, every deploy that got a 200 has its audit event, the
audit chain verifies, and the database opens cleanly. `make reliability` runs it (marker
`reliability`); STEERWISE_RELIABILITY_KILLS sets the kills per backend (default 50)."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
import pytest

from steerwise import Workspace
from steerwise.settings import STATE_DIR
from tests.models.fault_server import FaultServer, ok
from tests.server.conftest import scripted_workspace
from tests.serving import Served, start_serving

KILLS = int(os.environ.get("STEERWISE_RELIABILITY_KILLS", "50"))
CLIENTS = 3


@dataclass
class Confirmed:
    """What the clients were told succeeded (a 2xx), across every run of the server."""

    traces: list[str] = field(default_factory=list)
    deploys: list[int] = field(default_factory=list)  # to_version of each 200 that moved
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def ask(url: str, key: str, confirmed: Confirmed, stop: threading.Event) -> None:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, timeout=10, max_retries=0)
    while not stop.is_set():
        try:
            response = client.chat.completions.create(
                model="bot@production", messages=[{"role": "user", "content": "How long?"}]
            )
        except openai.APIError:  # the server was killed under it
            continue
        with confirmed.lock:
            confirmed.requests += 1
            confirmed.traces.append(response.model_extra["steerwise"]["trace_id"])  # type: ignore[index]


def deploy(
    url: str, key: str, releases: tuple[str, str], confirmed: Confirmed, stop: threading.Event
) -> None:
    turn = 0
    while not stop.is_set():
        turn += 1
        body = json.dumps({"release": releases[turn % 2]}).encode()
        request = urllib.request.Request(
            f"{url}/api/deployments/bot/staging",
            body,
            {"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
            method="PUT",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                move = json.loads(response.read())
        except (OSError, urllib.error.HTTPError):
            continue
        if move["kind"] == "set":
            with confirmed.lock:
                confirmed.requests += 1
                confirmed.deploys.append(int(move["to_version"]))


def get(url: str, key: str, path: str) -> tuple[int, Any]:
    request = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read())


def check_after_restart(served: Served, key: str, confirmed: Confirmed) -> None:
    """What a restarted server must show of everything confirmed so far."""
    status, verdict = get(served.url, key, "/api/audit/verify")
    assert status == 200 and verdict["ok"], verdict
    with confirmed.lock:
        traces = list(confirmed.traces)
    for trace_id in traces[-40:]:  # the newest, those a kill could have caught in a queue
        status, _ = get(served.url, key, f"/api/traces/{trace_id}")
        assert status == 200, f"trace {trace_id} of a 2xx answer is missing"


def check_store(root: Path, database_url: str | None, confirmed: Confirmed) -> None:
    """Everything confirmed, read from the store directly, and the chain intact."""
    if database_url is None:
        with sqlite3.connect(root / STATE_DIR / "steerwise.db") as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with Workspace.open(root) as ws:
        stored = {trace.id for trace in ws.traces.items(limit=1_000_000)}
        events = ws.audit.events(limit=1_000_000)
        assert ws.audit.verify().ok
    missing = [trace_id for trace_id in confirmed.traces if trace_id not in stored]
    assert missing == []
    moves = [
        int(event.after["version"])
        for event in events
        if event.target == "release:bot#staging" and event.action.startswith("release.label")
    ]
    assert is_subsequence(confirmed.deploys, moves)


def is_subsequence(wanted: list[int], found: list[int]) -> bool:
    """Every confirmed move, in order, among the audited ones (a move the server made but
    whose answer the kill cut off is audited without being confirmed)."""
    remaining = iter(found)
    return all(any(item == seen for seen in remaining) for item in wanted)


@pytest.mark.reliability
def test_a_gateway_killed_at_random_moments_loses_nothing(
    database_url: str | None, backend: str, tmp_path: Path, figures: dict[str, Any]
) -> None:
    root = tmp_path / "ws"
    chance = random.Random(f"crash-{backend}")
    confirmed = Confirmed()
    with FaultServer(default=ok("Refunds take five working days.")) as upstream:
        releases = scripted_workspace(root, upstream.base_url, database_url=database_url)
        with Workspace.open(root, actor="setup") as ws:
            key = ws.keys.create("approver", name="load")[1]
        started = time.monotonic()
        for _ in range(KILLS):
            served = start_serving(root)
            check_after_restart(served, key, confirmed)
            stop = threading.Event()
            workers = [
                threading.Thread(target=ask, args=(served.url, key, confirmed, stop))
                for _ in range(CLIENTS)
            ]
            workers.append(
                threading.Thread(target=deploy, args=(served.url, key, releases, confirmed, stop))
            )
            for worker in workers:
                worker.start()
            time.sleep(chance.uniform(0.2, 1.5))
            served.process.send_signal(signal.SIGKILL)
            served.process.wait(timeout=20)
            stop.set()
            for worker in workers:
                worker.join(timeout=30)
        served = start_serving(root)
        try:
            check_after_restart(served, key, confirmed)
        finally:
            served.process.terminate()
            served.process.wait(timeout=20)
    check_store(root, database_url, confirmed)
    assert len(confirmed.traces) > 10 * KILLS and len(confirmed.deploys) > KILLS
    figures[f"crash_{backend}"] = {
        "kills": KILLS,
        "confirmed_requests": confirmed.requests,
        "traces_confirmed": len(confirmed.traces),
        "deploys_confirmed": len(confirmed.deploys),
        "lost": 0,
        "seconds": round(time.monotonic() - started, 1),
    }
