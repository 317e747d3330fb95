"""Requests and responses in the OpenAI chat-completions format, built from an Answer."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from steerwise.core.errors import BadInputError
from steerwise.pipeline.request import Answer

REFUSED = ("block", "fallback")
CHUNK_CHARS = 64


class ChatMessage(BaseModel):
    """One message of the conversation (text content only)."""

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | None = None


class ChatRequest(BaseModel):
    """The body of `POST /v1/chat/completions`; `variables` (or `metadata`) add variables."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
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
    prompt_tokens = sum(r.answer.usage.input_tokens for r in answer.runs)
    completion_tokens = sum(r.answer.usage.output_tokens for r in answer.runs)
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
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "steerwise": answer.to_dict(),
    }


def completion_chunks(answer: Answer, model: str) -> Iterator[str]:
    """Server-sent events of `chat.completion.chunk`s carrying the answer, then `[DONE]`."""
    base = {
        "id": f"chatcmpl-{answer.trace_id}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }
    pieces = [answer.text[i : i + CHUNK_CHARS] for i in range(0, len(answer.text), CHUNK_CHARS)]
    first = {"role": "assistant", "content": ""}
    yield _event({**base, "choices": [{"index": 0, "delta": first, "finish_reason": None}]})
    for piece in pieces:
        delta = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
        yield _event({**base, "choices": [delta]})
    last = {"index": 0, "delta": {}, "finish_reason": _finish_reason(answer)}
    yield _event({**base, "choices": [last], "steerwise": answer.to_dict()})
    yield "data: [DONE]\n\n"


def error_body(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    """The OpenAI error format."""
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _finish_reason(answer: Answer) -> str:
    return "content_filter" if answer.outcome in REFUSED else "stop"


def _event(body: dict[str, Any]) -> str:
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"
