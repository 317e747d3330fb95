"""A small local server that speaks the Anthropic Messages API, for tests of the real SDK.

This is the one place a fake stands in, at the edge of a paid API: the provider under test
talks to it through the official `anthropic` SDK over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class Reply:
    """What the fake model answers."""

    text: str = "Hello from the fake model."
    stop_reason: str = "end_turn"
    input_tokens: int = 12
    output_tokens: int = 6


@dataclass(frozen=True)
class Failure:
    """One request answered badly; failures are used up in order, one per request."""

    status: int | None = None  # answer with this HTTP error status
    retry_after: str | None = None  # the `retry-after` header of that answer
    sleep_s: float = 0.0  # wait this long before answering (to outlast a client timeout)
    drop: bool = False  # close the connection without answering
    break_stream: bool = False  # streams: drop the connection after the first text delta


@dataclass(frozen=True)
class Received:
    """One request as the server saw it; header names are lower case."""

    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class FakeAnthropic:
    """`POST /v1/messages` on 127.0.0.1, plain or streamed; use as a context manager."""

    reply: Reply = field(default_factory=Reply)
    failures: deque[Failure] = field(default_factory=deque)
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """The URL to give the SDK (it appends `/v1/messages`)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def fail(self, *failures: Failure) -> None:
        """Answer the next requests with these failures, then normally."""
        self.failures.extend(failures)

    def __enter__(self) -> FakeAnthropic:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._closing.set()  # wakes handlers that are sleeping out a timeout
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def next_failure(self) -> Failure | None:
        """The failure the next request gets, if any is left."""
        return self.failures.popleft() if self.failures else None

    def pause(self, seconds: float) -> bool:
        """Sleep, cut short when the server closes; True when it closed."""
        return self._closing.wait(seconds)


def _handler_for(fake: FakeAnthropic) -> type[BaseHTTPRequestHandler]:
    class Handler(_MessagesHandler):
        server_fake = fake

    return Handler


class _MessagesHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_fake: FakeAnthropic

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        fake = self.server_fake
        fake.requests.append(Received(body, {k.lower(): v for k, v in self.headers.items()}))
        if self.path.rstrip("/") != "/v1/messages":
            self._send_error(Failure(status=404), f"no route {self.path}")
            return
        failure = fake.next_failure() or Failure()
        if failure.sleep_s and fake.pause(failure.sleep_s):
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gave up first
            self._answer(body, fake.reply, failure)

    def _answer(self, body: dict[str, Any], reply: Reply, failure: Failure) -> None:
        if failure.drop:
            self._drop()
        elif failure.status is not None:
            self._send_error(failure, f"simulated HTTP {failure.status}")
        elif body.get("stream"):
            self._send_stream(body, reply, break_after_first=failure.break_stream)
        else:
            self._send_json(200, message_body(body, reply))

    def _drop(self) -> None:
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def _send_json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", "req_fake")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, failure: Failure, message: str) -> None:
        status = failure.status or 500
        error_type = ERROR_TYPES.get(status, "api_error")
        payload = {"type": "error", "error": {"type": error_type, "message": message}}
        headers = {"retry-after": failure.retry_after} if failure.retry_after else {}
        self._send_json(status, payload, headers)

    def _send_stream(self, body: dict[str, Any], reply: Reply, *, break_after_first: bool) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for number, (event, data) in enumerate(stream_events(body, reply)):
            self._write_chunk(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
            if break_after_first and data.get("delta", {}).get("type") == "text_delta":
                self._drop()  # mid-body, so the client sees an incomplete chunked message
                return
            if number == 0:
                self._write_chunk(b'event: ping\ndata: {"type": "ping"}\n\n')
        self._write_chunk(b"")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def message_body(request: dict[str, Any], reply: Reply) -> dict[str, Any]:
    """A whole Messages API response."""
    return {
        "id": "msg_fake_01",
        "type": "message",
        "role": "assistant",
        "model": request.get("model", "claude-fake"),
        "content": [{"type": "text", "text": reply.text}],
        "stop_reason": reply.stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
    }


def stream_events(request: dict[str, Any], reply: Reply) -> list[tuple[str, dict[str, Any]]]:
    """The server-sent events of a streamed response, in the order the API sends them."""
    start = message_body(request, reply) | {"content": [], "stop_reason": None}
    start["usage"] = {"input_tokens": reply.input_tokens, "output_tokens": 1}
    deltas = [
        ("content_block_delta", _text_delta(piece)) for piece in re.findall(r"\s*\S+", reply.text)
    ]
    return [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": _text_block("")},
        ),
        *deltas,
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": reply.output_tokens},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


def _text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _text_delta(text: str) -> dict[str, Any]:
    return {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": text},
    }
