"""Webhook notifications: JSON POSTs signed with HMAC-SHA256, retried with backoff.

Each notification is one JSON body sent to every configured webhook with the headers

    X-Steerwise-Event: incident.opened | incident.resolved
    X-Steerwise-Delivery: <a unique id, the same on every attempt>
    X-Steerwise-Signature: sha256=<hex HMAC-SHA256 of the exact body, keyed by the secret>

(the signature only when the webhook names a `secret_env`). A receiver checks it with
`hmac.compare_digest`. A webhook that is down, slow or answers 5xx or 429 is tried again
`attempts` times in all, waiting 0.5 s, 1 s, 2 s, ... between tries, each try bounded by
`timeout_s`; the outcome of every webhook is returned and kept on the incident. This runs on
the alert evaluator's thread, never on a request's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from steerwise.core.alerts import Webhook
from steerwise.core.clock import utc_now

FIRST_BACKOFF_S = 0.5


def signature(body: bytes, secret: str) -> str:
    """The `X-Steerwise-Signature` value of `body` under `secret`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookNotifier:
    """Sends notifications to the configured webhooks (module docstring)."""

    def __init__(
        self, webhooks: Sequence[Webhook], *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._webhooks = tuple(webhooks)
        self._sleep = sleep

    def send(self, event: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """Deliver `payload` to every webhook; one outcome per webhook."""
        body = json.dumps({"event": event, **payload}, sort_keys=True).encode()
        delivery = uuid.uuid4().hex
        return [self._deliver(hook, event, body, delivery) for hook in self._webhooks]

    def _deliver(self, hook: Webhook, event: str, body: bytes, delivery: str) -> dict[str, Any]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "steerwise-alerts",
            "X-Steerwise-Event": event,
            "X-Steerwise-Delivery": delivery,
        }
        secret = os.environ.get(hook.secret_env, "") if hook.secret_env else ""
        if secret:
            headers["X-Steerwise-Signature"] = signature(body, secret)
        error = ""
        for attempt in range(1, hook.attempts + 1):
            if attempt > 1:
                self._sleep(FIRST_BACKOFF_S * 2 ** (attempt - 2))
            status, error = _post(hook, body, headers)
            if 200 <= status < 300:
                return _outcome(hook, event, delivery, attempt, ("delivered", f"HTTP {status}"))
            if status and status < 500 and status != 429:
                break  # the receiver refused it: trying again cannot help
        return _outcome(hook, event, delivery, attempt, ("failed", error))


def _post(hook: Webhook, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """(HTTP status, error text); status 0 when no answer came."""
    request = urllib.request.Request(hook.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=hook.timeout_s) as answer:
            return int(answer.status), ""
    except urllib.error.HTTPError as failure:
        return int(failure.code), f"HTTP {failure.code}"
    except (urllib.error.URLError, OSError) as failure:
        reason = getattr(failure, "reason", failure)
        return 0, f"{type(failure).__name__}: {reason}"


def _outcome(
    hook: Webhook, event: str, delivery: str, attempts: int, result: tuple[str, str]
) -> dict[str, Any]:
    status, detail = result
    return {
        "url": hook.url,
        "event": event,
        "delivery": delivery,
        "status": status,
        "attempts": attempts,
        "detail": detail,
        "at": utc_now(),
    }
