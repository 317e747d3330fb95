"""Retries with backoff and jitter, and fallback along a chain of models; every try recorded."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from steerwise.core.models import (
    Attempt,
    ChatParams,
    Completion,
    Message,
    ModelCallError,
    ModelError,
    ModelTimeoutError,
    StreamDelta,
)
from steerwise.models.failures import TIMED_OUT
from steerwise.models.interface import ChatModel, StreamEvent


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait: exponential backoff with jitter, or `Retry-After`."""

    max_retries: int = 2
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    jitter: float = 0.5

    def delay_s(self, retry_number: int, retry_after_s: float | None) -> float:
        """Seconds to wait before retry `retry_number` (1-based)."""
        if retry_after_s is not None:
            return retry_after_s
        backoff = min(self.max_delay_s, self.base_delay_s * 2.0 ** (retry_number - 1))
        return backoff * (1 - self.jitter * random.random())


@dataclass(frozen=True)
class ChainLink:
    """One model of a fallback chain and its retry policy."""

    model: ChatModel
    policy: RetryPolicy


class AttemptLog:
    """The attempts of one call, in order."""

    def __init__(self) -> None:
        self.attempts: list[Attempt] = []

    def add(self, attempt: Attempt) -> None:
        """Record one attempt."""
        self.attempts.append(attempt)


def complete_with_fallback(
    chain: Sequence[ChainLink], messages: Sequence[Message], params: ChatParams, log: AttemptLog
) -> Completion:
    """Try each model of the chain in turn, retrying retryable failures with backoff."""
    return _along_chain(chain, log, lambda link: link.model.complete(messages, params))


def stream_with_fallback(
    chain: Sequence[ChainLink], messages: Sequence[Message], params: ChatParams, log: AttemptLog
) -> Iterator[StreamEvent]:
    """Stream from the first model that answers, retrying failures with backoff and then
    the fallbacks, also when a stream breaks after some of its words were sent: the new
    stream must then repeat them (a greedy model does) and only the rest is sent; a stream
    that says something else fails (`resumed`)."""
    sent: list[str] = []
    for link in chain:
        for number in range(1, link.policy.max_retries + 2):
            started = time.monotonic()
            try:
                for event in resumed(
                    link.model.stream(messages, params), sent, link.model.model_id
                ):
                    if isinstance(event, Completion):  # the last event: the try succeeded
                        _reconnected(link, number, event.reconnects, log)
                        elapsed = time.monotonic() - started
                        log.add(Attempt(link.model.model_id, number, "ok", elapsed))
                    yield event
            except ModelCallError as error:
                if not _after_failure(link, number, error, started, log):
                    break
                continue
            return
    raise _exhausted(chain, log)


def resumed(events: Iterator[StreamEvent], sent: list[str], model: str) -> Iterator[StreamEvent]:
    """`events` of a new try after `sent` (the deltas already passed on): its first words must
    repeat them and are not passed on again; every delta passed on is added to `sent`."""
    pending = "".join(sent)
    for event in events:
        if not isinstance(event, StreamDelta):
            if pending:  # the new answer ended before repeating what was sent
                raise _diverged(model)
            yield event
            continue
        text = event.text
        if pending:
            overlap = min(len(text), len(pending))
            if text[:overlap] != pending[:overlap]:
                raise _diverged(model)
            pending, text = pending[overlap:], text[overlap:]
        if text:
            sent.append(text)
            yield event if text == event.text else StreamDelta(text)


def _diverged(model: str) -> ModelCallError:
    return ModelCallError(
        model,
        "the stream broke, and the retried answer differs from the words already sent",
        retryable=False,
        hint="streams resume only where the model answers the same way again (temperature 0)",
    )


def _along_chain(
    chain: Sequence[ChainLink], log: AttemptLog, call: Callable[[ChainLink], Completion]
) -> Completion:
    for link in chain:
        for number in range(1, link.policy.max_retries + 2):
            started = time.monotonic()
            try:
                completion = call(link)
            except ModelCallError as error:
                if not _after_failure(link, number, error, started, log):
                    break
                continue
            _reconnected(link, number, completion.reconnects, log)
            log.add(Attempt(link.model.model_id, number, "ok", time.monotonic() - started))
            return completion
    raise _exhausted(chain, log)


def _reconnected(link: ChainLink, number: int, causes: Sequence[str], log: AttemptLog) -> None:
    """An attempt for each time the try was sent again because its kept-alive connection
    turned out closed (`Completion.reconnects`): sent again at once, not counted a retry."""
    for cause in causes:
        message = f"{cause}: the kept-alive connection was closed; sent again on a new one"
        log.add(Attempt(link.model.model_id, number, "retry", 0.0, message))


def _after_failure(
    link: ChainLink,
    number: int,
    error: ModelCallError,
    started: float,
    log: AttemptLog,
) -> bool:
    """Record the failure; wait and return True when this model should be tried again."""
    _reconnected(link, number, error.reconnects, log)
    elapsed = time.monotonic() - started
    retry = error.retryable and number <= link.policy.max_retries
    wait = link.policy.delay_s(number, error.retry_after_s) if retry else 0.0
    outcome: Literal["retry", "failed"] = "retry" if retry else "failed"
    log.add(
        Attempt(link.model.model_id, number, outcome, elapsed, error.message, error.status, wait)
    )
    if retry:
        time.sleep(wait)
    return retry


def _exhausted(chain: Sequence[ChainLink], log: AttemptLog) -> ModelError:
    failures = [a for a in log.attempts if a.error]
    last = failures[-1] if failures else None
    names = " -> ".join(link.model.model_id for link in chain)
    detail = f": last error: {last.error}" if last else ""
    timed_out = last is not None and last.status is None and TIMED_OUT in (last.error or "")
    return (ModelTimeoutError if timed_out else ModelError)(
        f"every model failed ({names}; {len(log.attempts)} attempts){detail}",
        hint="see the attempts for each error; check the models' servers and keys",
    )
