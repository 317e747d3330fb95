"""ModelRegistry: resolves model references and calls them with retries, fallback,
structured-output validation, usage, cost and latency."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator

from steerwise.core.errors import BadInputError
from steerwise.core.models import (
    DEFAULT_MODEL,
    Attempt,
    ChatParams,
    ChatResult,
    Completion,
    Message,
    ModelConfig,
    StreamDelta,
    StructuredOutputError,
    Usage,
)
from steerwise.models.interface import ChatModel, Embedder, StreamEvent
from steerwise.models.providers import build_chat_model
from steerwise.models.refs import model_id, resolve_config

if TYPE_CHECKING:
    from steerwise.models.versions import ModelVersions
from steerwise.models.resilience import (
    AttemptLog,
    ChainLink,
    RetryPolicy,
    complete_with_fallback,
    stream_with_fallback,
)
from steerwise.models.structured import check_answer, reask


@dataclass(frozen=True)
class ModelStatus:
    """One line of `models list`."""

    name: str
    provider: str
    model: str
    available: bool
    detail: str


@dataclass(frozen=True)
class ResolvedModel:
    """A reference resolved to its config and its (lazily built) chat model."""

    id: str
    config: ModelConfig
    model: ChatModel

    def cost_usd(self, usage: Usage) -> float:
        """What `usage` costs at this model's configured prices."""
        config = self.config
        return (
            usage.input_tokens * config.price_input_per_million
            + usage.output_tokens * config.price_output_per_million
        ) / 1_000_000


class ModelRegistry:
    """The models a workspace can call: built-in references and `[models.NAME]` entries."""

    def __init__(
        self,
        named: Mapping[str, ModelConfig],
        *,
        root: Path,
        default_model: str = DEFAULT_MODEL,
        versions: ModelVersions | None = None,
    ) -> None:
        self._named = dict(named)
        self._versions = versions
        self._root = root
        self.default_model = default_model
        self._resolved: dict[str, ResolvedModel] = {}
        self._building = threading.Lock()
        self._embedders: dict[str, Embedder] = {}

    def check_reference(self, ref: str) -> str:
        """`ref` if it names a model this workspace knows (nothing is built or called); a
        registered model's label is resolved to its version, which a release keeps."""
        pinned = self._pin(ref.strip())
        self._config(pinned)
        return pinned

    def config(self, ref: str) -> ModelConfig:
        """The settings a reference stands for (configured, built-in or registered)."""
        return self._config(self._pin(ref.strip()))

    def _pin(self, ref: str) -> str:
        """`NAME@VERSION` for a registered model (`NAME`, `NAME@LABEL`); any other `ref`."""
        if self._versions is None or ":" in ref or ref in self._named:
            return ref
        try:
            return self._versions.pin(ref)
        except BadInputError:
            return ref

    def _config(self, ref: str) -> ModelConfig:
        if self._versions is not None and "@" in ref and ":" not in ref:
            return self._versions.config(ref)
        return resolve_config(ref, self._named)

    def resolve(self, ref: str) -> ResolvedModel:
        """The model a reference names, built once and kept (threads asking for it at once
        wait for the one build)."""
        found = self._resolved.get(ref)
        if found is not None:
            return found
        pinned = self._pin(ref)
        if pinned != ref:
            return self.resolve(pinned)
        with self._building:
            found = self._resolved.get(ref)
            if found is None:
                config = self._config(ref)
                identity = model_id(ref, config)
                model = build_chat_model(identity, config, self._root)
                found = ResolvedModel(identity, config, model)
                self._resolved[ref] = found
        return found

    def _chain(self, ref: str) -> list[tuple[ResolvedModel, ChainLink]]:
        chain = []
        for each in [ref, *self.config(ref).fallback]:
            resolved = self.resolve(each)
            config = resolved.config
            policy = RetryPolicy(config.max_retries, base_delay_s=config.retry_base_delay_s)
            chain.append((resolved, ChainLink(resolved.model, policy)))
        return chain

    def chat(
        self,
        ref: str,
        messages: Sequence[Message],
        params: ChatParams | None = None,
        *,
        on_text: Callable[[str], None] | None = None,
    ) -> ChatResult:
        """Call a model (and its fallbacks); validate structured output, re-asking if needed.

        With `on_text`, the answer is streamed from the model and each piece of text is
        shown to `on_text` as it arrives (work that depends on the answer can start before
        it is whole; the pieces of an answer asked for again follow those of the one
        before); the result is the same as without it.
        """
        started = time.monotonic()
        chain = self._chain(ref)
        params = self._params(chain[0][0], params)
        log = AttemptLog()
        validator = _validator(params)
        conversation = list(messages)
        usage, cost = Usage(), 0.0
        links = [link for _, link in chain]
        for round_number in range(chain[0][0].config.max_output_retries + 1):
            if on_text is None:
                completion = complete_with_fallback(links, conversation, params, log)
            else:
                events = stream_with_fallback(links, conversation, params, log)
                completion = _watched(events, on_text)
            answered = _answered_by(chain, completion)
            usage, cost = usage + completion.usage, cost + answered.cost_usd(completion.usage)
            parsed, problem = _judge(completion, validator)
            if problem is None:
                return _result(
                    completion, usage, cost, started, attempts=log.attempts, parsed=parsed
                )
            log.add(Attempt(completion.model, round_number + 1, "invalid_output", 0.0, problem))
            conversation = reask(conversation, completion.text, problem)
        raise StructuredOutputError(
            f"model {chain[0][0].id}: the answer did not match the response_format schema"
            f" after {chain[0][0].config.max_output_retries + 1} tries: {problem}",
            hint="simplify the schema, or raise max_output_retries for this model",
        )

    def stream(
        self, ref: str, messages: Sequence[Message], params: ChatParams | None = None
    ) -> Iterator[StreamDelta | ChatResult]:
        """Stream deltas, then one ChatResult (validated against the schema if one is set)."""
        started = time.monotonic()
        chain = self._chain(ref)
        params = self._params(chain[0][0], params)
        log = AttemptLog()
        for event in stream_with_fallback([link for _, link in chain], messages, params, log):
            if isinstance(event, Completion):
                answered = _answered_by(chain, event)
                parsed, problem = _judge(event, _validator(params))
                if problem is not None:
                    raise StructuredOutputError(f"model {event.model}: {problem}")
                cost = answered.cost_usd(event.usage)
                yield _result(
                    event, event.usage, cost, started, attempts=log.attempts, parsed=parsed
                )
            else:
                yield event

    def embedder(self, ref: str = "default") -> Embedder:
        """An embedder (default: all-MiniLM-L6-v2, shipped in a wheel), built once and kept."""
        found = self._embedders.get(ref)
        if found is None:
            from steerwise.models.embeddings import build_embedder

            found = build_embedder(ref, root=self._root, named=self._named)
            self._embedders[ref] = found
        return found

    def statuses(self) -> list[ModelStatus]:
        """Every configured model and the default, and whether each can be built here."""
        names = [self.default_model, *sorted(self._named)]
        return [self._status(name) for name in dict.fromkeys(names)]

    def _status(self, name: str) -> ModelStatus:
        config = self._config(name)
        try:
            self.resolve(name)
        except Exception as error:  # reported, not raised: this is a listing
            return ModelStatus(name, config.provider, config.model, False, str(error))
        return ModelStatus(name, config.provider, config.model, True, "ready")

    @staticmethod
    def _params(first: ResolvedModel, params: ChatParams | None) -> ChatParams:
        configured = ChatParams.from_mapping(first.config.params)
        return configured.merged(params) if params else configured


def _watched(events: Iterator[StreamEvent], on_text: Callable[[str], None]) -> Completion:
    """The completion a stream ends with, each delta shown to `on_text` on the way."""
    for event in events:
        if isinstance(event, Completion):
            return event
        on_text(event.text)
    raise RuntimeError("a model stream ended without its completion")


def _answered_by(
    chain: list[tuple[ResolvedModel, ChainLink]], completion: Completion
) -> ResolvedModel:
    return next(resolved for resolved, _ in chain if resolved.id == completion.model)


def _validator(params: ChatParams) -> Draft202012Validator | None:
    schema = params.response_format
    return Draft202012Validator(schema) if schema is not None else None


def _judge(
    completion: Completion, validator: Draft202012Validator | None
) -> tuple[Any, str | None]:
    if validator is None:
        return None, None
    verdict = check_answer(completion.text, validator)
    return verdict.parsed, verdict.problem


def _result(
    completion: Completion,
    usage: Usage,
    cost: float,
    started: float,
    *,
    attempts: list[Attempt],
    parsed: Any,
) -> ChatResult:
    return ChatResult(
        text=completion.text,
        finish_reason=completion.finish_reason,
        usage=usage,
        latency_s=time.monotonic() - started,
        cost_usd=cost,
        model=completion.model,
        attempts=list(attempts),
        parsed=parsed,
    )
