"""The gateway's error answers, in the OpenAI error format, each counted in the metrics.

One place for every route: FastAPI's exception handlers (`server.app`) and the chat
completions route that bypasses FastAPI (`server.chat`) answer the same error the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi.responses import JSONResponse

from steerwise.core.errors import (
    AuthenticationError,
    BadInputError,
    NotFoundError,
    PermissionDeniedError,
    SteerwiseError,
    trace_id_of,
)
from steerwise.core.models import ModelError, ModelTimeoutError
from steerwise.server.metrics import Metrics
from steerwise.server.openai_format import error_body


def invalid_body(metrics: Metrics, errors: Sequence[Mapping[str, Any]]) -> JSONResponse:
    """400 for a body that is not JSON or not a valid request: the first problem, with
    where it is (`messages.0.content: ...`)."""
    first = errors[0] if errors else {"loc": (), "msg": "invalid body"}
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = f"{where}: {first['msg']}" if where else str(first["msg"])
    metrics.observe_error(400)
    return JSONResponse(error_body(message, "invalid_request_error"), status_code=400)


def http_error(
    metrics: Metrics, status: int, detail: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """An HTTP error (404 for an unknown path, 405 for a method a path does not take, ...)."""
    metrics.observe_error(status)
    kind = "not_found_error" if status == 404 else "invalid_request_error"
    return JSONResponse(error_body(detail, kind), status_code=status, headers=headers)


def steerwise_error(metrics: Metrics, error: SteerwiseError) -> JSONResponse:
    """steerwise's own errors by kind (`status_of`); an error of a request that left a trace
    names it in `X-Steerwise-Trace-Id`."""
    status, kind = status_of(error)
    metrics.observe_error(status)
    traced = trace_id_of(error)
    headers = {"X-Steerwise-Trace-Id": traced} if traced else None
    return JSONResponse(error_body(str(error), kind), status_code=status, headers=headers)


def status_of(error: SteerwiseError) -> tuple[int, str]:
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
