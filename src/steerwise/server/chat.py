"""`POST /v1/chat/completions`, served in front of the FastAPI app.

The gateway's one hot route does not go through FastAPI: its middleware stack, routing and
dependency solving were about a fifth of the gateway's interpreter time per chat completion
(profiled under load). `ChatCompletions` answers that path itself with the same parts a
FastAPI route would use (the body validated by pydantic's `ChatRequest`, the caller's role
checked by `check_permission`, `Workspace.run` on a worker thread, Starlette's responses, the
error answers of `server.errors`) and hands every other request to the app behind it. The
app declares the route as well (`create_app`): its OpenAPI schema lists it, it answers other
methods with 405, and it answers as this does (`answer`) for a request that reaches it.
It sits inside `Authenticate`, which has put the caller's key in the request's state.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Iterator
from functools import partial

from pydantic import ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from steerwise.core.errors import SteerwiseError
from steerwise.core.traces import TraceParent
from steerwise.pipeline.request import Answer
from steerwise.server import errors
from steerwise.server.auth import check_permission
from steerwise.server.metrics import Metrics
from steerwise.server.openai_format import ChatRequest, completion, completion_chunks
from steerwise.server.workers import Workers
from steerwise.workspace import Workspace

CHAT_PATH = "/v1/chat/completions"
REQUEST_THREADS = 40
"""Requests answered at once (each blocks a thread while the model answers), as many as
anyio's default that FastAPI's routes use."""


class ChatCompletions:
    """ASGI: answers `POST /v1/chat/completions` (module docstring), passes the rest on."""

    def __init__(self, app: ASGIApp, workspace: Workspace, metrics: Metrics) -> None:
        self.app = app
        self.workspace = workspace
        self.metrics = metrics
        self._workers = Workers(REQUEST_THREADS, name="steerwise-requests")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != CHAT_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        response = await self._respond(scope, receive)
        if response is not None:
            await response(scope, receive, send)

    async def _respond(self, scope: Scope, receive: Receive) -> Response | None:
        """The response to send; None when the client left before its body was read."""
        try:
            caller = scope.get("state", {}).get("caller")
            await check_permission(self.workspace.keys, caller, "infer", f"POST {CHAT_PATH}")
            http = Request(scope, receive)
            try:
                request = ChatRequest.model_validate_json(await http.body())
            except ClientDisconnect:  # (or `BodyLimit` refused the body and answered for us)
                return None
            except ValidationError as error:  # the body's, not one from deeper in the path
                return errors.invalid_body(self.metrics, error.errors())
            parent = TraceParent.parse(http.headers.get("traceparent"))
            return await self._workers.run(partial(self.answer, request, parent))
        except SteerwiseError as error:
            return errors.steerwise_error(self.metrics, error)

    def answer(self, request: ChatRequest, parent: TraceParent | None) -> Response:
        """The request's answer (on a worker thread: the request path blocks). The app's own
        route for this path gives the same, for a request that reaches it."""
        started = time.perf_counter()
        if request.stream:
            return self._streamed(request, started, parent)
        answer = self.workspace.run(request.model, request.prompt_variables(), parent=parent)
        self.metrics.observe(request.model, answer, time.perf_counter() - started)
        headers = {"X-Steerwise-Trace-Id": answer.trace_id, "X-Steerwise-Release": answer.release}
        return JSONResponse(completion(answer, request.model), headers=headers)

    def _streamed(
        self, request: ChatRequest, started: float, parent: TraceParent | None
    ) -> StreamingResponse:
        """Checked text as it is generated; the variables are checked before the stream
        starts (so a bad request is still a 4xx)."""
        streamed = self.workspace.stream(request.model, request.prompt_variables(), parent=parent)

        def observe(answer: Answer) -> None:
            self.metrics.observe(request.model, answer, time.perf_counter() - started)

        usage = request.stream_options is not None and request.stream_options.include_usage
        chunks = completion_chunks(
            streamed.events,
            request.model,
            streamed.trace_id,
            include_usage=usage,
            on_answer=observe,
        )
        headers = {
            "X-Steerwise-Trace-Id": streamed.trace_id,
            "X-Steerwise-Release": streamed.release,
        }
        # the opening chunk and the first text are made here, on this thread: each item a
        # streamed response takes from a blocking iterator is one more hand-over between
        # threads, and they are what the client waits for first
        head = "".join(itertools.islice(chunks, 2))
        body = self._after(head, chunks)
        return StreamingResponse(body, media_type="text/event-stream", headers=headers)

    async def _after(self, head: str, rest: Iterator[str]) -> AsyncIterator[str]:
        """`head`, then the items of a blocking iterator, each made on a worker thread."""
        yield head
        while (item := await self._workers.run(partial(next, rest, None))) is not None:
            yield item
