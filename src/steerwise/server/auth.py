"""Authentication and permission checks for the gateway.

`Authenticate` (ASGI middleware) reads `Authorization: Bearer <key>` on every request but
`/healthz` and the static `/review` page; while keys exist, a missing, unknown or revoked
key is a 401, and one that would change state (any method but GET, HEAD and OPTIONS) is
audited as `anonymous`, up to `ANONYMOUS_AUDITS_PER_MINUTE` a minute (beyond that they are
counted in `steerwise_unaudited_refusals_total`, so that nobody outside can grow the log
without bound). The caller's key goes into the request state, and everything the
request changes is audited as that key.
`permit(keys, action)` is the route dependency that refuses (403, audited) a role that may
not take the route's action.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from functools import partial

from anyio import to_thread
from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from steerwise.access import KeyRing
from steerwise.core.access import Action, ApiKey
from steerwise.core.actors import Actor
from steerwise.core.errors import AuthenticationError
from steerwise.server.metrics import Metrics
from steerwise.server.openai_format import error_body

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ANONYMOUS_AUDITS_PER_MINUTE = 60
MAX_TARGET_CHARS = 300
"""An audited target is cut to this length: a stranger's path cannot grow the log much."""
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
        self.budget = RefusalBudget(ANONYMOUS_AUDITS_PER_MINUTE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        try:
            key = self.keys.authenticate(_bearer(scope))
        except AuthenticationError as error:
            self.metrics.observe_error(401)
            if scope["method"] not in READ_METHODS:
                await self._audit_refusal(scope, error.message)
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

    async def _audit_refusal(self, scope: Scope, reason: str) -> None:
        """Audit an unauthenticated attempt to change state, while the budget lasts."""
        if not self.budget.take():
            self.metrics.count("steerwise_unaudited_refusals_total")
            return
        target = f"{scope['method']} {scope['path']}"[:MAX_TARGET_CHARS]
        await to_thread.run_sync(self.keys.record_unauthenticated, target, reason)


class RefusalBudget:
    """At most `per_minute` refusals audited in each minute (a fixed window)."""

    def __init__(self, per_minute: int) -> None:
        self._per_minute = per_minute
        self._lock = threading.Lock()
        self._window_start = float("-inf")
        self._used = 0

    def take(self) -> bool:
        """Whether one more refusal may be audited now."""
        now = time.monotonic()
        with self._lock:
            if now - self._window_start >= 60.0:
                self._window_start, self._used = now, 0
            if self._used >= self._per_minute:
                return False
            self._used += 1
            return True


def permit(keys: KeyRing, action: Action) -> Callable[[Request], Awaitable[None]]:
    """A route dependency: the caller's role must allow `action` (403 otherwise)."""

    async def check(request: Request) -> None:
        caller: ApiKey | None = getattr(request.state, "caller", None)
        await check_permission(keys, caller, action, f"{request.method} {request.url.path}")

    return check


async def check_permission(
    keys: KeyRing, caller: ApiKey | None, action: Action, target: str
) -> None:
    """Raise PermissionDeniedError (audited, against `target`) unless `caller` may take
    `action`. Asynchronous, so that an allowed request is checked on the event loop rather
    than handed to a worker thread; only a refusal, which writes to the audit log, is."""
    if keys.allows(caller, action):
        return
    await to_thread.run_sync(partial(keys.authorize, caller, action, target=target))


def _bearer(scope: Scope) -> str | None:
    headers: dict[bytes, bytes] = dict(scope.get("headers") or [])
    value = headers.get(b"authorization", b"").decode("latin-1").strip()
    scheme, _, token = value.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    api_key = headers.get(b"x-api-key", b"").decode("latin-1").strip()
    return api_key or None
