"""AnthropicChatModel through the real `anthropic` SDK against a local Messages API server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from steerwise.core.models import (
    ChatParams,
    Completion,
    ModelCallError,
    ModelConfig,
    ModelInputError,
    StreamDelta,
    Usage,
)
from steerwise.models.anthropic_provider import AnthropicChatModel, build
from steerwise.models.interface import ChatModel
from tests.models.fake_anthropic import Failure, FakeAnthropic, Reply

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello."},
]


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


def claude(fake: FakeAnthropic, *, timeout_s: float = 5.0) -> AnthropicChatModel:
    return AnthropicChatModel(
        "anthropic:claude-test",
        "claude-test",
        base_url=fake.base_url,
        api_key="sk-ant-test",
        timeout_s=timeout_s,
    )


def call_error(model: AnthropicChatModel, params: ChatParams | None = None) -> ModelCallError:
    with pytest.raises(ModelCallError) as caught:
        model.complete(MESSAGES, params or ChatParams())
    return caught.value


def test_is_a_chat_model(fake: FakeAnthropic) -> None:
    model = claude(fake)
    assert isinstance(model, ChatModel)
    assert model.model_id == "anthropic:claude-test"
    assert model.supports_json_schema is False


def test_complete_returns_text_usage_and_finish(fake: FakeAnthropic) -> None:
    completion = claude(fake).complete(MESSAGES, ChatParams())
    assert completion == Completion(
        "Hello from the fake model.", "stop", Usage(12, 6), "anthropic:claude-test"
    )


def test_request_carries_system_max_tokens_stop_sampling_and_key(fake: FakeAnthropic) -> None:
    params = ChatParams(temperature=0.2, top_p=0.9, stop=("END", "STOP"), seed=7)
    claude(fake).complete(
        [*MESSAGES[:1], {"role": "developer", "content": "No emoji."}, *MESSAGES[1:]], params
    )
    [request] = fake.requests
    assert request.body["system"] == "You are terse.\n\nNo emoji."
    assert request.body["messages"] == [{"role": "user", "content": "Say hello."}]
    assert request.body["model"] == "claude-test"
    assert request.body["max_tokens"] == 1024
    assert request.body["stop_sequences"] == ["END", "STOP"]
    assert request.body["temperature"] == 0.2
    assert request.body["top_p"] == 0.9
    assert "seed" not in request.body
    # anthropic 2.x sends the API key as a bearer token, not as `x-api-key`
    assert request.headers["authorization"] == "Bearer sk-ant-test"
    assert request.headers["content-type"] == "application/json"


def test_max_tokens_is_passed_when_set_and_no_system_when_none(fake: FakeAnthropic) -> None:
    claude(fake).complete(MESSAGES[1:], ChatParams(max_tokens=50))
    [request] = fake.requests
    assert request.body["max_tokens"] == 50
    assert "system" not in request.body
    assert "stop_sequences" not in request.body


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("refusal", "refusal"),
    ],
)
def test_finish_reasons_are_mapped(fake: FakeAnthropic, stop_reason: str, finish: str) -> None:
    fake.reply = Reply(stop_reason=stop_reason)
    assert claude(fake).complete(MESSAGES, ChatParams()).finish_reason == finish


def test_stream_yields_deltas_then_the_completion(fake: FakeAnthropic) -> None:
    fake.reply = Reply("One two three four.", "max_tokens", 9, 4)
    events = list(claude(fake).stream(MESSAGES, ChatParams(stop=("END",))))
    *deltas, final = events
    assert all(isinstance(delta, StreamDelta) for delta in deltas)
    assert len(deltas) == 4
    assert isinstance(final, Completion)
    assert "".join(d.text for d in deltas if isinstance(d, StreamDelta)) == final.text
    assert final == Completion("One two three four.", "length", Usage(9, 4), final.model)
    [request] = fake.requests
    assert request.body["stream"] is True
    assert request.body["system"] == "You are terse."


def test_response_format_adds_the_json_instruction(fake: FakeAnthropic) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    claude(fake).complete(MESSAGES, ChatParams(response_format=schema))
    system = fake.requests[0].body["system"]
    assert system.startswith("You are terse.\n\n")
    assert "only JSON" in system
    assert system.endswith(json.dumps(schema, separators=(",", ":")))


def test_rate_limit_is_retryable_with_retry_after(fake: FakeAnthropic) -> None:
    fake.fail(Failure(status=429, retry_after="7"))
    error = call_error(claude(fake))
    assert error.retryable
    assert error.status == 429
    assert error.retry_after_s == 7.0
    assert "simulated HTTP 429" in str(error)
    assert len(fake.requests) == 1  # the SDK's own retries are off


def test_overloaded_is_retryable(fake: FakeAnthropic) -> None:
    fake.fail(Failure(status=529))
    error = call_error(claude(fake))
    assert error.retryable
    assert error.status == 529


def test_bad_request_is_not_retryable(fake: FakeAnthropic) -> None:
    fake.fail(Failure(status=400))
    error = call_error(claude(fake))
    assert not error.retryable
    assert error.status == 400


def test_unauthorized_is_not_retryable_and_hints_at_the_key(fake: FakeAnthropic) -> None:
    fake.fail(Failure(status=401))
    error = call_error(claude(fake))
    assert not error.retryable
    assert error.status == 401
    assert error.hint is not None
    assert "API key" in error.hint


def test_a_status_error_when_a_stream_starts_is_a_call_error(fake: FakeAnthropic) -> None:
    fake.fail(Failure(status=429, retry_after="3"))
    with pytest.raises(ModelCallError) as caught:
        list(claude(fake).stream(MESSAGES, ChatParams()))
    assert caught.value.retryable
    assert caught.value.retry_after_s == 3.0


def test_a_slow_server_times_out_retryably(fake: FakeAnthropic) -> None:
    fake.fail(Failure(sleep_s=3.0))
    started = time.monotonic()
    error = call_error(claude(fake, timeout_s=0.5))
    assert time.monotonic() - started < 2.0
    assert error.retryable
    assert "timed out after 0.5 s" in str(error)


def test_the_per_call_timeout_wins(fake: FakeAnthropic) -> None:
    fake.fail(Failure(sleep_s=3.0))
    started = time.monotonic()
    error = call_error(claude(fake, timeout_s=30.0), ChatParams(timeout_s=0.5))
    assert time.monotonic() - started < 2.0
    assert "timed out after 0.5 s" in str(error)


def test_a_dropped_connection_is_retryable(fake: FakeAnthropic) -> None:
    fake.fail(Failure(drop=True))
    error = call_error(claude(fake))
    assert error.retryable
    assert "connection failed" in str(error)


def test_a_stream_broken_midway_is_a_retryable_call_error(fake: FakeAnthropic) -> None:
    fake.fail(Failure(break_stream=True))
    received: list[object] = []
    with pytest.raises(ModelCallError) as caught:
        received.extend(claude(fake).stream(MESSAGES, ChatParams()))
    assert caught.value.retryable
    assert "the stream broke" in str(caught.value)


def test_build_makes_the_model_from_config(
    fake: FakeAnthropic, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STEERWISE_TEST_ANTHROPIC_KEY", "sk-ant-from-env")
    config = ModelConfig(
        provider="anthropic",
        model="claude-test",
        base_url=fake.base_url,
        api_key_env="STEERWISE_TEST_ANTHROPIC_KEY",
    )
    model = build("anthropic:claude-test", config, tmp_path)
    assert model.complete(MESSAGES, ChatParams()).text == "Hello from the fake model."
    assert fake.requests[0].headers["authorization"] == "Bearer sk-ant-from-env"


def test_build_without_the_key_variable_names_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("STEERWISE_TEST_ANTHROPIC_KEY", raising=False)
    config = ModelConfig(
        provider="anthropic", model="claude-test", api_key_env="STEERWISE_TEST_ANTHROPIC_KEY"
    )
    with pytest.raises(ModelInputError, match="STEERWISE_TEST_ANTHROPIC_KEY"):
        build("anthropic:claude-test", config, tmp_path)
