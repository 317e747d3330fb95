"""The gateway app: OpenAI-compatible chat completions served by deployments and releases.

`model` in a request names what answers: a deployment (`support-bot@production`), a release
id or `NAME@VERSION`, or a prompt (`prompt:NAME@LABEL`). The last user message is the
`question`; a `variables` (or `metadata`) object in the body adds variables. Every request
goes through `Workspace.run` (rails, retrieval, facts, model, citations) and leaves a trace;
the answer's citations, decisions, confidence and trace id travel in the response's
`steerwise` field and in `X-Steerwise-Trace-Id` / `X-Steerwise-Release` headers. Errors use
the OpenAI error format: 400 for a malformed body or bad variables, 404 for an unknown
model, 413 for a body over the size limit, 502 when the upstream model failed, 504 when it
timed out; an error answer to a request that left a trace names it in `X-Steerwise-Trace-Id`.
A W3C `traceparent` header makes the request's exported OpenTelemetry spans children of the
caller's span.

While API keys exist every route but `/healthz` needs one (401 without), and each route
checks the caller's role (403): chat completions need `infer`, listings `read`, and the REST
API under `/api/` (`server.api`) the action of each route.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from steerwise.core.access import Action
from steerwise.core.errors import (
    AuthenticationError,
    BadInputError,
    NotFoundError,
    PermissionDeniedError,
    SteerwiseError,
    trace_id_of,
)
from steerwise.core.models import ModelError, ModelTimeoutError
from steerwise.core.traces import TraceParent
from steerwise.pipeline.request import Answer
from steerwise.server.api import api_router
from steerwise.server.auth import Authenticate, permit
from steerwise.server.console import console_router
from steerwise.server.metrics import Metrics
from steerwise.server.openai_format import (
    ChatRequest,
    completion,
    completion_chunks,
    error_body,
)
from steerwise.server.review_api import review_router
from steerwise.workspace import Workspace

MAX_BODY_BYTES = 1_000_000


def create_app(workspace: Workspace, *, max_body_bytes: int = MAX_BODY_BYTES) -> ASGIApp:
    """The ASGI app serving `workspace` (FastAPI behind a body-size limit and API keys)."""
    app = FastAPI(title="steerwise gateway", docs_url=None, redoc_url=None)
    metrics = Metrics({"steerwise_trace_backlog": lambda: workspace.traces.backlog})
    _add_error_handlers(app, metrics)

    def allowed(action: Action) -> Callable[[Request], Awaitable[None]]:
        return permit(workspace.keys, action)

    @app.get("/metrics", response_class=PlainTextResponse, dependencies=[Depends(allowed("read"))])
    def prometheus() -> str:
        return metrics.render()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models", dependencies=[Depends(allowed("read"))])
    def list_models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [
                {"id": name, "object": "model", "created": 0, "owned_by": "steerwise"}
                for name, _ in workspace.releases.deployments()
            ],
        }

    @app.post("/v1/chat/completions", response_model=None, dependencies=[Depends(allowed("infer"))])
    def chat_completions(body: ChatRequest, request: Request) -> JSONResponse | StreamingResponse:
        started = time.perf_counter()
        parent = TraceParent.parse(request.headers.get("traceparent"))
        if body.stream:
            return _streamed(workspace, metrics, body, started, parent)
        answer = workspace.run(body.model, body.prompt_variables(), parent=parent)
        metrics.observe(body.model, answer, time.perf_counter() - started)
        headers = {"X-Steerwise-Trace-Id": answer.trace_id, "X-Steerwise-Release": answer.release}
        return JSONResponse(completion(answer, body.model), headers=headers)

    # after the OpenAI routes: routes are matched in order, and a chat completion should not
    # first be tried against every REST route (measured: 8% of the gateway's interpreter time)
    app.include_router(api_router(workspace, allowed))
    app.include_router(review_router(workspace, allowed))
    app.include_router(console_router(workspace, allowed))
    authenticated = Authenticate(app, keys=workspace.keys, actor=workspace.actor, metrics=metrics)
    return BodyLimit(authenticated, max_body_bytes)


def _streamed(
    workspace: Workspace,
    metrics: Metrics,
    body: ChatRequest,
    started: float,
    parent: TraceParent | None,
) -> StreamingResponse:
    """Checked text as it is generated; the variables are checked before the stream starts
    (so a bad request is still a 4xx)."""
    streamed = workspace.stream(body.model, body.prompt_variables(), parent=parent)

    def observe(answer: Answer) -> None:
        metrics.observe(body.model, answer, time.perf_counter() - started)

    usage = body.stream_options is not None and body.stream_options.include_usage
    chunks = completion_chunks(
        streamed.events, body.model, streamed.trace_id, include_usage=usage, on_answer=observe
    )
    headers = {"X-Steerwise-Trace-Id": streamed.trace_id, "X-Steerwise-Release": streamed.release}
    return StreamingResponse(chunks, media_type="text/event-stream", headers=headers)


def _add_error_handlers(app: FastAPI, metrics: Metrics) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid body"}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        message = f"{where}: {first['msg']}" if where else str(first["msg"])
        metrics.observe_error(400)
        return JSONResponse(error_body(message, "invalid_request_error"), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        metrics.observe_error(error.status_code)
        kind = "not_found_error" if error.status_code == 404 else "invalid_request_error"
        body = error_body(str(error.detail), kind)
        return JSONResponse(body, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(SteerwiseError)
    async def steerwise_error(request: Request, error: SteerwiseError) -> JSONResponse:
        status, kind = _status_of(error)
        metrics.observe_error(status)
        traced = trace_id_of(error)
        headers = {"X-Steerwise-Trace-Id": traced} if traced else None
        return JSONResponse(error_body(str(error), kind), status_code=status, headers=headers)


def _status_of(error: SteerwiseError) -> tuple[int, str]:
    """The HTTP status and OpenAI error type of an error (the first class it is, in order)."""
    for kind, status, name in _STATUSES:
        if isinstance(error, kind):
            return status, name
    return 500, "server_error"


_STATUSES: tuple[tuple[type[SteerwiseError], int, str], ...] = (
    (AuthenticationError, 401, "invalid_request_error"),
    (PermissionDeniedError, 403, "permission_error"),
    (NotFoundError, 404, "not_found_error"),
    (BadInputError, 400, "invalid_request_error"),
    (ModelTimeoutError, 504, "upstream_timeout"),
    (ModelError, 502, "upstream_error"),
)


class BodyLimit:
    """Refuses request bodies over `limit` bytes with 413: by the declared Content-Length
    before the app reads anything, and by counting what arrives for a chunked body."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and int(declared) > self.limit:
            await self._too_large()(scope, receive, send)
            return
        await self._counted(scope, receive, send)

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A body without a declared length: count it as it arrives; past the limit, answer
        413 and tell the app the client left (whatever it answers then is dropped)."""
        received, refused = 0, False

        async def counted() -> Message:
            nonlocal received, refused
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit and not refused:
                refused = True
                await self._too_large()(scope, receive, send)
                return {"type": "http.disconnect"}
            return message

        async def unless_refused(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted, unless_refused)

    def _too_large(self) -> JSONResponse:
        body = error_body(f"request body over {self.limit} bytes", "invalid_request_error")
        return JSONResponse(body, status_code=413)
