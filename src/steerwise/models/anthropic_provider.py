"""AnthropicChatModel: Claude models through the Messages API of the official `anthropic` SDK."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from steerwise.core.models import (
    ChatParams,
    Completion,
    Message,
    ModelConfig,
    StreamDelta,
    Usage,
)
from steerwise.models.failures import (
    connection_failure,
    import_sdk,
    sdk_failures,
    timeout_failure,
)
from steerwise.models.interface import ChatModel, StreamEvent
from steerwise.models.structured import json_instruction

SYSTEM_ROLES = frozenset({"system", "developer"})
DEFAULT_MAX_TOKENS = 1024
FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}


def import_anthropic() -> Any:
    """The `anthropic` SDK, or an error naming the extra to install."""
    return import_sdk("anthropic", extra="anthropic", needed_by="the Anthropic provider")


def anthropic_request(messages: Sequence[Message], params: ChatParams) -> dict[str, Any]:
    """`messages.create` keyword arguments: system text apart, max_tokens always set."""
    system = [m["content"] for m in messages if m.get("role") in SYSTEM_ROLES]
    if params.response_format is not None:
        system.append(json_instruction(params.response_format))
    max_tokens = DEFAULT_MAX_TOKENS if params.max_tokens is None else params.max_tokens
    kwargs: dict[str, Any] = {
        "messages": [dict(m) for m in messages if m.get("role") not in SYSTEM_ROLES],
        "max_tokens": max_tokens,
    }
    if system:
        kwargs["system"] = "\n\n".join(system)
    # anthropic 2.x dropped `temperature` and `top_p` from `messages.create`; send them raw.
    sampling = {
        name: getattr(params, name)
        for name in ("temperature", "top_p")
        if getattr(params, name) is not None
    }
    if sampling:
        kwargs["extra_body"] = sampling
    if params.stop:
        kwargs["stop_sequences"] = list(params.stop)
    return kwargs


def finish_reason(stop_reason: str | None) -> str:
    """Our finish reason for Anthropic's `stop_reason`: stop, length, or the reason itself."""
    if stop_reason is None:
        return "stop"
    return FINISH_REASONS.get(stop_reason, stop_reason)


class AnthropicChatModel:
    """Messages API calls through the official `anthropic` SDK; the SDK's own retries are off.

    Anthropic has no JSON-schema mode here, so `response_format` becomes a system instruction
    and the structured-output layer validates and re-asks.
    """

    supports_json_schema = False

    def __init__(
        self,
        model_id: str,
        model: str,
        *,
        base_url: str | None,
        api_key: str,
        timeout_s: float,
    ) -> None:
        self._anthropic = import_anthropic()
        self._id = model_id
        self._model = model
        self._timeout_s = timeout_s
        self._client = self._anthropic.Anthropic(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0
        )

    @property
    def model_id(self) -> str:
        return self._id

    def _create(self, messages: Sequence[Message], params: ChatParams, **extra: Any) -> Any:
        timeout = params.timeout_s or self._timeout_s
        anthropic = self._anthropic
        with sdk_failures(anthropic, self._id, timeout, _detail):
            return self._client.with_options(timeout=timeout).messages.create(
                model=self._model, **anthropic_request(messages, params), **extra
            )

    def complete(self, messages: Sequence[Message], params: ChatParams) -> Completion:
        response = self._create(messages, params)
        text = "".join(block.text for block in response.content if block.type == "text")
        usage = response.usage
        return Completion(
            text=text,
            finish_reason=finish_reason(response.stop_reason),
            usage=Usage(usage.input_tokens, usage.output_tokens) if usage else Usage(),
            model=self._id,
        )

    def stream(self, messages: Sequence[Message], params: ChatParams) -> Iterator[StreamEvent]:
        import httpx2  # the SDK does not wrap HTTP errors raised while a stream is read

        events = self._create(messages, params, stream=True)
        pieces: list[str] = []
        finish, usage = "stop", Usage()
        try:
            for event in events:
                if event.type == "message_start":
                    usage = Usage(event.message.usage.input_tokens, usage.output_tokens)
                elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                    pieces.append(event.delta.text)
                    yield StreamDelta(event.delta.text)
                elif event.type == "message_delta":
                    finish = finish_reason(event.delta.stop_reason)
                    input_tokens = event.usage.input_tokens  # cumulative when present
                    usage = Usage(input_tokens or usage.input_tokens, event.usage.output_tokens)
        except (httpx2.TimeoutException, self._anthropic.APITimeoutError):
            raise timeout_failure(self._id, params.timeout_s or self._timeout_s) from None
        except (httpx2.HTTPError, self._anthropic.APIError) as error:
            raise connection_failure(self._id, f"the stream broke: {_detail(error)}") from None
        yield Completion("".join(pieces), finish, usage, self._id)


def _detail(error: Exception) -> str:
    # `api_message` is the body's error.message; the SDK's own message repeats the whole body.
    return str(getattr(error, "api_message", None) or error)


def build(model_id: str, config: ModelConfig, root: Path) -> ChatModel:
    """The provider factory: `provider = "anthropic"` in `[models.NAME]`."""
    from steerwise.models.providers import api_key

    return AnthropicChatModel(
        model_id,
        config.model,
        base_url=config.base_url,
        api_key=api_key(model_id, config),
        timeout_s=config.timeout_s,
    )
