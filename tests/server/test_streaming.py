"""Streaming through the gateway: text leaves as the upstream produces it, the trace and the
final chunk carry the whole answer, and failures after the first byte are error events."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import openai
import pytest
import uvicorn

from steerwise import Workspace
from steerwise.server import create_app
from tests.models.fault_server import slow, status
from tests.models.llama_server import free_port
from tests.server.conftest import ANSWER, PAUSE_S, Gateway, stored_trace

WORDS = len(ANSWER.split(" "))


def _stream(gateway: Gateway, **extra: object) -> list[tuple[float, object]]:
    began = time.monotonic()
    chunks = gateway.client("viewer").chat.completions.create(
        model="bot@production",
        messages=[{"role": "user", "content": "How long?"}],
        stream=True,
        **extra,  # type: ignore[arg-type]
    )
    return [(time.monotonic() - began, chunk) for chunk in chunks]


def test_text_arrives_as_the_upstream_writes_it(gateway: Gateway) -> None:
    timed = _stream(gateway)
    contents = [
        (at, chunk.choices[0].delta.content)  # type: ignore[attr-defined]
        for at, chunk in timed
        if chunk.choices and chunk.choices[0].delta.content  # type: ignore[attr-defined]
    ]
    assert "".join(text for _, text in contents).strip() == ANSWER
    assert len(contents) == WORDS  # no policy on this release: every delta goes on
    first, last = contents[0][0], contents[-1][0]
    assert last - first >= (WORDS - 1) * PAUSE_S * 0.8  # not buffered into one write
    final = timed[-1][1]
    details = final.model_extra["steerwise"]  # type: ignore[attr-defined]
    assert final.choices[0].finish_reason == "stop"  # type: ignore[attr-defined]
    assert details["text"].strip() == ANSWER and details["release"] == "bot@1"
    trace = stored_trace(gateway.root, details["trace_id"])
    steps = [span.name for span in trace.root.children]
    assert steps == ["retrieval", "graph_facts", "generate", "citations"]
    assert trace.status == "ok" and trace.output.strip() == ANSWER


def test_usage_comes_last_when_asked_for(gateway: Gateway) -> None:
    timed = _stream(gateway, stream_options={"include_usage": True})
    usage = timed[-1][1].usage  # type: ignore[attr-defined]
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (7, 3, 10)


def test_an_upstream_failure_after_the_first_byte_is_an_error_event(gateway: Gateway) -> None:
    gateway.upstream.schedule.append(status(400))  # 4xx: no retry
    with pytest.raises(openai.APIError) as caught:
        _stream(gateway)
    assert "400" in caught.value.message
    deadline = time.monotonic() + 10
    while True:  # the gateway stores its traces a moment later
        with Workspace.open(gateway.root) as ws:
            newest = ws.traces.items(limit=1)
        if (newest and newest[0].status == "error") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [(t.status, t.outcome) for t in newest] == [("error", "error")]


def test_a_bad_variable_is_refused_before_the_stream_starts(gateway: Gateway) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _stream(gateway, extra_body={"variables": {"mood": "grumpy"}})
    assert "mood" in caught.value.message


def test_an_upstream_that_times_out_is_a_504_and_the_trace_says_so(gateway: Gateway) -> None:
    gateway.upstream.schedule.append(slow(2.0))  # the model `sluggish` gives up after 0.5 s
    with pytest.raises(openai.InternalServerError) as caught:
        gateway.client("viewer").chat.completions.create(
            model="slow@production", messages=[{"role": "user", "content": "How long?"}]
        )
    assert caught.value.status_code == 504
    assert "timed out after 0.5 s" in caught.value.message
    trace_id = caught.value.response.headers["X-Steerwise-Trace-Id"]
    found = [stored_trace(gateway.root, trace_id)]
    assert found[0].target == "slow@production" and found[0].status == "error"
    assert "timed out" in (found[0].root.children[2].error or "")


@contextmanager
def app_in_process(root: Path, **options: bool) -> Iterator[Gateway]:
    """The gateway's app (`create_app` with `options`) on uvicorn in this process."""
    port = free_port()
    with Workspace.open(root) as ws:
        config = uvicorn.Config(create_app(ws, **options), port=port, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            yield Gateway(f"http://127.0.0.1:{port}", root, {}, ("", ""), None)  # type: ignore[arg-type]
        finally:
            server.should_exit = True
            thread.join(timeout=20)


def test_fastapi_s_own_chat_route_answers_as_the_route_in_front_of_it(gateway: Gateway) -> None:
    with app_in_process(gateway.root, chat_in_front=False) as behind:
        slow_path = replace(behind, keys=gateway.keys)
        details = slow_path.ask("viewer")  # the same answer, through FastAPI's route
        streamed = _stream(slow_path)
        status_code, error = slow_path.call("POST", "/v1/chat/completions", "viewer", {"x": 1})
    assert details["release"] == "bot@1" and details["trace_id"]
    final = streamed[-1][1].model_extra["steerwise"]  # type: ignore[attr-defined]
    assert final["text"].strip() == ANSWER
    front = gateway.call("POST", "/v1/chat/completions", "viewer", {"x": 1})
    assert (status_code, error) == front  # the same 400, word for word
    assert status_code == 400 and "model" in error["error"]["message"]
