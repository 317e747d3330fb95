"""The gateway app: OpenAI-compatible chat completions served by deployments and releases.

`model` in a request names what answers: a deployment (`support-bot@production`), a release
id or `NAME@VERSION`, or a prompt (`prompt:NAME@LABEL`). The last user message is the
`question`; a `variables` (or `metadata`) object in the body adds variables. Every request
goes through `Workspace.run` (rails, retrieval, facts, model, citations) and leaves a trace;
the answer's citations, decisions, confidence and trace id travel in the response's
`steerwise` field and in `X-Steerwise-Trace-Id` / `X-Steerwise-Release` headers. Errors use
the OpenAI error format (`server.errors`): 400 for a malformed body or bad variables, 404 for
an unknown model, 405 for a method a path does not take, 413 for a body over the size limit,
502 when the upstream model failed, 504 when it timed out; an error answer to a request that
left a trace names it in `X-Steerwise-Trace-Id`.
A W3C `traceparent` header makes the request's exported OpenTelemetry spans children of the
caller's span. Chat completions are answered in front of FastAPI (`server.chat`), every other
route by it.

While API keys exist every route but `/healthz` needs one (401 without), and each route
checks the caller's role (403): chat completions need `infer`, listings `read`, and the REST
API under `/api/` (`server.api`) the action of each route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.telemetry import TelemetryConfig
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from steerwise.core.access import Action
from steerwise.core.errors import SteerwiseError
from steerwise.core.traces import TraceParent
from steerwise.server import errors
from steerwise.server.api import api_router
from steerwise.server.auth import Authenticate, permit
from steerwise.server.chat import CHAT_PATH, ChatCompletions
from steerwise.server.console import console_router
from steerwise.server.metrics import Metrics
from steerwise.server.openai_format import ChatRequest, error_body
from steerwise.server.review_api import review_router
from steerwise.workspace import Workspace

MAX_BODY_BYTES = 1_000_000
NO_HTTP_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
"""FastAPI's own OpenTelemetry spans and metrics off: steerwise's traces are the request's
record (exported by `[tracing]`), and FastAPI otherwise asks on every request whether a
global OpenTelemetry provider was configured (measured: 2-3% of the gateway's time)."""


def create_app(
    workspace: Workspace, *, max_body_bytes: int = MAX_BODY_BYTES, chat_in_front: bool = True
) -> ASGIApp:
    """The ASGI app serving `workspace` (FastAPI behind a body-size limit and API keys, chat
    completions answered in front of it unless `chat_in_front` is false: then by its own
    route, with the same answers, more slowly)."""
    app = FastAPI(
        title="steerwise gateway", docs_url=None, redoc_url=None, telemetry=NO_HTTP_TELEMETRY
    )
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

    chat = ChatCompletions(app, workspace, metrics)  # answers POSTs before the app sees them

    @app.post(CHAT_PATH, response_model=None, dependencies=[Depends(allowed("infer"))])
    def chat_completions(body: ChatRequest, request: Request) -> Response:
        return chat.answer(body, TraceParent.parse(request.headers.get("traceparent")))

    # after the OpenAI routes: routes are matched in order
    app.include_router(api_router(workspace, allowed))
    app.include_router(review_router(workspace, allowed))
    app.include_router(console_router(workspace, allowed))
    front = chat if chat_in_front else app
    authenticated = Authenticate(front, keys=workspace.keys, actor=workspace.actor, metrics=metrics)
    return BodyLimit(authenticated, max_body_bytes)


def _add_error_handlers(app: FastAPI, metrics: Metrics) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, error: RequestValidationError) -> JSONResponse:
        return errors.invalid_body(metrics, error.errors())

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return errors.http_error(metrics, error.status_code, str(error.detail), error.headers)

    @app.exception_handler(SteerwiseError)
    async def steerwise_error(request: Request, error: SteerwiseError) -> JSONResponse:
        return errors.steerwise_error(metrics, error)


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
