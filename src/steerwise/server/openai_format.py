"""Requests and responses in the OpenAI chat-completions format, built from an Answer."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from steerwise.core.errors import BadInputError, SteerwiseError
from steerwise.core.models import ModelError, StreamDelta
from steerwise.pipeline.request import Answer

REFUSED = ("block", "fallback")


class ChatMessage(BaseModel):
    """One message of the conversation (text content only)."""

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | None = None


class StreamOptions(BaseModel):
    """`stream_options`: `include_usage` adds a last chunk with the token counts."""

    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatRequest(BaseModel):
    """The body of `POST /v1/chat/completions`; `variables` (or `metadata`) add variables."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    variables: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None

    def prompt_variables(self) -> dict[str, Any]:
        """The last user message as `question`, with the request's extra variables."""
        users = [m.content for m in self.messages if m.role == "user" and m.content]
        if not users:
            raise BadInputError("messages: no user message with text content")
        extra = {**(self.metadata or {}), **(self.variables or {})}
        return {"question": users[-1], **extra}


def completion(answer: Answer, model: str) -> dict[str, Any]:
    """An OpenAI `chat.completion` for `answer`; steerwise's details in `steerwise`."""
    return {
        "id": f"chatcmpl-{answer.trace_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.text},
                "finish_reason": _finish_reason(answer),
            }
        ],
        "usage": _usage(answer),
        "steerwise": answer.to_dict(),
    }


def completion_chunks(
    events: Iterable[StreamDelta | Answer],
    model: str,
    trace_id: str,
    *,
    include_usage: bool = False,
    on_answer: Callable[[Answer], None] | None = None,
) -> Iterator[str]:
    """Server-sent `chat.completion.chunk`s as checked text is released, then the last chunk
    (finish reason and steerwise's details), a usage chunk when asked, and `[DONE]`.

    A failure after the stream began cannot change the status any more: it is sent as an
    `error` event in the OpenAI format and the stream ends without `[DONE]`."""
    base = {
        "id": f"chatcmpl-{trace_id}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }
    yield _chunk(base, {"role": "assistant", "content": ""})
    try:
        answer = None
        for event in events:
            if isinstance(event, StreamDelta):
                if event.text:
                    yield _chunk(base, {"content": event.text})
            else:
                answer = event
    except SteerwiseError as error:
        kind = "upstream_error" if isinstance(error, ModelError) else "server_error"
        yield _event(error_body(str(error), kind))
        return
    if answer is None:  # the events always end with the answer
        return
    if on_answer is not None:
        on_answer(answer)
    yield _chunk(base, {}, _finish_reason(answer), steerwise=answer.to_dict())
    if include_usage:
        yield _event({**base, "choices": [], "usage": _usage(answer)})
    yield "data: [DONE]\n\n"


def error_body(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    """The OpenAI error format."""
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _finish_reason(answer: Answer) -> str:
    return "content_filter" if answer.outcome in REFUSED else "stop"


def _usage(answer: Answer) -> dict[str, int]:
    prompt_tokens = sum(r.answer.usage.input_tokens for r in answer.runs)
    completion_tokens = sum(r.answer.usage.output_tokens for r in answer.runs)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _chunk(
    base: dict[str, Any], delta: dict[str, Any], finish: str | None = None, **extra: Any
) -> str:
    return _event(
        {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    )


def _event(body: dict[str, Any]) -> str:
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"
