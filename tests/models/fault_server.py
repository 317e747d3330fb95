"""A small OpenAI-compatible server that fails on a schedule: 429, 5xx, slow, dropped."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Behaviour:
    """What the server does with one request."""

    kind: str  # "ok", "status", "slow", "drop", "broken"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    text: str = "fine"
    pause_s: float = 0.0  # between the words of a streamed answer


def ok(text: str = "fine", *, pause_s: float = 0.0) -> Behaviour:
    return Behaviour("ok", text=text, pause_s=pause_s)


def status(code: int, **headers: str) -> Behaviour:
    return Behaviour(
        "status", status=code, headers={k.replace("_", "-"): v for k, v in headers.items()}
    )


def slow(seconds: float) -> Behaviour:
    return Behaviour("slow", seconds=seconds)


def drop() -> Behaviour:
    return Behaviour("drop")


def broken(text: str = "fine") -> Behaviour:
    """A 200 whose body stops half-way: a JSON answer cut short, or a stream that ends
    after its first chunk without `[DONE]`."""
    return Behaviour("broken", text=text)


class FaultServer:
    """Serves `/v1/chat/completions`; each request takes the next scheduled behaviour."""

    def __init__(
        self,
        *schedule: Behaviour,
        default: Behaviour | None = None,
        chooser: Callable[[], Behaviour] | None = None,
    ) -> None:
        self.schedule: deque[Behaviour] = deque(schedule)
        self.default = default or ok()
        self.chooser = chooser
        self.served: list[str] = []  # the kind of each behaviour, in order
        self.requests: list[dict[str, Any]] = []
        self.times: list[float] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                server.times.append(time.monotonic())
                behaviour = server.next_behaviour()
                server.served.append(behaviour.kind)
                server.act(self, behaviour, body)

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def next_behaviour(self) -> Behaviour:
        if self.schedule:
            return self.schedule.popleft()
        return self.chooser() if self.chooser else self.default

    @property
    def base_url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}/v1"

    def act(
        self, handler: BaseHTTPRequestHandler, behaviour: Behaviour, body: dict[str, Any]
    ) -> None:
        if behaviour.kind == "drop":
            handler.connection.shutdown(2)
            handler.close_connection = True
            return
        if behaviour.kind == "slow":
            time.sleep(behaviour.seconds)
        if behaviour.kind == "broken":
            self._broken(handler, body, behaviour.text)
            return
        if behaviour.kind == "status":
            payload = json.dumps({"error": {"message": f"scheduled {behaviour.status}"}}).encode()
            handler.send_response(behaviour.status)
            for key, value in behaviour.headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
            return
        if body.get("stream"):
            self._stream(handler, body, behaviour.text, behaviour.pause_s)
        else:
            self._answer(handler, body, behaviour.text)

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, body: dict[str, Any], text: str) -> None:
        payload = json.dumps(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
            }
        ).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    @staticmethod
    def _stream(
        handler: BaseHTTPRequestHandler, body: dict[str, Any], text: str, pause_s: float
    ) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        base = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": body["model"],
        }
        for word in text.split(" "):
            chunk = {
                **base,
                "choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}],
            }
            handler.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            handler.wfile.flush()
            time.sleep(pause_s)
        end = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        usage = {
            **base,
            "choices": [],
            "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
        }
        for item in (end, usage):
            handler.wfile.write(f"data: {json.dumps(item)}\n\n".encode())
        handler.wfile.write(b"data: [DONE]\n\n")

    @staticmethod
    def _broken(handler: BaseHTTPRequestHandler, body: dict[str, Any], text: str) -> None:
        handler.close_connection = True
        handler.send_response(200)
        if body.get("stream"):
            handler.send_header("Content-Type", "text/event-stream")
            handler.end_headers()
            chunk = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
            handler.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        else:
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", "400")
            handler.end_headers()
            handler.wfile.write(b'{"id": "chatcmpl-1", "object": "chat.completion", "choi')
        handler.wfile.flush()
        handler.connection.shutdown(2)

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._http.shutdown()
        self._http.server_close()
