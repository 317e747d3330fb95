"""Turning provider failures into ModelCallErrors that say whether a retry may help."""

from __future__ import annotations

import email.utils
import importlib
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from steerwise.core.models import ModelCallError, ModelInputError

RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})
MAX_RETRY_AFTER_S = 120.0


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        seconds = parsed.timestamp() - (now if now is not None else time.time())
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def status_failure(
    model: str, status: int, message: str, headers: Mapping[str, str] | None = None
) -> ModelCallError:
    """An HTTP status error: 429, 408 and 5xx may succeed later, other 4xx cannot."""
    retryable = status in RETRYABLE_STATUSES or status >= 500
    retry_after = parse_retry_after((headers or {}).get("retry-after"))
    hint = _hint_for(status)
    return ModelCallError(
        model,
        f"HTTP {status}: {message}",
        retryable=retryable,
        status=status,
        retry_after_s=retry_after,
        hint=hint,
    )


def _hint_for(status: int) -> str | None:
    if status in (401, 403):
        return "check the API key (the model's api_key_env) and its permissions"
    if status == 404:
        return "check the model name and base_url"
    if status == 429:
        return "the provider is rate limiting; retries honour its Retry-After"
    return None


TIMED_OUT = "timed out"


def timeout_failure(model: str, timeout_s: float | None) -> ModelCallError:
    """The call took longer than its timeout."""
    limit = f" after {timeout_s:g} s" if timeout_s else ""
    return ModelCallError(model, f"{TIMED_OUT}{limit}", retryable=True)


def connection_failure(model: str, detail: str) -> ModelCallError:
    """The server could not be reached or dropped the connection."""
    return ModelCallError(
        model,
        f"connection failed: {detail}",
        retryable=True,
        hint="check base_url and that the server is running",
    )


@contextmanager
def sdk_failures(
    sdk: Any, model: str, timeout_s: float, message_of: Callable[[Any], str]
) -> Iterator[None]:
    """Translate the errors of an official SDK (openai's, anthropic's: they share the names)
    raised inside the block into ModelCallErrors."""
    try:
        yield
    except sdk.APITimeoutError:
        raise timeout_failure(model, timeout_s) from None
    except sdk.APIConnectionError as error:
        raise connection_failure(model, str(error.__cause__ or error)) from None
    except sdk.APIStatusError as error:
        raise status_failure(
            model, error.status_code, message_of(error), error.response.headers
        ) from None


def import_sdk(module: str, *, extra: str, needed_by: str) -> Any:
    """An optional SDK module, or an error naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ModelInputError(
            f"{needed_by} needs the {module} SDK, which is not installed",
            hint=f"install the extra: pip install 'steerwise[{extra}]'",
        ) from error
