"""JsonPoster against small raw-socket servers: kept-alive connections that the server
closed, error events in a stream, bodies that are not JSON, abandoned streams."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from steerwise.core.models import ModelCallError, ModelConfig
from steerwise.models import ModelRegistry
from steerwise.models.http_json import JsonPoster

HELLO = [{"role": "user", "content": "hello"}]
Reply = Callable[[int], bytes]
"""(the number of the request on this server, from 0) -> the raw HTTP response."""


def _response(body: bytes, *, status: str = "200 OK", kind: str = "application/json") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def _read_request(connection: socket.socket) -> bool:
    """Read one request, head and body; False when the client closed the connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = connection.recv(65536)
        if not piece:
            return False
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        body += connection.recv(65536)
    return True


@contextmanager
def _server(reply: Reply, *, close_after_each: bool) -> Iterator[tuple[str, list[int]]]:
    """A server on 127.0.0.1; yields its base URL and the connection each request came on."""
    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[int] = []

    def serve() -> None:
        number = 0
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                while _read_request(connection):
                    seen.append(connection.fileno())
                    connection.sendall(reply(number))
                    number += 1
                    if close_after_each:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1", seen
    finally:
        listener.close()


def test_a_kept_alive_connection_the_server_closed_is_replaced_once() -> None:
    answer = _response(json.dumps({"ok": True}).encode())
    with _server(lambda _: answer, close_after_each=True) as (url, seen):
        poster = JsonPoster(url, {}, model_id="m")
        noted: list[str] = []
        assert poster.post("/chat/completions", {}, timeout_s=5, reconnects=noted) == {"ok": True}
        assert noted == []
        assert poster.post("/chat/completions", {}, timeout_s=5, reconnects=noted) == {"ok": True}
    assert len(seen) == 2
    assert len(noted) == 1 and noted[0].startswith(
        ("RemoteDisconnected", "BrokenPipe", "ConnectionReset")
    )


def test_a_call_sent_again_on_a_new_connection_shows_it_as_an_attempt(tmp_path: Path) -> None:
    answer = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    }
    reply = _response(json.dumps(answer).encode())
    with _server(lambda _: reply, close_after_each=True) as (url, _):
        config = ModelConfig(provider="openai", model="m", base_url=url, max_retries=0)
        models = ModelRegistry({"a": config}, root=tmp_path)
        assert [a.outcome for a in models.chat("a", HELLO).attempts] == ["ok"]
        result = models.chat("a", HELLO)  # the server closed the kept-alive connection
    assert result.text == "hi"
    retry, done = result.attempts
    assert (retry.outcome, retry.number, retry.waited_s, done.outcome) == ("retry", 1, 0.0, "ok")
    assert "kept-alive connection was closed; sent again on a new one" in str(retry.error)


def test_a_status_error_names_the_servers_message_json_or_not() -> None:
    replies = [
        _response(b'{"error": {"message": "no such model"}}', status="404 Not Found"),
        _response(b"upstream exploded", status="502 Bad Gateway", kind="text/plain"),
    ]
    with _server(lambda n: replies[n], close_after_each=False) as (url, _):
        poster = JsonPoster(url, {}, model_id="m")
        with pytest.raises(ModelCallError, match="HTTP 404: no such model") as missing:
            poster.post("/chat/completions", {}, timeout_s=5)
        with pytest.raises(ModelCallError, match="HTTP 502: upstream exploded") as broken:
            poster.post("/chat/completions", {}, timeout_s=5)
    assert not missing.value.retryable and broken.value.retryable


def test_an_error_event_breaks_the_stream_and_an_abandoned_one_frees_the_thread() -> None:
    events = b'data: {"n": 1}\n\ndata: {"error": {"message": "overloaded"}}\n\n'
    good = b'data: {"n": 1}\n\ndata: {"n": 2}\n\ndata: [DONE]\n\n'
    replies = [events, good, _response(b'{"after": true}')]

    def reply(number: int) -> bytes:
        body = replies[number]
        return body if number == 2 else _response(body, kind="text/event-stream")

    with _server(reply, close_after_each=False) as (url, _):
        poster = JsonPoster(url, {}, model_id="m")
        received = []
        with pytest.raises(ModelCallError, match="the stream broke: overloaded"):
            received.extend(poster.stream("/chat/completions", {}, timeout_s=5))
        assert received == [{"n": 1}]
        stream = poster.stream("/chat/completions", {}, timeout_s=5)
        assert next(stream) == {"n": 1}
        stream.close()  # abandoned: its connection must not serve the next request
        assert poster.post("/chat/completions", {}, timeout_s=5) == {"after": True}


def test_nothing_listening_is_a_retryable_connection_failure() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    poster = JsonPoster(f"http://127.0.0.1:{port}/v1", {}, model_id="m")
    with pytest.raises(ModelCallError, match="connection failed") as caught:
        poster.post("/chat/completions", {}, timeout_s=2)
    assert caught.value.retryable
    with pytest.raises(ValueError, match="not an http"):
        JsonPoster("ftp://example.org", {}, model_id="m")
