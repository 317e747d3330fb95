"""OpenAIChatModel: any OpenAI-compatible server (OpenAI, Azure, vLLM, Ollama, llama.cpp)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

from steerwise.core.models import ChatParams, Completion, Message, StreamDelta, Usage
from steerwise.models.failures import connection_failure, import_sdk, sdk_failures
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
    """Chat completions through the official `openai` SDK; the SDK's own retries are off."""

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

    @property
    def model_id(self) -> str:
        return self._id

    @property
    def supports_json_schema(self) -> bool:
        return self._structured != "prompt"

    def _create(self, messages: Sequence[Message], params: ChatParams, **extra: Any) -> Any:
        timeout = params.timeout_s or self._timeout_s
        openai = self._openai
        if params.response_format is not None and self._structured == "prompt":
            messages = with_json_instruction(messages, params.response_format)
        with sdk_failures(openai, self._id, timeout, api_error_message):
            return self._client.with_options(timeout=timeout).chat.completions.create(
                model=self._model,
                messages=list(messages),
                **openai_params(params, self._structured),
                **extra,
            )

    def complete(self, messages: Sequence[Message], params: ChatParams) -> Completion:
        response = self._create(messages, params)
        choice = response.choices[0]
        usage = response.usage
        return Completion(
            text=choice.message.content or "",
            finish_reason=choice.finish_reason or "stop",
            usage=Usage(usage.prompt_tokens, usage.completion_tokens) if usage else Usage(),
            model=self._id,
        )

    def stream(self, messages: Sequence[Message], params: ChatParams) -> Iterator[StreamEvent]:
        chunks = self._create(messages, params, stream=True, stream_options={"include_usage": True})
        pieces: list[str] = []
        finish, usage = "stop", Usage()
        try:
            for chunk in chunks:
                if chunk.usage:
                    usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                for choice in chunk.choices:
                    finish = choice.finish_reason or finish
                    if choice.delta and choice.delta.content:
                        pieces.append(choice.delta.content)
                        yield StreamDelta(choice.delta.content)
        except self._openai.APIError as error:
            raise connection_failure(self._id, f"the stream broke: {error}") from None
        yield Completion("".join(pieces), finish, usage, self._id)


def api_error_message(error: Any) -> str:
    """The message inside an OpenAI-style error body, else the error's own text."""
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(getattr(error, "message", error))
