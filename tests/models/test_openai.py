"""The OpenAI-compatible provider against a real server: llama-cpp-python's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from steerwise.core.models import ChatParams, ModelConfig, ModelInputError
from steerwise.models import ModelRegistry

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
GREEDY = ChatParams(temperature=0, max_tokens=20)
SCHEMA = {"type": "object", "properties": {"days": {"type": "integer"}}, "required": ["days"]}


@pytest.fixture(scope="module")
def models(llama_base_url: str, tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    server = ModelConfig(
        provider="openai",
        model="smollm2",
        base_url=llama_base_url,
        max_retries=0,
        structured_output="json_object",
        price_input_per_million=0.5,
        price_output_per_million=1.5,
    )
    return ModelRegistry({"server": server}, root=tmp_path_factory.mktemp("root"))


def test_plain_call_through_the_openai_sdk(models: ModelRegistry) -> None:
    result = models.chat("server", QUESTION, GREEDY)
    local = models.chat("local:smollm2-135m", QUESTION, GREEDY)
    assert result.text.strip()
    assert result.usage.input_tokens == local.usage.input_tokens  # same weights, same template
    assert result.usage.output_tokens == 20
    assert result.finish_reason == "length"
    assert result.cost_usd == pytest.approx((result.usage.input_tokens * 0.5 + 20 * 1.5) / 1e6)


def test_streaming_call(models: ModelRegistry) -> None:
    whole = models.chat("server", QUESTION, GREEDY)
    *deltas, final = list(models.stream("server", QUESTION, GREEDY))
    assert len(deltas) > 3
    assert "".join(d.text for d in deltas) == final.text == whole.text  # type: ignore[union-attr]


def test_json_schema_call(models: ModelRegistry) -> None:
    messages = [{"role": "user", "content": "How many days do I have to return a helmet?"}]
    params = ChatParams(temperature=0, max_tokens=40, response_format=SCHEMA)
    result = models.chat("server", messages, params)
    assert isinstance(result.parsed, dict)
    assert isinstance(result.parsed["days"], int)


def test_missing_api_key_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ModelInputError, match="the API key variable OPENAI_API_KEY is not set"):
        ModelRegistry({}, root=tmp_path).resolve("openai:gpt-4o-mini")
