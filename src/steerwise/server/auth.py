"""Authentication and permission checks for the gateway.

`Authenticate` (ASGI middleware) reads `Authorization: Bearer <key>` on every request but
`/healthz` and the static `/review` page; while keys exist, a missing, unknown or revoked
key is a 401. The caller's key goes into the request state, and everything the request
changes is audited as that key.
`permit(keys, action)` is the route dependency that refuses (403, audited) a role that may
not take the route's action.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from steerwise.access import KeyRing
from steerwise.core.access import Action, ApiKey
from steerwise.core.actors import Actor
from steerwise.core.errors import AuthenticationError
from steerwise.server.metrics import Metrics
from steerwise.server.openai_format import error_body

OPEN_PATHS = frozenset({"/healthz", "/review", "/console"})
"""Paths that need no key: the health check, the reviewer's page and the console (static:
they hold no data and ask for a key themselves)."""


class Authenticate:
    """Resolves the caller's API key, or answers 401 (module docstring)."""

    def __init__(self, app: ASGIApp, *, keys: KeyRing, actor: Actor, metrics: Metrics) -> None:
        self.app = app
        self.keys = keys
        self.actor = actor
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        try:
            key = self.keys.authenticate(_bearer(scope))
        except AuthenticationError as error:
            self.metrics.observe_error(401)
            body = error_body(error.message, "invalid_request_error", "invalid_api_key")
            headers = {"WWW-Authenticate": "Bearer"}
            await JSONResponse(body, status_code=401, headers=headers)(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = key
        if key is None:
            await self.app(scope, receive, send)
            return
        with self.actor.acting_as(key.actor):
            await self.app(scope, receive, send)


def permit(keys: KeyRing, action: Action) -> Callable[[Request], None]:
    """A route dependency: the caller's role must allow `action` (403 otherwise)."""

    def check(request: Request) -> None:
        caller: ApiKey | None = getattr(request.state, "caller", None)
        keys.authorize(caller, action, target=f"{request.method} {request.url.path}")

    return check


def _bearer(scope: Scope) -> str | None:
    headers: dict[bytes, bytes] = dict(scope.get("headers") or [])
    value = headers.get(b"authorization", b"").decode("latin-1").strip()
    scheme, _, token = value.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    api_key = headers.get(b"x-api-key", b"").decode("latin-1").strip()
    return api_key or None
