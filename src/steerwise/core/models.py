"""Model domain types: chat requests and results, attempts, usage, model settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from steerwise.core.errors import BadInputError, SteerwiseError

Message = dict[str, str]
BUNDLED_LOCAL = "smollm2-135m"
DEFAULT_MODEL = f"local:{BUNDLED_LOCAL}"
Provider = Literal["local", "transformers", "openai", "anthropic"]


@dataclass(frozen=True)
class ChatParams:
    """Generation settings; None means the model's default."""

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    response_format: dict[str, Any] | None = None
    timeout_s: float | None = None

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> ChatParams:
        """Build from a prompt's or a config's `params` table; unknown keys are errors."""
        known = {"temperature", "max_tokens", "top_p", "stop", "seed", "timeout_s"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise BadInputError(
                f"unknown model parameter(s) {', '.join(unknown)}",
                hint=f"known parameters: {', '.join(sorted(known))}",
            )
        stop = values.get("stop") or ()
        return cls(**{**values, "stop": (stop,) if isinstance(stop, str) else tuple(stop)})

    def merged(self, override: ChatParams) -> ChatParams:
        """These params with every field `override` sets replacing ours."""
        changes = {
            name: getattr(override, name)
            for name in self.__dataclass_fields__
            if getattr(override, name) not in (None, ())
        }
        return ChatParams(**{**self.__dict__, **changes})


@dataclass(frozen=True)
class Usage:
    """Tokens in and out of one call."""

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens
        )


@dataclass(frozen=True)
class Completion:
    """What one provider call returned."""

    text: str
    finish_reason: str
    usage: Usage
    model: str
    reconnects: tuple[str, ...] = ()
    """Why the request was sent again on a new connection, each time a kept-alive one turned
    out closed (the resilience layer records each as an attempt)."""


@dataclass(frozen=True)
class Attempt:
    """One try at one model: what happened and how long it took (a span of the trace)."""

    model: str
    number: int
    outcome: Literal["ok", "retry", "failed", "invalid_output"]
    latency_s: float
    error: str | None = None
    status: int | None = None
    waited_s: float = 0.0


@dataclass(frozen=True)
class ChatResult:
    """The answer of a call through retries, fallback and output validation."""

    text: str
    finish_reason: str
    usage: Usage
    latency_s: float
    cost_usd: float
    model: str
    attempts: list[Attempt] = field(default_factory=list)
    parsed: Any = None


@dataclass(frozen=True)
class StreamDelta:
    """A piece of streamed text."""

    text: str


class ModelConfig(BaseModel):
    """A named model in `steerwise.toml` (`[models.NAME]`)."""

    model_config = ConfigDict(extra="forbid")

    provider: Provider
    model: str = ""
    path: str | None = None
    adapter: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    price_input_per_million: float = Field(default=0.0, ge=0)
    price_output_per_million: float = Field(default=0.0, ge=0)
    timeout_s: float = Field(default=60.0, gt=0, le=3600)
    max_retries: int = Field(default=2, ge=0, le=10)
    retry_base_delay_s: float = Field(default=0.5, ge=0, le=60)
    max_output_retries: int = Field(default=2, ge=0, le=10)
    context_window: int | None = Field(default=None, gt=0)
    threads: int | None = Field(default=None, gt=0, le=512)
    structured_output: Literal["json_schema", "json_object", "prompt"] = "json_schema"
    fallback: list[str] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)


class ModelError(SteerwiseError):
    """A model call failed after its retries and fallbacks; the message names the model."""

    exit_code = 3


class ModelCallError(ModelError):
    """One provider call failed; `retryable` says whether trying again may help."""

    def __init__(
        self,
        model: str,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after_s: float | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(f"model {model}: {message}", hint=hint)
        self.model = model
        self.retryable = retryable
        self.status = status
        self.retry_after_s = retry_after_s
        self.reconnects: tuple[str, ...] = ()
        """As `Completion.reconnects`: the call was sent again before it failed."""


class ModelTimeoutError(ModelError):
    """Every model failed and the last one ran out of time; raise its `timeout_s` or check
    the server's load."""


class ModelInputError(BadInputError):
    """The request cannot succeed as given (unknown model, missing key, prompt too long)."""


class StructuredOutputError(ModelError):
    """The model's answer did not match the required JSON Schema, even after re-asking."""
