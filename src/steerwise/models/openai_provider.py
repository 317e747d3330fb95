"""OpenAIChatModel: any OpenAI-compatible server (OpenAI, Azure, vLLM, Ollama, llama.cpp)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

from steerwise.core.models import (
    ChatParams,
    Completion,
    Message,
    ModelCallError,
    StreamDelta,
    Usage,
)
from steerwise.models.failures import import_sdk
from steerwise.models.http_json import JsonPoster
from steerwise.models.interface import StreamEvent
from steerwise.models.structured import with_json_instruction


def import_openai() -> Any:
    """The `openai` SDK, or an error naming the extra to install."""
    return import_sdk("openai", extra="openai", needed_by="the OpenAI-compatible provider")


StructuredMode = Literal["json_schema", "json_object", "prompt"]


def openai_params(params: ChatParams, structured: StructuredMode) -> dict[str, Any]:
    """Chat-completions keyword arguments for the params that are set.

    A response schema goes as OpenAI's native `json_schema` format, as `json_object` with a
    `schema` (llama.cpp's server, vLLM), or not at all (`prompt`: the instruction is in the
    messages and the answer is validated above this layer).
    """
    kwargs: dict[str, Any] = {}
    for name in ("temperature", "max_tokens", "top_p", "seed"):
        value = getattr(params, name)
        if value is not None:
            kwargs[name] = value
    if params.stop:
        kwargs["stop"] = list(params.stop)
    schema = params.response_format
    if schema is not None and structured == "json_schema":
        kwargs["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": schema, "strict": True},
        }
    elif schema is not None and structured == "json_object":
        kwargs["response_format"] = {"type": "json_object", "schema": schema}
    return kwargs


class OpenAIChatModel:
    """Chat completions from any OpenAI-compatible server.

    The official `openai` SDK client resolves the server and key (arguments, then its
    environment variables); requests go through `JsonPoster`, which costs a third of the
    SDK's time per call (the gateway's hot path). Retries are the resilience layer's."""

    def __init__(
        self,
        model_id: str,
        model: str,
        *,
        base_url: str | None,
        api_key: str,
        timeout_s: float,
        structured_output: StructuredMode = "json_schema",
    ) -> None:
        self._openai = import_openai()
        self._structured: StructuredMode = structured_output
        self._id = model_id
        self._model = model
        self._timeout_s = timeout_s
        self._client = self._openai.OpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0
        )
        self._poster = JsonPoster(
            str(self._client.base_url),
            {"Authorization": f"Bearer {self._client.api_key}"},
            model_id=model_id,
        )

    @property
    def model_id(self) -> str:
        return self._id

    @property
    def supports_json_schema(self) -> bool:
        return self._structured != "prompt"

    def _body(self, messages: Sequence[Message], params: ChatParams) -> dict[str, Any]:
        if params.response_format is not None and self._structured == "prompt":
            messages = with_json_instruction(messages, params.response_format)
        return {
            "model": self._model,
            "messages": list(messages),
            **openai_params(params, self._structured),
        }

    def complete(self, messages: Sequence[Message], params: ChatParams) -> Completion:
        """One completion, posted by `JsonPoster` to the server the SDK client resolved
        (base URL and key, environment included); streaming stays with the SDK."""
        timeout = params.timeout_s or self._timeout_s
        noted: list[str] = []
        answer = self._poster.post(
            "/chat/completions", self._body(messages, params), timeout_s=timeout, reconnects=noted
        )
        return completion_from(answer, self._id, tuple(noted))

    def stream(self, messages: Sequence[Message], params: ChatParams) -> Iterator[StreamEvent]:
        """Deltas as the server sends them (`JsonPoster.stream`), then the Completion."""
        timeout = params.timeout_s or self._timeout_s
        body = {
            **self._body(messages, params),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        pieces: list[str] = []
        noted: list[str] = []
        finish, usage = "stop", Usage()
        chunks = self._poster.stream("/chat/completions", body, timeout_s=timeout, reconnects=noted)
        for chunk in chunks:
            counted = chunk.get("usage") if isinstance(chunk, dict) else None
            if counted:
                usage = Usage(counted.get("prompt_tokens", 0), counted.get("completion_tokens", 0))
            for choice in _choices(chunk):
                finish = choice.get("finish_reason") or finish
                text = (choice.get("delta") or {}).get("content")
                if text:
                    pieces.append(text)
                    yield StreamDelta(text)
        yield Completion("".join(pieces), finish, usage, self._id, tuple(noted))


def _choices(chunk: Any) -> list[dict[str, Any]]:
    choices = chunk.get("choices") if isinstance(chunk, dict) else None
    return [c for c in choices or [] if isinstance(c, dict)]


def completion_from(body: Any, model_id: str, reconnects: tuple[str, ...] = ()) -> Completion:
    """A chat-completions answer as a Completion, or a failure naming what is wrong."""
    try:
        choice = body["choices"][0]
        text = choice["message"].get("content") or ""
        finish = choice.get("finish_reason") or "stop"
        usage = body.get("usage") or {}
        counts = Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as error:
        raise ModelCallError(
            model_id,
            f"the server's answer is not a chat completion ({type(error).__name__}: {error})",
            retryable=False,
        ) from None
    return Completion(str(text), str(finish), counts, model_id, reconnects)


def api_error_message(error: Any) -> str:
    """The message inside an OpenAI-style error body, else the error's own text."""
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(getattr(error, "message", error))
