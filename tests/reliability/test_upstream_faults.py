"""Upstream faults: the gateway's models answer through local upstreams that fail 30% of
calls (429, 500, 503, stalls past the timeout, connections reset, answers and streams cut
short). With retries and a fallback model configured, at least 99.5% of requests succeed,
none takes longer than its timeouts allow, and every fault is in a trace with its cause."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai
import pytest

from steerwise import Workspace
from tests.models.fault_server import Behaviour, FaultServer, broken, drop, ok, slow, status
from tests.reliability.harness import answering_workspace, model_section
from tests.serving import served

FAULT_RATE = 0.30
REQUESTS = 600
TIMEOUT_S = 0.5
RETRIES = 3
ANSWER = "Refunds take five working days. Postage is free."


def faulty(seed: int) -> Callable[[], Behaviour]:
    """Each call: a fault with probability FAULT_RATE, of one of six kinds, else an answer."""
    chance = random.Random(seed)
    lock = threading.Lock()
    faults = [
        lambda: status(429, retry_after="0"),
        lambda: status(500),
        lambda: status(503),
        lambda: slow(TIMEOUT_S * 4),
        drop,
        lambda: broken(ANSWER[:17]),  # the answer's first words, then the connection closes
    ]

    def choose() -> Behaviour:
        with lock:
            roll, kind = chance.random(), chance.randrange(len(faults))
        return faults[kind]() if roll < FAULT_RATE else ok(ANSWER)

    return choose


def build(root: Path, primary: str, backup: str) -> None:
    timing = {"timeout_s": TIMEOUT_S, "max_retries": RETRIES, "retry_base_delay_s": 0.02}
    models = model_section("primary", primary, fallback=["backup"], **timing)
    answering_workspace(root, models + model_section("backup", backup, **timing), model="primary")


def ask(client: openai.OpenAI, number: int) -> tuple[bool, float, str | None]:
    """(succeeded, seconds, trace id) of one request, streamed every other time."""
    started = time.monotonic()
    messages = [{"role": "user", "content": f"How long does a refund take? ({number})"}]
    try:
        if number % 2:
            stream = client.chat.completions.create(
                model="bot@production",
                messages=messages,
                stream=True,  # type: ignore[arg-type]
            )
            text = "".join(
                chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices
            )
            return text.strip() == ANSWER, time.monotonic() - started, None
        response = client.chat.completions.create(model="bot@production", messages=messages)  # type: ignore[arg-type]
        trace_id = response.model_extra["steerwise"]["trace_id"]  # type: ignore[index]
        good = response.choices[0].message.content == ANSWER
        return good, time.monotonic() - started, trace_id
    except openai.APIError:
        return False, time.monotonic() - started, None


@pytest.mark.reliability
def test_retries_and_a_fallback_ride_out_thirty_percent_upstream_faults(
    tmp_path: Path, figures: dict[str, Any]
) -> None:
    root = tmp_path / "ws"
    with FaultServer(chooser=faulty(1)) as primary, FaultServer(chooser=faulty(2)) as backup:
        build(root, primary.base_url, backup.base_url)
        with served(root) as gateway:
            client = openai.OpenAI(
                base_url=f"{gateway.url}/v1", api_key="unused", timeout=60, max_retries=0
            )
            with ThreadPoolExecutor(max_workers=6) as pool:
                results = list(pool.map(lambda n: ask(client, n), range(REQUESTS)))
        served_kinds = Counter(primary.served) + Counter(backup.served)
    succeeded = sum(good for good, _, _ in results)
    slowest = max(seconds for _, seconds, _ in results)
    # the most one request may take: every attempt at both models running into its timeout
    bound = 2 * (RETRIES + 1) * (TIMEOUT_S + 0.5) + 2
    faults = sum(count for kind, count in served_kinds.items() if kind != "ok")
    assert succeeded / REQUESTS >= 0.995, (succeeded, served_kinds)
    assert slowest < bound
    assert faults > 0.25 * sum(served_kinds.values())
    with Workspace.open(root) as ws:
        traces = ws.traces.items(limit=10_000)
    failed_attempts = [
        attempt
        for trace in traces
        for span in trace.root.walk()
        if span.name == "model_call"
        for attempt in span.attributes.get("attempts", [])
        if attempt["outcome"] != "ok"
    ]
    assert all(attempt["error"] for attempt in failed_attempts)  # each with its cause
    # Every fault is an attempt in a trace (a connection dropped on a kept-alive socket too:
    # it is sent again at once, below the retry policy, and recorded as such).
    assert len(failed_attempts) >= faults
    causes = Counter(_cause(attempt["error"]) for attempt in failed_attempts)
    assert {"HTTP 429", "HTTP 500", "HTTP 503", "timed out", "connection failed"} <= set(causes)
    figures["upstream_faults"] = {
        "requests": REQUESTS,
        "succeeded": succeeded,
        "upstream_calls": sum(served_kinds.values()),
        "faults_injected": faults,
        "faults_by_kind": dict(served_kinds),
        "slowest_s": round(slowest, 2),
        "recorded_failed_attempts": len(failed_attempts),
        "causes": dict(causes),
    }


def _cause(error: str) -> str:
    """`model primary: HTTP 503: ...` -> `HTTP 503`; `...: timed out after 0.5 s` -> `timed out`."""
    detail = error.split(": ", 1)[-1]
    for known in ("timed out", "connection failed"):
        if known in detail:
            return known
    return detail.split(":")[0][:40]
